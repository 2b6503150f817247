import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import type { Emulator } from '../../src/msads/emulator/index.ts';
import { createSecrets } from '../../src/secrets.ts';
import { createApiKey } from '../../src/services/api-keys.ts';
import { addConnector } from '../../src/services/connectors.ts';
import { addSchedule, type ScheduleDeps } from '../../src/services/schedules.ts';
import { processWebhookEvents } from '../../src/services/webhook-processor.ts';
import { createWebhookSource, webhookEndpoint } from '../../src/services/webhook-sources.ts';
import type { SubmitAccount } from '../../src/submit/submitter.ts';
import { allowLoopback } from '../fakes/guard.ts';
import { testContext } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { memoryCrm } from '../helpers/deal-source.ts';
import { startHttpServer, type TestServer } from '../helpers/source-servers.ts';
import { addAccount, addGoal, emulatorClient, resetSending, testSubmitter } from '../helpers/submit.ts';
import {
  accessibilityViolations,
  type DashboardServer,
  keyboardProblems,
  launchChromium,
  screenshot,
  startDashboard,
} from './harness.ts';

/**
 * A sales-ops person's whole round in a real browser: sign in, upload a file with mistakes, read what to
 * fix in the preview, apply, watch the rows reach the (emulated) Microsoft, download the errors, follow a
 * conversion's history, create and pause goals, sign out. Every page is screenshotted and passes an
 * accessibility and keyboard check; forged forms and markup in user data do nothing.
 */

const click = (c: string) => c.repeat(32);
/** A conversion time a day ago, as the template writes it (UTC). */
const dayAgo = new Date(Date.now() - 86_400_000).toISOString().slice(0, 19).replace('T', ' ');
const csv = [
  'Microsoft Click Id,Conversion Name,Conversion Time,Conversion Value,Conversion Currency',
  `${click('a')},Purchase,${dayAgo},10,USD`,
  `${click('b')},Purchase,${dayAgo},20.5,USD`,
  `not-a-click-id,Purchase,${dayAgo},5,USD`,
  `${click('c')},Purchase,${dayAgo},"12,50",USD`,
  `${click('d')},Purchase,${dayAgo},30,USD`,
].join('\n');

/**
 * Ten earlier days of ledger history, as sending leaves it: accepted rows, rejections by two codes,
 * duplicates, expiries and held rows, so that the overview has something to chart and explain.
 */
async function seedHistory(db: Database) {
  const rows: [number, string, number, string | null, string | null, string | null][] = [];
  for (let d = 2; d <= 12; d++) rows.push([d, 'accepted', 3, null, null, null]);
  for (const d of [3, 5, 6, 9])
    rows.push([
      d,
      'rejected',
      2,
      '5604',
      'OfflineConversionMicrosoftClickIdInvalid',
      'The click ID is not one Microsoft issued; check how the CRM stores msclkid.',
    ]);
  for (const d of [4, 8])
    rows.push([
      d,
      'rejected',
      2,
      '5606',
      'OfflineConversionNameInvalid',
      'No offline conversion goal in the Microsoft account has this name.',
    ]);
  for (const d of [2, 7, 10]) rows.push([d, 'duplicate', 2, null, null, null]);
  rows.push([
    11,
    'expired',
    4,
    'CONVERSION_TOO_OLD',
    null,
    'The conversion is more than 90 days old at submission.',
  ]);
  rows.push([2, 'held', 5, null, null, null]);
  for (const [days, state, n, code, name, message] of rows)
    await db.query(sql`
      insert into conversions (goal_name, click_id, match_key, conversion_time, value, currency, state, error_code,
                               error_name, message, held_until, source, source_ref)
      select 'Purchase', md5(${`${days}${state}`} || i::text), md5(${`${days}${state}`} || i::text),
             now() - make_interval(days => ${days}) + make_interval(secs => i), 10, 'USD', ${state}, ${code}, ${name},
             ${message}, case when ${state} = 'held' then now() + interval '1 hour' end, 'api', 'seed:' || i
        from generate_series(1, ${n}) i`);
}

