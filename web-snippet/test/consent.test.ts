// Consent: waiting for it (API, queue, UET consent mode), withdrawing it, and Global Privacy Control.
import { describe, expect, it } from 'vitest';
import { CLICK_A, CLICK_TIME, cookiesOf, openPage, useBrowserAndServer, valuesOf } from './harness.ts';

const env = useBrowserAndServer();

const gpcOn = () => {
  Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true, configurable: true });
};
const uet = (page: import('playwright-core').Page, call: 'acceptAds' | 'refuseAds' | 'loadUet') =>
  page.evaluate((name) => (window as unknown as Record<string, () => void>)[name]!(), call);

describe('data-consent="wait"', () => {
  it('stores nothing before consent but fills the landing page form from memory', async () => {
    const { page, context, errors } = await openPage(env.browser);
    await page.goto(`${env.server.www}/consent.html?msclkid=${CLICK_A}`);
    expect(await context.cookies()).toEqual([]);
    expect(await valuesOf(page, '#contact [name=msclkid]')).toEqual([CLICK_A]);
    expect(await page.evaluate(() => window.closeloop.clickId())).toBe(CLICK_A);

    // Without consent, the next page has nothing to go on.
    await page.goto(`${env.server.www}/consent.html`);
    expect(await page.evaluate(() => window.closeloop.clickId())).toBeUndefined();
    expect(errors).toEqual([]);
    await context.close();
  });

  it('stores the click ID and its capture time when the API grants consent', async () => {
    const { page, context } = await openPage(env.browser);
    await page.clock.install();
    await page.goto(`${env.server.www}/consent.html?msclkid=${CLICK_A}`);
    const captured = await page.evaluate(() => window.closeloop.clickTime());
    expect(captured).toMatch(CLICK_TIME);
    // The visitor reads the banner for a minute: the stored time is still the click's.
    await page.clock.fastForward(60_000);
    await page.click('#accept');
    const { msclkid, msclkid_time } = await cookiesOf(context, env.server.www);
    expect(msclkid).toMatchObject({ value: CLICK_A, path: '/', sameSite: 'Lax' });
    expect(msclkid_time?.value).toBe(captured);

    await page.goto(`${env.server.www}/consent.html`);
    expect(await valuesOf(page, '#contact [name=msclkid]')).toEqual([CLICK_A]);
    await context.close();
  });

  it('replays a grant queued before the snippet loaded', async () => {
    const { page, context } = await openPage(env.browser);
    await page.goto(`${env.server.www}/consent-queue.html?msclkid=${CLICK_A}`);
    await page.waitForFunction(() => !Array.isArray(window.closeloop));
    expect((await cookiesOf(context, env.server.www)).msclkid?.value).toBe(CLICK_A);
    // The queue became the API; push still works.
    await page.evaluate(() => window.closeloop.push('revoke'));
    expect(await context.cookies()).toEqual([]);
    await context.close();
  });

  it('deletes the cookies when consent is withdrawn, and stores again when it is given again', async () => {
    const { page, context } = await openPage(env.browser);
    await page.goto(`${env.server.www}/consent.html?msclkid=${CLICK_A}`);
    await page.click('#accept');
    expect(Object.keys(await cookiesOf(context, env.server.www)).sort()).toEqual(['msclkid', 'msclkid_time']);
    await page.click('#withdraw');
    expect(await context.cookies()).toEqual([]);
    // This page's forms keep the click ID (it is in memory, not in storage).
    expect(await valuesOf(page, '#contact [name=msclkid]')).toEqual([CLICK_A]);
    await page.click('#accept');
    expect((await cookiesOf(context, env.server.www)).msclkid?.value).toBe(CLICK_A);
    await context.close();
  });
});

