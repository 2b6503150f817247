// Capture and storage of the click ID: URL parsing, validation, cookie attributes, last click, the UET
// fallback, the shared domain, and what happens when cookies are unavailable.
import { describe, expect, it } from 'vitest';
import {
  CLICK_A,
  CLICK_B,
  CLICK_TIME,
  cookiesOf,
  openPage,
  useBrowserAndServer,
  valuesOf,
} from './harness.ts';

const env = useBrowserAndServer();

const DAY = 86_400;

describe('reading msclkid from the landing URL', () => {
  const found: Array<[string, string, string]> = [
    ['the query string', `?msclkid=${CLICK_A}`, CLICK_A],
    [
      'the query string among other parameters',
      `?utm_source=bing&msclkid=${CLICK_A}&utm_medium=cpc#top`,
      CLICK_A,
    ],
    ['the fragment', `#msclkid=${CLICK_A}`, CLICK_A],
    ["a hash router's fragment", `#/offers?ref=x&msclkid=${CLICK_A}`, CLICK_A],
    ['an upper-case name and value', `?MSCLKID=${CLICK_A.toUpperCase()}`, CLICK_A.toUpperCase()],
  ];
  it(`takes it from ${found.map(([where]) => where).join(', ')}`, async () => {
    const { page, context, errors, requests } = await openPage(env.browser);
    for (const [where, suffix, expected] of found) {
      await context.clearCookies();
      await page.goto('about:blank'); // a new document each time, not a same-page fragment change
      requests.length = 0;
      await page.goto(`${env.server.www}/landing.html${suffix}`);
      expect(await page.evaluate(() => window.closeloop.clickId()), where).toBe(expected);
      expect((await cookiesOf(context, env.server.www)).msclkid?.value, where).toBe(expected);
      expect(await valuesOf(page, '#contact [name=msclkid]'), where).toEqual([expected]);
      // Without data-endpoint the snippet makes no request of its own: only the page and the script.
      expect(requests, where).toEqual([
        `GET ${env.server.www}/landing.html${suffix.split('#')[0]}`,
        `GET ${env.server.www}/snippet.js`,
      ]);
    }
    expect(errors).toEqual([]);
    await context.close();
  });

  const ignored: Array<[string, string]> = [
    ['31 characters', CLICK_A.slice(1)],
    ['33 characters', `${CLICK_A}0`],
    ['a non-hex character', `${CLICK_A.slice(0, 31)}g`],
    ['markup', encodeURIComponent(`"><script>alert(1)</script>`)],
    ['cookie attributes', `${CLICK_A}%3B%20domain%3Dexample.com`],
    ['a GUID with hyphens', 'a1b2c3d4-e5f6-0718-293a-4b5c6d7e8f90'],
    ['the UET cookie value', `_uet${CLICK_A}`],
    ['nothing', ''],
  ];
  it(`ignores a value with ${ignored.map(([what]) => what).join(', ')}`, async () => {
    const { page, context, errors } = await openPage(env.browser);
    for (const [what, value] of ignored) {
      await page.goto(`${env.server.www}/landing.html?msclkid=${value}`);
      expect(await page.evaluate(() => window.closeloop.clickId()), what).toBeUndefined();
      expect(await context.cookies(), what).toEqual([]);
      expect(await valuesOf(page, '#contact [name=msclkid], #quote [name=msclkid]'), what).toEqual(['', '']);
    }
    expect(errors).toEqual([]);
    await context.close();
  });

  it('ignores a parameter whose name only ends in msclkid', async () => {
    const { page, context } = await openPage(env.browser);
    await page.goto(`${env.server.www}/landing.html?xmsclkid=${CLICK_A}&msclkid_other=${CLICK_B}`);
    expect(await page.evaluate(() => window.closeloop.clickId())).toBeUndefined();
    await context.close();
  });

  it('takes the first valid value when the parameter repeats', async () => {
    const { page, context } = await openPage(env.browser);
    await page.goto(`${env.server.www}/landing.html?msclkid=bogus&msclkid=${CLICK_A}#msclkid=${CLICK_B}`);
    expect(await page.evaluate(() => window.closeloop.clickId())).toBe(CLICK_A);
    await context.close();
  });
});

