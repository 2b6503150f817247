// Same-origin mode end to end: the page and the closeloop service share an origin through a reverse-proxy
// path (/closeloop/), and the cookie comes from the service's Set-Cookie header.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLICK_A,
  CLICK_TIME,
  cookiesOf,
  type FixtureServer,
  launchChromium,
  openPage,
  startFixtureServer,
  valuesOf,
} from './harness.ts';

let browser: Browser;
let server: FixtureServer;
beforeAll(async () => {
  [browser, server] = await Promise.all([launchChromium(), startFixtureServer()]);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** Script-written cookies vanish (as Safari would expire them): only the HTTP Set-Cookie remains. */
const dropScriptCookies = () => {
  const native = Object.getOwnPropertyDescriptor(Document.prototype, 'cookie')!;
  Object.defineProperty(Document.prototype, 'cookie', {
    configurable: true,
    get() {
      return native.get!.call(this);
    },
    set() {},
  });
};

describe('data-endpoint', () => {
  it('has the service set the cookie with the same attributes, readable by the snippet', async () => {
    const { page, context, errors, requests } = await openPage(browser, { init: dropScriptCookies });
    const before = server.posted.length;
    const response = page.waitForResponse((r) => r.url().endsWith('/closeloop/msclkid'));
    await page.goto(`${server.www}/endpoint.html?msclkid=${CLICK_A}`);
    expect((await response).status()).toBe(204);

    expect(server.posted.slice(before)).toEqual([
      {
        path: '/closeloop/msclkid',
        fields: {
          msclkid: CLICK_A,
          days: '90',
          time: expect.stringMatching(CLICK_TIME),
          domain: 'example.com',
        },
      },
    ]);
    const { msclkid, msclkid_time } = await cookiesOf(context, server.www);
    expect(msclkid).toMatchObject({
      value: CLICK_A,
      domain: '.example.com',
      path: '/',
      sameSite: 'Lax',
      httpOnly: false,
    });
    expect(msclkid!.expires - Date.now() / 1000).toBeGreaterThan(90 * 86_400 - 60);
    expect(msclkid_time?.value).toBe(server.posted.at(-1)!.fields.time);
    expect(requests).toEqual([
      `GET ${server.www}/endpoint.html?msclkid=${CLICK_A}`,
      `GET ${server.www}/closeloop/snippet.js`,
      `POST ${server.www}/closeloop/msclkid`,
    ]);

    // The next page (on another subdomain) reads the service's cookie and fills its form.
    await page.goto(`${server.shop}/endpoint.html`);
    expect(await valuesOf(page, '#contact input')).toEqual([CLICK_A, msclkid_time!.value]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('calls the service only when the click ID is new', async () => {
    const { page, context } = await openPage(browser);
    const before = server.posted.length;
    await page.goto(`${server.www}/endpoint.html?msclkid=${CLICK_A}`);
    await expect.poll(() => server.posted.length).toBe(before + 1);
    await page.reload();
    await page.goto(`${server.www}/endpoint.html`);
    expect(server.posted.length).toBe(before + 1);
    await context.close();
  });

  it('never sends the click ID to another origin', async () => {
    const { page, context, errors, requests } = await openPage(browser);
    await page.goto(`${server.www}/endpoint-elsewhere.html?msclkid=${CLICK_A}`);
    await page.waitForTimeout(200);
    expect(requests.filter((request) => request.startsWith('POST'))).toEqual([]);
    // The page still works: cookie and form from the snippet itself.
    expect((await cookiesOf(context, server.www)).msclkid?.value).toBe(CLICK_A);
    expect(await valuesOf(page, '#contact input')).toEqual([CLICK_A]);
    expect(errors.filter((error) => !error.includes('same-origin'))).toEqual([]);
    await context.close();
  });
});
