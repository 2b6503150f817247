// The embed itself: a page that already uses the globals the snippet might touch, a renamed API, a
// second embed on the same page, and the ES module build.
import { describe, expect, it } from 'vitest';
import { CLICK_A, CLICK_B, cookiesOf, openPage, useBrowserAndServer, valuesOf } from './harness.ts';

const env = useBrowserAndServer();

describe('a page with conflicting globals', () => {
  it('works beside them and changes none of them', async () => {
    const { page, context, errors } = await openPage(env.browser);
    await page.goto(`${env.server.www}/conflicts.html?msclkid=${CLICK_A}`);
    await page.waitForLoadState('load');
    expect(await valuesOf(page, '#contact [name=msclkid]')).toEqual([CLICK_A]);
    expect((await cookiesOf(context, env.server.www)).msclkid?.value).toBe(CLICK_A);
    const globals = await page.evaluate(() => {
      const w = window as unknown as Record<string, unknown>;
      return {
        closeloop: w.closeloop,
        letters: 'etnroiascldu'
          .split('')
          .map((name) => w[name])
          .join(''),
        msclkid: w.msclkid,
        legacyField: (document.getElementById('legacy_field') as HTMLInputElement).value,
        legacyCookie: document.cookie.includes(`msclkid_legacy=${(w.msclkid as string) ?? ''}`),
        defineAmd: typeof (w.define as { amd?: unknown }).amd,
        moduleExports: typeof (w.module as { exports?: unknown }).exports,
      };
    });
    expect(globals).toEqual({
      // The name was taken, so the API stayed off window rather than overwrite it.
      closeloop: 'the site own closeloop variable',
      letters: 'etnroiascldu',
      msclkid: CLICK_A,
      legacyField: CLICK_A,
      legacyCookie: true,
      defineAmd: 'object',
      moduleExports: 'object',
    });
    // The history patch of another script still runs once per navigation: the snippet adds none.
    await page.evaluate(() => history.pushState({}, '', '/conflicts.html?page=2'));
    expect(await page.evaluate(() => (window as unknown as { pushCount: number }).pushCount)).toBe(1);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('offers the API under the name data-global gives', async () => {
    const { page, context } = await openPage(env.browser);
    await page.goto(`${env.server.www}/renamed-global.html?msclkid=${CLICK_A}`);
    expect(await page.evaluate(() => (window as unknown as { closeloop: unknown }).closeloop)).toEqual({
      mine: true,
    });
    expect(
      await page.evaluate(() =>
        (window as unknown as { closeloopApi: Window['closeloop'] }).closeloopApi.clickId(),
      ),
    ).toBe(CLICK_A);
    await context.close();
  });

  it('runs once when embedded twice', async () => {
    const { page, context, errors } = await openPage(env.browser, {
      init: () => {
        let listeners = 0;
        const add = document.addEventListener;
        document.addEventListener = function (
          this: Document,
          ...args: Parameters<Document['addEventListener']>
        ) {
          if (args[0] === 'submit') Object.assign(window, { submitListeners: ++listeners });
          return add.apply(this, args);
        } as Document['addEventListener'];
      },
    });
    await page.goto(`${env.server.www}/landing.html?msclkid=${CLICK_A}`);
    await page.evaluate(() => Object.assign(window, { first: window.closeloop }));
    await page.addScriptTag({ url: '/snippet.js' });
    expect(
      await page.evaluate(() => window.closeloop === (window as unknown as { first: unknown }).first),
    ).toBe(true);
    expect(
      await page.evaluate(() => (window as unknown as { submitListeners: number }).submitListeners),
    ).toBe(1);
    expect(errors).toEqual([]);
    await context.close();
  });
});

describe('the ES module build', () => {
  it('runs from an import with options, and shares the instance with a script tag', async () => {
    const { page, context, errors } = await openPage(env.browser);
    await page.goto(`${env.server.www}/esm.html?msclkid=${CLICK_B}`);
    await page.waitForFunction(() => (window as unknown as { snippet?: unknown }).snippet);
    expect(await valuesOf(page, '#contact input')).toEqual([CLICK_B, CLICK_B]);
    expect((await cookiesOf(context, env.server.www)).msclkid).toMatchObject({
      value: CLICK_B,
      domain: '.example.com',
    });
    const checks = await page.evaluate((id) => {
      const w = window as unknown as {
        snippet: Window['closeloop'];
        closeloopEsm: Window['closeloop'];
        isClickId(value: unknown): boolean;
      };
      return {
        global: w.closeloopEsm === w.snippet,
        defaultGlobal: 'closeloop' in window,
        valid: w.isClickId(id),
        invalid: w.isClickId(`${id}0`),
      };
    }, CLICK_B);
    expect(checks).toEqual({ global: true, defaultGlobal: false, valid: true, invalid: false });

    // A script tag added later finds the running instance instead of starting a second one.
    await page.addScriptTag({ url: '/snippet.js' });
    expect(
      await page.evaluate(() => window.closeloop === (window as unknown as { snippet: unknown }).snippet),
    ).toBe(true);
    expect(errors).toEqual([]);
    await context.close();
  });
});
