// closeloop dashboard: small progressive enhancement only; every page works without it.
(() => {
  // A form being sent says so and cannot be sent twice (a large file takes a while to upload).
  for (const form of document.querySelectorAll('form[data-busy]')) {
    form.addEventListener('submit', () => {
      const button = form.querySelector('button[type=submit]');
      if (button) {
        button.disabled = true;
        button.textContent = form.getAttribute('data-busy');
      }
    });
  }
  // Pages whose rows are still moving (held, queued, being sent) reload themselves now and then.
  const refresh = document.querySelector('[data-refresh-seconds]');
  if (refresh) {
    const seconds = Number(refresh.getAttribute('data-refresh-seconds'));
    // Not while someone is on a control (typing, tabbing) or the tab is hidden: try again later.
    const tick = () => {
      const busy = document.hidden || (document.activeElement && document.activeElement !== document.body);
      if (busy) setTimeout(tick, seconds * 1000);
      else window.location.reload();
    };
    if (seconds >= 2) setTimeout(tick, seconds * 1000);
  }
})();
