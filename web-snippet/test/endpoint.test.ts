// Same-origin mode end to end: the page and the closeloop service share an origin through a reverse-proxy
// path (/closeloop/), and the cookie comes from the service's Set-Cookie header.
import { describe, expect, it } from 'vitest';
import { CLICK_A, CLICK_TIME, cookiesOf, openPage, useBrowserAndServer, valuesOf } from './harness.ts';

const env = useBrowserAndServer();

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
    const { page, context, errors, requests } = await openPage(env.browser, { init: dropScriptCookies });
    const before = env.server.posted.length;
    const response = page.waitForResponse((r) => r.url().endsWith('/closeloop/msclkid'));
    await page.goto(`${env.server.www}/endpoint.html?msclkid=${CLICK_A}`);
    expect((await response).status()).toBe(204);

    expect(env.server.posted.slice(before)).toEqual([
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
    const { msclkid, msclkid_time } = await cookiesOf(context, env.server.www);
    expect(msclkid).toMatchObject({
      value: CLICK_A,
      domain: '.example.com',
      path: '/',
      sameSite: 'Lax',
      httpOnly: false,
    });
    expect(msclkid!.expires - Date.now() / 1000).toBeGreaterThan(90 * 86_400 - 60);
    expect(msclkid_time?.value).toBe(env.server.posted.at(-1)!.fields.time);
    expect(requests).toEqual([
      `GET ${env.server.www}/endpoint.html?msclkid=${CLICK_A}`,
      `GET ${env.server.www}/closeloop/snippet.js`,
      `POST ${env.server.www}/closeloop/msclkid`,
    ]);

    // The next page (on another subdomain) reads the service's cookie and fills its form.
    await page.goto(`${env.server.shop}/endpoint.html`);
    expect(await valuesOf(page, '#contact input')).toEqual([CLICK_A, msclkid_time!.value]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('calls the service only when the click ID is new', async () => {
    const { page, context } = await openPage(env.browser);
    const before = env.server.posted.length;
    await page.goto(`${env.server.www}/endpoint.html?msclkid=${CLICK_A}`);
    await expect.poll(() => env.server.posted.length).toBe(before + 1);
    await page.reload();
    await page.goto(`${env.server.www}/endpoint.html`);
    expect(env.server.posted.length).toBe(before + 1);
    await context.close();
  });

  it('never sends the click ID to another origin', async () => {
    const { page, context, errors, requests } = await openPage(env.browser);
    await page.goto(`${env.server.www}/endpoint-elsewhere.html?msclkid=${CLICK_A}`);
    await page.waitForTimeout(200);
    expect(requests.filter((request) => request.startsWith('POST'))).toEqual([]);
    // The page still works: cookie and form from the snippet itself.
    expect((await cookiesOf(context, env.server.www)).msclkid?.value).toBe(CLICK_A);
    expect(await valuesOf(page, '#contact input')).toEqual([CLICK_A]);
    expect(errors.filter((error) => !error.includes('same-origin'))).toEqual([]);
    await context.close();
  });
});
