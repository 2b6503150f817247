// Filling forms: every matching input of every form, custom names, forms rendered later, single-page-app
// navigations, the opt-in hidden input, and a real submission to a local endpoint.
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

describe('filling', () => {
  it('fills every hidden or text input named msclkid in every form, and no other input', async () => {
    const { page, context, errors } = await openPage(env.browser);
    await page.goto(`${env.server.www}/landing.html?msclkid=${CLICK_A}`);
    expect(await valuesOf(page, '#contact [name=msclkid], #quote [name=msclkid]')).toEqual([
      CLICK_A,
      CLICK_A,
    ]);
    expect(await valuesOf(page, '#contact [name=msclkid_time]')).toEqual([expect.stringMatching(CLICK_TIME)]);
    expect(await valuesOf(page, '#not-text [name=msclkid]')).toEqual(['keep@example.com', 'on']);
    // Without data-add-field no input is added anywhere.
    expect(await page.locator('#search input').count()).toBe(1);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('fires input and change events, so frameworks that track values see the click ID', async () => {
    const { page, context } = await openPage(env.browser, {
      init: () => {
        const seen: string[] = [];
        Object.assign(window, { seen });
        for (const type of ['input', 'change']) {
          document.addEventListener(type, (event) => {
            const input = event.target as HTMLInputElement;
            seen.push(`${type}:${input.closest('form')?.id}:${input.value}`);
          });
        }
      },
    });
    await page.goto(`${env.server.www}/landing.html?msclkid=${CLICK_A}`);
    const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
    expect(seen).toEqual(
      expect.arrayContaining([
        `input:contact:${CLICK_A}`,
        `change:contact:${CLICK_A}`,
        `input:quote:${CLICK_A}`,
      ]),
    );
    // Filling again with the same value fires nothing more.
    await page.evaluate(() => window.closeloop.fill());
    expect(await page.evaluate(() => (window as unknown as { seen: string[] }).seen.length)).toBe(
      seen.length,
    );
    await context.close();
  });

  it('uses the names, selector and time field the script tag configures', async () => {
    const { page, context } = await openPage(env.browser);
    await page.goto(`${env.server.www}/custom.html?msclkid=${CLICK_A}`);
    await page.waitForFunction(() => window.closeloop);
    expect(await valuesOf(page, '[name="00N5g00000AbCdE"], [name=ms_click_id], [data-click-id]')).toEqual([
      CLICK_A,
      CLICK_A,
      CLICK_A,
    ]);
    expect(await valuesOf(page, '[name=click_time]')).toEqual([expect.stringMatching(CLICK_TIME)]);
    // The default name is replaced, not added to.
    expect(await valuesOf(page, '#default-name [name=msclkid]')).toEqual(['']);
    await context.close();
  });

  it('refills a value a script reset, before the form is submitted', async () => {
    const { page, context } = await openPage(env.browser);
    await page.goto(`${env.server.www}/landing.html?msclkid=${CLICK_A}`);
    // A framework re-renders the field with its own (empty) state; no DOM node is added.
    await page.evaluate(() => {
      (document.querySelector('#contact [name=msclkid]') as HTMLInputElement).value = '';
    });
    await page.evaluate(() => {
      const form = document.querySelector('#contact') as HTMLFormElement;
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        Object.assign(window, { seenAtSubmit: new FormData(form).get('msclkid') });
      });
      form.requestSubmit();
    });
    expect(await page.evaluate(() => (window as unknown as { seenAtSubmit: string }).seenAtSubmit)).toBe(
      CLICK_A,
    );
    await context.close();
  });
});