describe('the cookie', () => {
  it('lives 90 days on path / with SameSite=Lax, readable by scripts, not Secure on http', async () => {
    const { page, context } = await openPage(env.browser);
    const before = Date.now() / 1000;
    await page.goto(`${env.server.www}/landing.html?msclkid=${CLICK_A}`);
    const { msclkid, msclkid_time } = await cookiesOf(context, env.server.www);
    expect(msclkid).toMatchObject({
      value: CLICK_A,
      domain: 'www.example.com',
      path: '/',
      sameSite: 'Lax',
      httpOnly: false,
      secure: false,
    });
    expect(msclkid!.expires).toBeGreaterThanOrEqual(Math.floor(before + 90 * DAY) - 1);
    expect(msclkid!.expires).toBeLessThanOrEqual(Date.now() / 1000 + 90 * DAY + 1);
    // The capture time sits next to it, with the same attributes, and goes into msclkid_time fields.
    expect(msclkid_time?.value).toMatch(CLICK_TIME);
    expect(Math.abs(Date.parse(msclkid_time!.value) / 1000 - before)).toBeLessThan(30);
    expect(msclkid_time?.expires).toBeCloseTo(msclkid!.expires, -1);
    expect(await valuesOf(page, '#contact [name=msclkid_time]')).toEqual([msclkid_time!.value]);
    expect(await page.evaluate(() => window.closeloop.clickTime())).toBe(msclkid_time!.value);
    await context.close();
  });

  it('is Secure on https', async () => {
    const { page, context } = await openPage(env.browser, { ignoreHTTPSErrors: true });
    await page.goto(`${env.server.secureWww}/landing.html?msclkid=${CLICK_A}`);
    const { msclkid, msclkid_time } = await cookiesOf(context, env.server.secureWww);
    expect(msclkid).toMatchObject({ value: CLICK_A, secure: true, sameSite: 'Lax', path: '/' });
    expect(msclkid_time?.secure).toBe(true);
    await context.close();
  });

  it('lives as many days as data-cookie-days says', async () => {
    const { page, context } = await openPage(env.browser);
    await page.goto(`${env.server.www}/custom.html?msclkid=${CLICK_A}`);
    await page.waitForFunction(() => window.closeloop);
    const { msclkid } = await cookiesOf(context, env.server.www);
    expect(msclkid!.expires - Date.now() / 1000).toBeGreaterThan(30 * DAY - 10);
    expect(msclkid!.expires - Date.now() / 1000).toBeLessThanOrEqual(30 * DAY + 1);
    await context.close();
  });

  it('is replaced by a newer click (last click wins); the same click again keeps its time', async () => {
    const { page, context } = await openPage(env.browser);
    const first = '2026-01-02T03:04:05Z';
    await context.addCookies([
      { name: 'msclkid', value: CLICK_A, url: env.server.www },
      { name: 'msclkid_time', value: first, url: env.server.www },
    ]);
    // The landing URL again (a reload, the back button): the same click, not a new one.
    await page.goto(`${env.server.www}/landing.html?msclkid=${CLICK_A}`);
    expect((await cookiesOf(context, env.server.www)).msclkid_time!.value).toBe(first);

    await page.goto(`${env.server.www}/landing.html?msclkid=${CLICK_B}`);
    const { msclkid, msclkid_time } = await cookiesOf(context, env.server.www);
    expect(msclkid!.value).toBe(CLICK_B);
    expect(msclkid_time!.value > first).toBe(true);

    // A later page without a click ID keeps the last one and fills forms with it.
    await page.goto(`${env.server.www}/landing.html`);
    expect(await valuesOf(page, '#contact [name=msclkid]')).toEqual([CLICK_B]);
    expect(await valuesOf(page, '#contact [name=msclkid_time]')).toEqual([msclkid_time!.value]);
    await context.close();
  });

  it('ignores a tampered cookie', async () => {
    const { page, context } = await openPage(env.browser);
    await context.addCookies([
      { name: 'msclkid', value: '<img src=x onerror=alert(1)>', url: env.server.www },
      { name: 'msclkid_time', value: 'not-a-time', url: env.server.www },
    ]);
    await page.goto(`${env.server.www}/landing.html`);
    expect(await page.evaluate(() => window.closeloop.clickId())).toBeUndefined();
    expect(await valuesOf(page, '#contact [name=msclkid]')).toEqual(['']);

    await context.addCookies([{ name: 'msclkid', value: CLICK_A, url: env.server.www }]);
    await page.reload();
    expect(await valuesOf(page, '#contact input[type=hidden]')).toEqual([CLICK_A, '']);
    await context.close();
  });
});