describe('UET consent mode', () => {
  it('stores nothing under the default "denied", then stores on an update to "granted"', async () => {
    const { page, context, errors } = await openPage(env.browser);
    await page.goto(`${env.server.www}/consent-uet.html?msclkid=${CLICK_A}`);
    expect(await context.cookies()).toEqual([]);
    await uet(page, 'acceptAds');
    expect((await cookiesOf(context, env.server.www)).msclkid?.value).toBe(CLICK_A);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('hears the update after bat.js replaced the queue, and UET still gets every command', async () => {
    const { page, context } = await openPage(env.browser);
    await page.goto(`${env.server.www}/consent-uet.html?msclkid=${CLICK_A}`);
    await uet(page, 'loadUet');
    await page.waitForFunction(() => (window as unknown as { uetLoaded?: boolean }).uetLoaded);
    expect(await context.cookies()).toEqual([]);
    await uet(page, 'acceptAds');
    expect((await cookiesOf(context, env.server.www)).msclkid?.value).toBe(CLICK_A);
    const commands = await page.evaluate(() => (window.uetq as unknown as { commands: unknown[] }).commands);
    expect(commands).toEqual([
      'consent',
      'default',
      { ad_storage: 'denied' },
      'consent',
      'update',
      { ad_storage: 'granted' },
    ]);
    await context.close();
  });

  it('takes consent given before bat.js loaded', async () => {
    const { page, context } = await openPage(env.browser);
    await page.goto(`${env.server.www}/consent-uet.html?msclkid=${CLICK_A}`);
    await uet(page, 'acceptAds');
    await uet(page, 'loadUet');
    await page.waitForFunction(() => (window as unknown as { uetLoaded?: boolean }).uetLoaded);
    expect((await cookiesOf(context, env.server.www)).msclkid?.value).toBe(CLICK_A);
    await context.close();
  });

  it('stores nothing when ads storage is refused, until the API grants consent', async () => {
    const { page, context } = await openPage(env.browser);
    await page.goto(`${env.server.www}/consent-uet.html?msclkid=${CLICK_A}`);
    await uet(page, 'refuseAds');
    await uet(page, 'loadUet');
    await page.waitForFunction(() => (window as unknown as { uetLoaded?: boolean }).uetLoaded);
    expect(await context.cookies()).toEqual([]);
    await page.evaluate(() => window.closeloop.grant());
    expect((await cookiesOf(context, env.server.www)).msclkid?.value).toBe(CLICK_A);
    await context.close();
  });
});

describe('Global Privacy Control', () => {
  it('with data-gpc and the signal on: no cookie, no form filled, no click ID', async () => {
    const { page, context, errors } = await openPage(env.browser, { init: gpcOn });
    await page.goto(`${env.server.www}/gpc.html?msclkid=${CLICK_A}`);
    expect(await context.cookies()).toEqual([]);
    expect(await valuesOf(page, '#contact [name=msclkid]')).toEqual(['']);
    expect(await page.evaluate(() => window.closeloop.clickId())).toBeUndefined();
    // An explicit opt-in, collected by the site, lifts it.
    await page.evaluate(() => window.closeloop.grant());
    expect((await cookiesOf(context, env.server.www)).msclkid?.value).toBe(CLICK_A);
    expect(await valuesOf(page, '#contact [name=msclkid]')).toEqual([CLICK_A]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('is not lifted by the UET consent signal', async () => {
    const { page, context } = await openPage(env.browser, { init: gpcOn });
    await page.goto(`${env.server.www}/gpc-consent.html?msclkid=${CLICK_A}`);
    await page.evaluate(() => window.uetq.push('consent', 'update', { ad_storage: 'granted' }));
    expect(await context.cookies()).toEqual([]);
    expect(await valuesOf(page, '#contact [name=msclkid]')).toEqual(['']);
    await context.close();
  });

  it('changes nothing when the signal is off, or when data-gpc is absent', async () => {
    const off = await openPage(env.browser);
    await off.page.goto(`${env.server.www}/gpc.html?msclkid=${CLICK_A}`);
    expect((await cookiesOf(off.context, env.server.www)).msclkid?.value).toBe(CLICK_A);
    await off.context.close();

    const notHonoured = await openPage(env.browser, { init: gpcOn });
    await notHonoured.page.goto(`${env.server.www}/landing.html?msclkid=${CLICK_A}`);
    expect((await cookiesOf(notHonoured.context, env.server.www)).msclkid?.value).toBe(CLICK_A);
    await notHonoured.context.close();
  });
});