describe('forms added later', () => {
  it('fills forms that embed scripts render after load, and their re-renders', async () => {
    const { page, context, errors } = await openPage(env.browser);
    await page.goto(`${env.server.www}/late-forms.html?msclkid=${CLICK_A}`);
    await page.waitForSelector('#marketo-form');
    expect(await valuesOf(page, '#hubspot-form [name=msclkid], #marketo-form [name=msclkid]')).toEqual([
      CLICK_A,
      CLICK_A,
    ]);
    await page.evaluate(() => (window as unknown as { rerender(): void }).rerender());
    await expect.poll(() => valuesOf(page, '#hubspot-form-2 [name=msclkid]')).toEqual([CLICK_A]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('fills a form added later on a page visited after the landing page', async () => {
    const { page, context } = await openPage(env.browser);
    await page.goto(`${env.server.www}/landing.html?msclkid=${CLICK_B}`);
    await page.goto(`${env.server.www}/late-forms.html`);
    await page.waitForSelector('#marketo-form');
    await expect.poll(() => valuesOf(page, '#marketo-form [name=msclkid]')).toEqual([CLICK_B]);
    await context.close();
  });
});

describe('single-page apps', () => {
  it('captures a click ID that arrives with pushState and fills the view rendered after it', async () => {
    const { page, context } = await openPage(env.browser);
    await page.goto(`${env.server.www}/spa.html`);
    expect(await page.evaluate(() => window.closeloop.clickId())).toBeUndefined();
    await page.evaluate(
      (id) => (window as unknown as { go(url: string): void }).go(`/contact?msclkid=${id}`),
      CLICK_A,
    );
    await expect.poll(() => valuesOf(page, '#contact [name=msclkid]')).toEqual([CLICK_A]);
    expect((await cookiesOf(context, env.server.www)).msclkid?.value).toBe(CLICK_A);

    // Away and back with the browser's buttons (popstate): the view is rendered again, and filled.
    await page.evaluate(() => (window as unknown as { go(url: string): void }).go('/pricing'));
    await page.goBack();
    await expect.poll(() => valuesOf(page, '#contact [name=msclkid]')).toEqual([CLICK_A]);
    await context.close();
  });

  it('captures a click ID that a router moves with replaceState, at the next DOM change or submit', async () => {
    const { page, context } = await openPage(env.browser);
    await page.goto(`${env.server.www}/spa.html`);
    await page.evaluate((id) => {
      const app = window as unknown as { swapUrl(url: string): void; render(): void };
      app.swapUrl(`/contact?msclkid=${id}`);
      app.render();
    }, CLICK_B);
    await expect.poll(() => valuesOf(page, '#contact [name=msclkid]')).toEqual([CLICK_B]);
    expect((await cookiesOf(context, env.server.www)).msclkid?.value).toBe(CLICK_B);
    await context.close();
  });
});

describe('data-add-field', () => {
  it('adds a hidden input to the configured forms that lack one, and only to them', async () => {
    const { page, context } = await openPage(env.browser);
    await page.goto(`${env.server.www}/add-field.html?msclkid=${CLICK_A}`);
    expect(await valuesOf(page, '#lead-without input[type=hidden][name=msclkid]')).toEqual([CLICK_A]);
    // The form that had one keeps a single input, now holding the click ID.
    expect(await valuesOf(page, '#lead-with input')).toEqual([CLICK_A]);
    expect(await page.locator('#search input').count()).toBe(1);
    await context.close();
  });

  it('without a value adds it to every form', async () => {
    const { page, context } = await openPage(env.browser);
    await page.goto(`${env.server.www}/add-field-all.html?msclkid=${CLICK_A}`);
    expect(await valuesOf(page, '#one input, #two input')).toEqual([CLICK_A, CLICK_A]);
    await context.close();
  });

  it('adds nothing while there is no click ID', async () => {
    const { page, context } = await openPage(env.browser);
    await page.goto(`${env.server.www}/add-field.html`);
    expect(await page.locator('#lead-without input[type=hidden]').count()).toBe(0);
    await context.close();
  });
});

describe('a real submission', () => {
  it('posts the click ID and click time to the form action, from a later page', async () => {
    const { page, context, errors } = await openPage(env.browser);
    await page.goto(`${env.server.www}/landing.html?msclkid=${CLICK_A}`);
    const { msclkid_time } = await cookiesOf(context, env.server.www);
    // The visitor reads on, then fills the contact form of another page.
    await page.goto(`${env.server.www}/add-field.html`);
    await page.fill('#lead-without [name=email]', 'grace@example.com');
    const before = env.server.posted.length;
    await Promise.all([page.waitForURL('**/submit'), page.press('#lead-without [name=email]', 'Enter')]);
    expect(await page.textContent('#thanks')).toBe('Thanks');
    expect(env.server.posted.slice(before)).toEqual([
      { path: '/submit', fields: { email: 'grace@example.com', msclkid: CLICK_A } },
    ]);

    await page.goto(`${env.server.www}/landing.html`);
    await Promise.all([page.waitForURL('**/submit'), page.click('#send')]);
    expect(env.server.posted.at(-1)).toEqual({
      path: '/submit',
      fields: { email: 'ada@example.com', msclkid: CLICK_A, msclkid_time: msclkid_time!.value },
    });
    expect(errors).toEqual([]);
    await context.close();
  });
});