describe('data-domain', () => {
  it('shares the click ID between www and shop subdomains', async () => {
    const { page, context } = await openPage(env.browser);
    await page.goto(`${env.server.www}/shared-domain.html?msclkid=${CLICK_A}`);
    const { msclkid } = await cookiesOf(context, env.server.www);
    expect(msclkid).toMatchObject({ value: CLICK_A, domain: '.example.com', path: '/', sameSite: 'Lax' });

    await page.goto(`${env.server.shop}/shared-domain.html`);
    expect(await page.evaluate(() => window.closeloop.clickId())).toBe(CLICK_A);
    expect(await valuesOf(page, 'input')).toEqual([CLICK_A, expect.stringMatching(CLICK_TIME)]);

    // A later click landing on shop replaces it for www too.
    await page.goto(`${env.server.shop}/shared-domain.html?msclkid=${CLICK_B}`);
    await page.goto(`${env.server.www}/shared-domain.html`);
    expect(await page.evaluate(() => window.closeloop.clickId())).toBe(CLICK_B);
    await context.close();
  });

  it('removes a host-only cookie left from before the domain was configured', async () => {
    const { page, context } = await openPage(env.browser);
    await page.goto(`${env.server.www}/landing.html?msclkid=${CLICK_A}`);
    await page.goto(`${env.server.www}/shared-domain.html?msclkid=${CLICK_B}`);
    const cookies = (await context.cookies(env.server.www)).filter((cookie) => cookie.name === 'msclkid');
    expect(cookies).toEqual([expect.objectContaining({ value: CLICK_B, domain: '.example.com' })]);
    await page.goto(`${env.server.www}/landing.html`);
    expect(await page.evaluate(() => window.closeloop.clickId())).toBe(CLICK_B);
    await context.close();
  });
});

describe("the UET tag's cookie", () => {
  it('supplies the click ID when the URL has none, without a click time', async () => {
    const { page, context } = await openPage(env.browser);
    await context.addCookies([{ name: '_uetmsclkid', value: `_uet${CLICK_A}`, url: env.server.www }]);
    await page.goto(`${env.server.www}/landing.html`);
    expect(await page.evaluate(() => window.closeloop.clickId())).toBe(CLICK_A);
    expect(await valuesOf(page, '#contact input[type=hidden]')).toEqual([CLICK_A, '']);
    const cookies = await cookiesOf(context, env.server.www);
    expect(cookies.msclkid?.value).toBe(CLICK_A);
    expect(cookies.msclkid_time).toBeUndefined();
    await context.close();
  });

  it('is newer than ours when it differs, and the URL beats both', async () => {
    const { page, context } = await openPage(env.browser);
    await page.goto(`${env.server.www}/landing.html?msclkid=${CLICK_A}`);
    // A later click landed on a page with UET only.
    await context.addCookies([{ name: '_uetmsclkid', value: `_uet${CLICK_B}`, url: env.server.www }]);
    await page.goto(`${env.server.www}/landing.html`);
    expect(await page.evaluate(() => window.closeloop.clickId())).toBe(CLICK_B);

    await page.goto(`${env.server.www}/landing.html?msclkid=${CLICK_A}`);
    expect(await page.evaluate(() => window.closeloop.clickId())).toBe(CLICK_A);
    await context.close();
  });

  it('is ignored when it does not hold a click ID', async () => {
    const { page, context } = await openPage(env.browser);
    await context.addCookies([{ name: '_uetmsclkid', value: '_uetnot-a-click-id', url: env.server.www }]);
    await page.goto(`${env.server.www}/landing.html`);
    expect(await page.evaluate(() => window.closeloop.clickId())).toBeUndefined();
    await context.close();
  });
});

describe('without cookies', () => {
  it('keeps the click ID in memory in a sandboxed frame, where document.cookie throws', async () => {
    const { page, context, errors } = await openPage(env.browser, {
      init: () => addEventListener('message', (event) => Object.assign(window, { report: event.data })),
    });
    // The frame's own URL carries CLICK_A, as when a page builder frames the landing page.
    await page.goto(`${env.server.www}/sandboxed.html`);
    const report = page
      .waitForFunction(() => (window as { report?: unknown }).report)
      .then((handle) => handle.jsonValue());
    expect(await report).toEqual({ cookieThrows: true, value: CLICK_A, api: CLICK_A });
    expect(errors).toEqual([]);
    await context.close();
  });

  it('keeps the click ID in memory when the browser drops every cookie', async () => {
    // What a browser with cookies blocked does: document.cookie reads "" and ignores writes.
    const { page, context, errors } = await openPage(env.browser, {
      init: () => {
        Object.defineProperty(Document.prototype, 'cookie', {
          get: () => '',
          set: () => {},
          configurable: true,
        });
      },
    });
    await page.goto(`${env.server.www}/landing.html?msclkid=${CLICK_A}`);
    expect(await context.cookies()).toEqual([]);
    expect(await valuesOf(page, '#contact [name=msclkid], #quote [name=msclkid]')).toEqual([
      CLICK_A,
      CLICK_A,
    ]);
    expect(errors).toEqual([]);
    await context.close();
  });
});
