import { CLICK_ID, URL_CLICK_ID } from './click-id.ts';
import type { CloseloopApi, Command } from './options.ts';

/**
 * Reads one setting by its data- attribute name (`cookie-days`, `domain`, `fields`, `selector`,
 * `time-field`, `add-field`, `consent`, `gpc`, `endpoint`): null or undefined when absent. The IIFE reads
 * the script tag, the ES module maps its options object, and the bundle spells each name once.
 */
export type Config = (name: string) => string | null | undefined;

/** Marks the running instance, whatever global name the page lets it use: a second embed reuses it. */
const INSTANCE = Symbol.for('closeloop');

interface UetQueue {
  push: (...args: unknown[]) => unknown;
  [INSTANCE]?: (...args: unknown[]) => unknown;
}

/** Wraps `fn` so that it swallows anything thrown: the snippet never breaks the page it is embedded in. */
const safe =
  <A extends unknown[]>(fn: (...args: A) => void) =>
  (...args: A) => {
    try {
      fn(...args);
    } catch {}
  };

/**
 * Starts the snippet, or finds the instance already running on the page (a second embed, or the script
 * tag beside the ES module). With `globalName`, puts the API on window under that name unless the page
 * uses the name for something else.
 */
export function start(config: Config, globalName?: string): CloseloopApi {
  const w = window as unknown as Record<PropertyKey, unknown>;
  const api = (w[INSTANCE] as CloseloopApi | undefined) || run(config, w);
  w[INSTANCE] = api;
  if (globalName) {
    // A command queue (`closeloop = closeloop || []; closeloop.push('grant')`) is replayed, then replaced;
    // a global the page uses for something else is left alone (`data-global` picks another name).
    const queue = w[globalName];
    if (!queue || Array.isArray(queue)) {
      w[globalName] = api;
      (queue as Command[] | undefined)?.forEach(api.push);
    }
  }
  return api;
}

/**
 * Takes the click ID from the URL, else UET's cookie, else ours; stores it when allowed; fills forms
 * now, whenever the DOM changes and on submit. One closure, because every byte counts (see build.ts).
 */