let database: Database;
let dashboard: DashboardServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let key: string;
let emulator: Emulator;
let account: SubmitAccount;
const secrets = createSecrets(randomBytes(32));
const crm = memoryCrm();
const schedules: ScheduleDeps = {
  secrets,
  limits: { policy: { allowPrivate: true }, maxBytes: 1024 * 1024, timeoutMs: 5000 },
};
/** Serves the file of the scheduled import. */
let sheetServer: TestServer;
/** Markup in names that users choose: every page shows it as text. */
const hostileName = `<script>window.__xss=3</script><img src=x onerror="window.__xss=4">`;
/** Script errors and CSP violations seen on any page: an XSS that ran, or inline code the CSP blocked. */
const pageErrors: string[] = [];
const dialogs: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  account = await addAccount(database, { name: 'Dry run (built-in emulator)' });
  await addGoal(database, { name: 'Purchase' });
  emulator = await resetSending(database, 'Purchase');
  // The goal as the emulator knows it, so that its figures on the overview are Purchase's.
  const [emulated] = emulator.goals('1000').filter((g) => g.name === 'Purchase');
  await database.query(sql`update goals set msads_goal_id = ${emulated!.id} where name = 'Purchase'`);
  key = (await createApiKey({ ctx: testContext(database, () => new Date()), name: 'browser test' })).key;
  sheetServer = await startHttpServer((_req, res) => res.end(csv));
  dashboard = await startDashboard(database, {
    crm: { secrets, policy: allowLoopback, sources: crm.factory() },
    schedules,
    webhooks: { secrets, publicUrl: 'https://calls.example.com' },
    clientFor: () => emulatorClient(emulator.fetch, account),
  });
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  // Answers with an error status (a refused sign-in: 401) are the app's to give; anything else logged
  // as an error (a CSP violation, a script error) is a failure.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(m.text());
  });
  page.on('dialog', async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await dashboard?.close();
  await sheetServer?.close();
  await database?.close();
});

const url = (path: string) => `${dashboard.url}${path}`;
const nav = (name: string) => page.getByRole('navigation').getByRole('link', { name, exact: true }).click();

/** Screenshot, axe-core and keyboard pass of the page as it is now. */
async function checkPage(name: string) {
  await screenshot(page, name);
  // The keyboard first, from a page where nothing has had the focus yet. It ends on the main content,
  // which keeps a list whose rows are still moving from reloading itself under axe.
  expect(await keyboardProblems(page), `keyboard on ${name}`).toEqual([]);
  expect(await accessibilityViolations(page), `accessibility of ${name}`).toEqual([]);
}