function run(config: Config, w: Record<PropertyKey, unknown>): CloseloopApi {
  // One alias for the dozen uses below: ~5 bytes of the gzipped budget.
  const doc = document;

  let days = +config('cookie-days')!;
  if (!(days > 0)) days = 90;
  const domain = config('domain');
  const names = config('fields')?.match(/[^\s,]+/g) || ['msclkid'];
  const selector = config('selector');
  const clickIdInputs =
    names.map((name) => `input[name="${name}"]`).join() + (selector ? `,${selector}` : '');
  const clickTimeInputs = `input[name="${config('time-field') || 'msclkid_time'}"]`;
  const addTo = config('add-field');
  const waitForConsent = config('consent') === 'wait';
  let blocked: unknown =
    config('gpc') != null && (navigator as { globalPrivacyControl?: boolean }).globalPrivacyControl;
  let consent: unknown = !waitForConsent && !blocked;
  let unsaved: unknown;

  /** document.cookie throws in sandboxed frames and is ignored when cookies are blocked: memory only. */
  const readCookie = (name: string) => {
    try {
      return doc.cookie.match(`(^|; )${name}=([^;]*)`)?.[2];
    } catch {}
  };
  let clickId = readCookie('msclkid');
  let clickTime: string | undefined;
  if (CLICK_ID.test(clickId!)) clickTime = readCookie('msclkid_time')?.match(/^[\dT:-]{19}Z$/)?.[0];
  else clickId = undefined;
  // UET's own cookie is `_uet` + the click ID; it is newer than ours when the landing page had UET only.
  const uet = readCookie('_uetmsclkid')?.slice(4);
  if (CLICK_ID.test(uet!) && uet !== clickId) {
    clickId = uet;
    clickTime = undefined;
    unsaved = 1;
  }

  /** Writes a first-party cookie (path=/, SameSite=Lax, Secure on https), or deletes it with maxAge 0. */
  const writeCookie = (name: string, value: string | undefined, maxAge: number) => {
    // A host-only cookie of the same name would shadow the shared one on this host: remove it first.
    // biome-ignore lint/suspicious/noDocumentCookie: the Cookie Store API is missing from older Safari and Firefox.
    if (domain) doc.cookie = `${name}=; max-age=0; path=/`;
    // A domain the page is not under is refused by the browser (see the README): memory only there.
    // biome-ignore lint/suspicious/noDocumentCookie: the Cookie Store API is missing from older Safari and Firefox.
    doc.cookie = `${name}=${value}; max-age=${maxAge}; path=/; SameSite=Lax${domain ? `; domain=${domain}` : ''}${
      location.protocol === 'https:' ? '; Secure' : ''
    }`;
  };
  /** Both cookies, or neither with maxAge 0; the time cookie only when the time is known. */
  const store = (maxAge: number) => {
    writeCookie('msclkid', clickId, maxAge);
    writeCookie('msclkid_time', clickTime, clickTime ? maxAge : 0);
  };

  const setInputs = (selector: string, value: string) => {
    // The prototype's setter, then input and change events: React and other frameworks that track an
    // input's value (HubSpot's and Marketo's embeds) see the change, as if the user had typed it.
    const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!;
    for (const input of doc.querySelectorAll<HTMLInputElement>(selector)) {
      if (/^(hidden|text)$/.test(input.type) && input.value !== value) {
        setValue.call(input, value);
        for (const type of ['input', 'change']) input.dispatchEvent(new Event(type, { bubbles: true }));
      }
    }
  };

  /** Captures a new click ID from the URL, stores what is unsaved when allowed, fills the forms. */
  const refresh = safe(() => {
    const fromUrl = URL_CLICK_ID.exec(location.href)?.[1];
    // Last click wins; a reload of the landing URL is the same click and keeps its time.
    if (fromUrl && fromUrl !== clickId) {
      clickId = fromUrl;
      clickTime = `${new Date().toISOString().slice(0, 19)}Z`;
      unsaved = 1;
    }
    // Storage may throw (a sandboxed frame, a page that replaced fetch): the forms are filled anyway.
    try {
      if (unsaved && consent && clickId) {
        unsaved = 0;
        store(days * 86400);
        const endpoint = config('endpoint');
        // mode same-origin: the request fails rather than hand the click ID to another origin.
        if (endpoint)
          fetch(endpoint, {
            method: 'POST',
            body: `msclkid=${clickId}&days=${days}&time=${clickTime || ''}&domain=${domain || ''}`,
            mode: 'same-origin',
            keepalive: true,
          }).catch(() => {});
      }
    } catch {}
    if (clickId && !blocked) {
      setInputs(clickIdInputs, clickId);
      if (clickTime) setInputs(clickTimeInputs, clickTime);
      // `data-add-field` without a value: every form. Last, so that a bad selector stops only this; the
      // inputs it adds are filled by the MutationObserver's call, before any submit.
      if (addTo != null) {
        const done = new Set<unknown>();
        for (const input of doc.querySelectorAll<HTMLInputElement>(clickIdInputs)) done.add(input.form);
        for (const form of doc.querySelectorAll(addTo || 'form')) {
          if (!done.has(form)) {
            const input = doc.createElement('input');
            input.type = 'hidden';
            input.name = names[0]!;
            form.appendChild(input);
          }
        }
      }
    }
  });

  const grant = () => {
    blocked = 0;
    consent = 1;
    refresh();
  };
  const api: CloseloopApi = {
    clickId: () => (blocked ? undefined : clickId),
    clickTime: () => (blocked ? undefined : clickTime),
    grant,
    revoke: safe(() => {
      consent = 0;
      unsaved = clickId;
      store(0);
    }),
    fill: refresh,
    push: safe((command: Command) => api[command]()),
  };
  refresh();
  try {
    // Single-page apps: pushState/replaceState change the URL without an event, but the new view changes
    // the DOM; so every DOM change re-reads the URL (one regex) and fills new forms, and so does every
    // submit, before the form's own handlers (a framework may have reset the value since). That covers
    // history navigations without patching history, which routers and analytics scripts patch too.
    new MutationObserver(refresh).observe(doc.documentElement, { childList: true, subtree: true });
    doc.addEventListener('submit', refresh, true);
    addEventListener('popstate', refresh);
  } catch {}
  // UET consent mode: the commands already queued (`uetq.push('consent', 'default' | 'update',
  // { ad_storage: 'granted' | 'denied' })`, flattened into the array), the ones pushed later, and the ones
  // pushed after bat.js replaced the array with its own object (caught by an accessor on window). Only an
  // explicit grant() lifts an honoured Global Privacy Control signal, not the UET tag.
  if (waitForConsent)
    safe(() => {
      let queue: UetQueue | undefined;
      // safe: the page's own push must go through whatever the commands hold.
      const scan = safe((items: ArrayLike<unknown>) => {
        for (let i = 0; i < items.length; i++) {
          const storage =
            items[i] === 'consent' && (items[i + 2] as { ad_storage?: unknown } | undefined)?.ad_storage;
          if (storage && !blocked) {
            if (storage === 'granted') grant();
            else consent = 0;
          }
        }
      });
      // safe: this is the setter bat.js assigns through; a frozen queue must not make that throw.
      const hook = safe((value: UetQueue | undefined) => {
        queue = value;
        // The original push, kept under our symbol, also marks the queue as hooked.
        if (value?.push && !value[INSTANCE]) {
          value[INSTANCE] = value.push;
          value.push = (...args) => {
            scan(args);
            return value[INSTANCE]!.apply(value, args);
          };
          scan(value as unknown as ArrayLike<unknown>);
        }
      });
      hook(w.uetq as UetQueue | undefined);
      Object.defineProperty(w, 'uetq', { configurable: true, get: () => queue, set: hook });
    })();
  return api;
}