describe('the dashboard in a browser', () => {
  it('sends a visitor to sign in, refuses a wrong key, and signs in with an API key', async () => {
    await page.goto(url('/'));
    await screenshot(page, '00-start');
    await page.getByRole('link', { name: 'Open the dashboard' }).click();
    await page.waitForURL(/\/dashboard\/sign-in/);
    await checkPage('01-sign-in');
    await page.getByLabel('API key').fill('cl_wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('not an active API key');
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(url('/dashboard'));
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Overview');
    const [cookie] = (await context.cookies()).filter((c) => c.name === 'closeloop_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    // No script of the page can read it.
    expect(await page.evaluate(() => document.cookie)).not.toContain('closeloop_session');
  });

  it('uploads a file and previews it with each error highlighted and what to fix', async () => {
    await nav('Uploads');
    await checkPage('02-uploads-empty');
    await page.getByLabel('CSV or XLSX file').setInputFiles({
      name: 'conversions.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(csv),
    });
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.waitForURL(/\/dashboard\/uploads\/[0-9a-f-]{36}$/);
    const errorRows = page.locator('tr.row-error');
    expect(await errorRows.count()).toBe(2);
    const errors = await errorRows.allTextContents();
    expect(errors[0]).toMatch(/Microsoft Click Id/);
    expect(errors[1]).toMatch(/comma|period/i);
    expect(await page.locator('tbody tr').count()).toBe(5);
    expect(await page.locator('dl.facts').textContent()).toContain('previewed');
    await checkPage('03-upload-preview');
  });

  it('applies the changes and lists the upload with its status and counts', async () => {
    await page.getByRole('button', { name: 'Apply changes' }).click();
    await page.waitForURL(/\/dashboard\/uploads\?applied=/);
    expect(await page.locator('main [role=status]').textContent()).toContain('Changes applied');
    const row = page.locator('tbody tr').first();
    expect(await row.textContent()).toContain('applied_with_errors');
    expect(await row.textContent()).toContain('3 queued');
    expect(await row.textContent()).toContain('2 rejected');
    await checkPage('04-uploads-applied');
  });

  it('shows the rows accepted once the submitter has sent them to the emulator', async () => {
    // Away from the list, which reloads itself while rows are queued (its script), then back to it.
    await nav('Overview');
    const submitter = testSubmitter(database, [{ account, client: emulatorClient(emulator.fetch, account) }]);
    await submitter.drain();
    expect(
      emulator
        .conversions()
        .map((c) => c.microsoftClickId)
        .sort(),
    ).toEqual([click('a'), click('b'), click('d')]);
    await nav('Uploads');
    expect(await page.locator('tbody tr').first().textContent()).toContain('3 accepted');
    await page.locator('tbody tr').first().getByRole('link').first().click();
    await page.waitForURL(/\/dashboard\/uploads\/[0-9a-f-]{36}$/);
    expect(
      await page
        .locator('tbody tr')
        .filter({ hasText: click('a') })
        .textContent(),
    ).toContain('accepted');
    await checkPage('05-upload-results');
  });

  it('downloads the errors file', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download errors only' }).first().click(),
    ]);
    expect(download.suggestedFilename()).toBe('conversions-errors.csv');
    const text = readFileSync((await download.path())!, 'utf8');
    const lines = text.trim().split('\r\n');
    expect(lines[0]).toMatch(/^Row,Status,Error Code,Error Column,Message/);
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(['4', '5']);
    expect(lines.slice(1).every((l) => l.split(',')[1] === 'rejected')).toBe(true);
  });

  it("finds a conversion by click ID and shows its history: source, the call that carried it, Microsoft's answer", async () => {
    await nav('Conversions');
    await page.getByLabel('Click ID').fill(click('a').slice(0, 8));
    await page.getByRole('button', { name: 'Search' }).click();
    const rows = page.locator('tbody tr');
    expect(await rows.count()).toBe(1);
    await checkPage('06-conversions');
    await rows.first().getByRole('link').first().click();
    await page.waitForURL(/\/dashboard\/conversions\/\d+$/);
    const history = await page.locator('ol.timeline').textContent();
    expect(history).toContain('Received from file upload');
    expect(history).toContain('conversions.csv, row 2');
    expect(history).toMatch(
      /Sent in the call of .* to Dry run \(built-in emulator\) \(dry run: the emulator\): accepted, TrackingId/,
    );
    expect(history).toContain('Accepted by Microsoft.');
    await checkPage('07-conversion-history');
    // The call is on the submissions page, with its TrackingId.
    await page
      .getByRole('link', { name: /call of/ })
      .first()
      .click();
    expect(await page.locator('tr.highlight').textContent()).toMatch(/accepted/);
    await checkPage('08-submissions');
  });

  it('the overview charts the outcomes and sums every reason a row did not count, each linking to its rows', async () => {
    await seedHistory(database);
    await nav('Overview');
    // 3 accepted from the file, 2 refused by its checks; the seeded days add 33 accepted and 27 others.
    expect(await page.locator('section[aria-labelledby=fewer] p').first().textContent()).toContain(
      '65 received, 36 accepted by Microsoft; 29 did not count (yet)',
    );
    const reasons = page.locator('section[aria-labelledby=fewer] tbody tr');
    const rows = await reasons.evaluateAll((trs) =>
      trs.map((tr) => ({
        count: Number(tr.querySelector('td')!.textContent),
        label: tr.querySelector('th')!.textContent!,
        link: tr.querySelector('a')!.getAttribute('href')!,
      })),
    );
    expect(rows.map((r) => `${r.count} ${r.label}`)).toEqual([
      '8 Rejected: 5604 OfflineConversionMicrosoftClickIdInvalid',
      '6 Duplicate',
      '5 Held',
      '4 Expired: CONVERSION_TOO_OLD',
      '4 Rejected: 5606 OfflineConversionNameInvalid',
      '2 Refused by the checks',
    ]);
    expect(await page.locator('section[aria-labelledby=fewer] tfoot').textContent()).toContain('29');
    // Every per-day bar segment is drawn, one per outcome and day.
    expect(await page.locator('svg[role=img] rect').count()).toBeGreaterThan(10);
    // Microsoft's own figures (the emulator's) beside ours: the 3 rows it accepted today.
    const today = new Date().toISOString().slice(0, 10);
    const microsoft = page.locator('section[aria-labelledby=microsoft]');
    expect(await microsoft.locator('caption').allTextContents()).toContain('Purchase');
    const todayRow = microsoft.locator('tbody tr').filter({ hasText: today });
    expect(await todayRow.locator('td').first().textContent()).toBe('3');
    expect(await todayRow.locator('td').nth(1).textContent()).toMatch(/^\d+$/);
    await checkPage('09-overview');
    // Each reason's link lists exactly its rows.
    for (const r of rows.filter((x) => x.link.startsWith('/dashboard/conversions'))) {
      await page.goto(url(r.link));
      expect(await page.locator('tbody tr').count(), r.label).toBe(r.count);
    }
  });

  it('creates goals, shows markup in a name as text (no script runs), pauses and resumes', async () => {
    await nav('Goals');
    const hostile = `<script>window.__xss=1</script><img src=x onerror="window.__xss=2">`;
    await page.getByLabel('Name').fill(hostile);
    await page.getByRole('button', { name: 'Create goal' }).click();
    await page.waitForURL(/created=1/);
    await expect.poll(() => page.getByRole('link', { name: hostile }).count()).toBe(1);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.locator('main script, main img').count()).toBe(0);
    // A bad value is refused with what to fix, and what was typed stays in the form.
    await page.getByLabel('Name').fill('Lead');
    await page.getByLabel('Revenue').selectOption('fixed');
    await page.getByRole('button', { name: 'Create goal' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('a fixed-value goal needs a value');
    expect(await page.getByLabel('Name').inputValue()).toBe('Lead');
    await page.getByRole('button', { name: 'Pause Purchase' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Resume Purchase' }).count()).toBe(1);
    await checkPage('10-goals');
    await page.getByRole('button', { name: 'Resume Purchase' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Pause Purchase' }).count()).toBe(1);
  });

  it('the accounts page says loudly that this is a dry run', async () => {
    await nav('Accounts');
    expect(await page.locator('main .banner').textContent()).toContain('Dry run');
    expect(await page.locator('tbody').textContent()).toContain('dry run (emulator)');
    await checkPage('11-accounts');
  });

  it('the connectors page shows each connector and its last run, and "Sync now" runs a sync', async () => {
    const ctx = testContext(database, () => new Date());
    await addConnector({
      ctx,
      secrets,
      policy: allowLoopback,
      input: {
        kind: 'hubspot',
        name: `${hostileName} HubSpot`,
        goal: 'Purchase',
        intervalMinutes: 30,
        settings: { wonStages: ['closedwon'] },
        secrets: { token: 'pat-na1-never-shown', webhookSecret: 'whsec-never-shown' },
      },
    });
    const deal = (dealId: string, clickId: string | null) => ({
      dealId,
      name: dealId,
      won: true,
      wonAt: new Date(Date.now() - 3_600_000),
      closeDateNoon: null,
      amount: '99',
      currency: 'USD',
      click: clickId ? { clickId, rule: 'deal.msclkid', capturedAt: null } : null,
      deleted: false,
      mergedInto: null,
      modifiedAt: new Date(),
    });
    crm.put(deal('D1', click('e')));
    crm.put(deal('D2', null));
    await nav('Connectors');
    const row = page.locator('tbody tr').filter({ hasText: 'HubSpot' });
    expect(await row.locator('th').textContent()).toBe(`${hostileName} HubSpot`);
    expect(await row.textContent()).toContain('never');
    expect(await row.textContent()).toContain('30 min');
    expect(await page.content()).not.toContain('never-shown');
    await row.getByRole('button', { name: /^Sync now: / }).click();
    await page.waitForURL(/\/dashboard\/connectors\?syncing=/);
    expect(await page.getByRole('status').last().textContent()).toContain('Sync of');
    await expect
      .poll(async () => {
        await page.reload();
        return row.textContent();
      })
      .toContain('succeeded');
    const text = await row.textContent();
    expect(text).toContain('2 deals read');
    expect(text).toContain('1 conversions');
    expect(text).toMatch(/skipped: 1 no_click_id/);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    await checkPage('12-connectors');
  });

  it('the call tracking page shows each source with its endpoint path (never its token) and its latest calls', async () => {
    const ctx = testContext(database, () => new Date());
    const source = await createWebhookSource({
      ctx,
      secrets,
      input: { provider: 'generic', name: `${hostileName} calls`, goal: 'Purchase' },
    });
    const endpoint = webhookEndpoint(source, secrets, dashboard.url);
    const token = new URL(endpoint.url!).searchParams.get('token')!;
    const call = (callId: string, landing: string | null) =>
      fetch(endpoint.url!, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          callId,
          startTime: new Date(Date.now() - 3_600_000).toISOString(),
          durationSec: 120,
          talkSec: 110,
          answered: true,
          ...(landing ? { landingUrl: landing } : {}),
        }),
      });
    expect((await call('CALL-1', `https://example.com/?msclkid=${click('f')}`)).status).toBeLessThan(300);
    expect((await call('CALL-2', null)).status).toBeLessThan(300);
    await processWebhookEvents({ ctx });
    await nav('Call tracking');
    const section = page.locator('main section').filter({ hasText: 'calls' });
    expect(await section.locator('h2').textContent()).toBe(`${hostileName} calls`);
    const facts = await section.locator('dl.facts').textContent();
    expect(facts).toContain('generic');
    expect(facts).toContain(`/webhooks/generic/${source.id}`);
    expect(await page.content()).not.toContain(token);
    const rows = section.locator('tbody tr');
    expect(await rows.count()).toBe(2);
    expect(await rows.filter({ hasText: 'CALL-1' }).textContent()).toContain('conversion');
    expect(await rows.filter({ hasText: 'CALL-2' }).locator('td').nth(3).textContent()).not.toBe('');
    await rows.filter({ hasText: 'CALL-1' }).getByRole('link').click();
    await page.waitForURL(/\/dashboard\/conversions\/\d+$/);
    await nav('Call tracking');
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    await checkPage('13-call-tracking');
  });

  it('the schedules page shows each schedule without its credentials; Run now imports, Pause and Resume', async () => {
    const ctx = testContext(database, () => new Date());
    await addSchedule({
      ctx,
      deps: schedules,
      input: {
        name: `${hostileName} sheet`,
        url: `${sheetServer.origin}/sheet.csv`,
        username: 'ann',
        password: 'hunter2-secret',
        every: 'daily 06:00',
        timeZone: 'Europe/Berlin',
      },
    });
    await nav('Schedules');
    const row = page.locator('tbody tr').filter({ hasText: 'sheet' });
    expect(await row.locator('th').textContent()).toBe(`${hostileName} sheet`);
    const text = await row.textContent();
    expect(text).toContain(`${sheetServer.origin}/sheet.csv`);
    expect(text).toContain('Europe/Berlin');
    expect(text).toContain('never');
    expect(await page.content()).not.toContain('hunter2-secret');
    await row.getByRole('button', { name: /^Run now: / }).click();
    await page.waitForURL(/\/dashboard\/schedules\?started=/);
    await expect
      .poll(async () => {
        await page.reload();
        return row.locator('td').nth(4).textContent();
      })
      .toMatch(/imported/);
    await row.getByRole('link', { name: 'its upload' }).click();
    await page.waitForURL(/\/dashboard\/uploads\/[0-9a-f-]{36}$/);
    await nav('Schedules');
    await row.getByRole('button', { name: /^Pause / }).click();
    await expect.poll(() => row.locator('td').nth(3).textContent()).toContain('paused');
    await checkPage('14-schedules');
    await row.getByRole('button', { name: /^Resume / }).click();
    await expect.poll(() => row.getByRole('button', { name: /^Pause / }).count()).toBe(1);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
  });

  it('refuses a POST without the CSRF token or with a wrong one (403), even with the session cookie', async () => {
    // page.request sends the browser context's cookies, as a forged same-site request would.
    for (const form of [
      { name: 'Forged', revenueType: 'none' },
      { _csrf: 'guess', name: 'Forged', revenueType: 'none' },
    ] as Record<string, string>[]) {
      const res = await page.request.post(url('/dashboard/goals'), { form, maxRedirects: 0 });
      expect(res.status()).toBe(403);
    }
    await page.reload();
    expect(await page.getByText('Forged').count()).toBe(0);
  });

  it('works without JavaScript: sign in, read the overview, create a goal', async () => {
    const noScript = await browser.newContext({ javaScriptEnabled: false });
    try {
      const p = await noScript.newPage();
      await p.goto(url('/dashboard/goals'));
      await p.getByLabel('API key').fill(key);
      await p.getByRole('button', { name: 'Sign in' }).click();
      await p.waitForURL(url('/dashboard/goals'));
      await p.getByLabel('Name').fill('Signed contract');
      await p.getByRole('button', { name: 'Create goal' }).click();
      await p.waitForURL(/created=1/);
      expect(await p.getByRole('link', { name: 'Signed contract' }).count()).toBe(1);
      await p.goto(url('/dashboard'));
      expect(await p.locator('svg[role=img] rect').count()).toBeGreaterThan(10);
    } finally {
      await noScript.close();
    }
  });

  it('signs out: the session ends, and the pages ask to sign in again', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/dashboard\/sign-in\?signedOut/);
    expect(await page.getByRole('status').textContent()).toContain('You have signed out');
    await page.goto(url('/dashboard/conversions'));
    await page.waitForURL(/\/dashboard\/sign-in\?next=/);
    expect(pageErrors).toEqual([]);
    expect(dialogs).toEqual([]);
  });
});
