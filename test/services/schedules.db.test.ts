import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { createSecrets } from '../../src/secrets.ts';
import { createGoal } from '../../src/services/goals.ts';
import { runDueSchedules } from '../../src/services/schedule-runner.ts';
import { runSchedule } from '../../src/services/schedule-runs.ts';
import {
  addSchedule,
  getSchedule,
  removeSchedule,
  type ScheduleDeps,
  scheduleHistory,
  scheduleView,
  updateSchedule,
} from '../../src/services/schedules.ts';
import { testClock, testContext } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { hasBasicAuth, startHttpServer, type TestServer } from '../helpers/source-servers.ts';

const clock = testClock('2026-06-01T00:00:00Z');
let database: Database;
const ctx = () => testContext(database, clock.now);
const deps: ScheduleDeps = {
  secrets: createSecrets(randomBytes(32)),
  limits: { policy: { allowPrivate: true }, maxBytes: 1024 * 1024, timeoutMs: 2000 },
};
const header = 'Microsoft Click ID,Conversion Name,Conversion Time,Conversion Value,Conversion Currency';
const row = (i: number) => `${i.toString(16).padStart(32, 'a')},Purchase,2026-06-10 10:00:00,${i},USD`;
const csv = (n: number, from = 1) =>
  [header, ...Array.from({ length: n }, (_, i) => row(from + i))].join('\n');

/** What the server serves at /sheet.csv; tests change it between runs. */
let sheet = csv(2);
let sheetStatus = 200;
let server: TestServer;

beforeAll(async () => {
  database = await createTestDatabase();
  await createGoal({
    ctx: ctx(),
    input: { name: 'Purchase', revenue: { type: 'variable', value: 10, currency: 'USD' } },
  });
  clock.set('2026-06-15T09:30:00Z');
  server = await startHttpServer((req, res) => {
    const path = new URL(req.url!, 'http://x').pathname;
    if (path === '/sheet.csv') return res.writeHead(sheetStatus).end(sheetStatus === 200 ? sheet : '');
    if (path === '/private.csv') {
      if (!hasBasicAuth(req, 'ann', 'hunter2-secret')) return res.writeHead(401).end();
      return res.end(csv(1));
    }
    if (path === '/page.html') return res.end('<!doctype html><html><body>Sign in</body></html>');
    res.writeHead(404).end();
  });
});
afterAll(async () => {
  await server.close();
  await database.close();
});
beforeEach(() => {
  sheet = csv(2);
  sheetStatus = 200;
});

const ledgerCount = async () =>
  Number((await database.query<{ n: number }>(sql`select count(*)::int as n from conversions`))[0]!.n);

let n = 0;
const add = (input: Record<string, unknown> = {}) =>
  addSchedule({
    ctx: ctx(),
    deps,
    input: { name: `sheet ${++n}`, url: `${server.origin}/sheet.csv`, every: 'daily 06:00', ...input },
  });

describe('schedules: save and preview', () => {
  it('fetches once, previews every row, applies nothing, and saves the schedule', async () => {
    const before = await ledgerCount();
    const { schedule, upload } = await add({ timeZone: 'Europe/Berlin' });
    expect(upload.status).toBe('previewed');
    expect(upload.counts).toEqual({ ok: 2 });
    expect(await ledgerCount()).toBe(before);
    // 06:00 in Berlin (04:00 UTC) tomorrow: today's has passed.
    expect(schedule.nextRunAt.toISOString()).toBe('2026-06-16T04:00:00.000Z');
    expect(scheduleView(schedule)).toMatchObject({
      every: 'daily 06:00',
      timeZone: 'Europe/Berlin',
      paused: false,
    });
  });

  it('refuses to save a source it cannot read, saying why, and saves nothing', async () => {
    const count = async () =>
      Number((await database.query<{ n: number }>(sql`select count(*)::int as n from schedules`))[0]!.n);
    const before = await count();
    await expect(add({ url: `${server.origin}/missing.csv` })).rejects.toThrow(/no file there \(HTTP 404\)/);
    await expect(
      add({ url: `${server.origin}/private.csv`, username: 'ann', password: 'wrong' }),
    ).rejects.toThrow(/refused the user name and password/);
    await expect(add({ url: `${server.origin}/page.html` })).rejects.toThrow(
      /refused as a whole: The file is a web page/,
    );
    await expect(add({ every: 'daily 6pm' })).rejects.toThrow(/Unknown schedule "daily 6pm"/);
    await expect(add({ timeZone: 'Mars/Base' })).rejects.toThrow(/not an IANA time zone/);
    await expect(
      addSchedule({
        ctx: ctx(),
        deps: { ...deps, limits: { ...deps.limits, policy: { allowPrivate: false } } },
        input: { name: 'ssrf', url: `${server.origin}/sheet.csv`, every: 'hourly' },
      }),
    ).rejects.toThrow(/127\.0\.0\.1 is a loopback address/);
    expect(await count()).toBe(before);
    const { schedule } = await add();
    await expect(add({ name: schedule.name })).rejects.toThrow(/exists already/);
  });

  it('stores the password encrypted and never shows it', async () => {
    const { schedule } = await add({
      url: `${server.origin}/private.csv`,
      username: 'ann',
      password: 'hunter2-secret',
    });
    const [stored] = await database.query<Record<string, unknown>>(
      sql`select * from schedules where id = ${schedule.id}`,
    );
    expect(JSON.stringify(stored)).not.toContain('hunter2-secret');
    expect(String(stored!.secret_enc)).toMatch(/^v1:/);
    expect(JSON.stringify(scheduleView(schedule))).not.toContain('hunter2');
    expect(scheduleView(schedule)).toMatchObject({ username: 'ann', credentials: 'password' });
    // …and a run decrypts it to log in.
    const { run } = await runSchedule({ ctx: ctx(), deps, schedule, trigger: 'manual' });
    expect(run.outcome).toBe('imported');
  });
});

describe('schedules: runs', () => {
  it('imports through the pipeline; the same bytes again are unchanged; a grown file adds only its new rows', async () => {
    sheet = csv(2, 100);
    const { schedule } = await add();
    const first = await runSchedule({ ctx: ctx(), deps, schedule, trigger: 'manual' });
    expect(first.run.outcome).toBe('imported');
    expect(first.upload).toMatchObject({ status: 'applied', counts: { queued: 2 } });
    expect(first.run.uploadId).toBe(first.upload!.id);

    clock.advance(60_000);
    const again = await runSchedule({
      ctx: ctx(),
      deps,
      schedule: await getSchedule({ ctx: ctx(), ref: schedule.id }),
      trigger: 'manual',
    });
    expect(again.run.outcome).toBe('unchanged');
    expect(again.run.uploadId).toBeNull();
    expect(again.upload).toBeUndefined();

    sheet = csv(3, 100);
    clock.advance(60_000);
    const grown = await runSchedule({
      ctx: ctx(),
      deps,
      schedule: await getSchedule({ ctx: ctx(), ref: schedule.id }),
      trigger: 'manual',
    });
    expect(grown.run.outcome).toBe('imported');
    // Rows already in the ledger are duplicates, not errors.
    expect(grown.upload!.counts).toEqual({ duplicate: 2, queued: 1 });
    expect(grown.upload!.status).toBe('applied');

    const { runs } = await scheduleHistory({ ctx: ctx(), ref: schedule.name });
    // Newest first.
    expect(runs.map((r) => r.outcome)).toEqual(['imported', 'unchanged', 'imported']);
    expect(runs[2]!.uploadId).toBe(first.upload!.id);
  });

  it('runs a due schedule once, and missed slots once (the next run counts from now)', async () => {
    clock.set('2026-06-15T09:30:00Z');
    const { schedule } = await add({ every: 'hourly' });
    expect(schedule.nextRunAt.toISOString()).toBe('2026-06-15T10:00:00.000Z');
    const mine = (results: Awaited<ReturnType<typeof runDueSchedules>>) =>
      results.filter((r) => r.run.scheduleId === schedule.id);
    expect(mine(await runDueSchedules({ ctx: ctx(), deps }))).toHaveLength(0);
    // The service was down from 10:00 to 13:20: one run, then the next at 14:00.
    clock.set('2026-06-15T13:20:00Z');
    const ran = mine(await runDueSchedules({ ctx: ctx(), deps }));
    expect(ran).toHaveLength(1);
    expect(ran[0]!.run).toMatchObject({ trigger: 'schedule', outcome: 'imported' });
    expect(ran[0]!.run.dueAt!.toISOString()).toBe('2026-06-15T10:00:00.000Z');
    expect(mine(await runDueSchedules({ ctx: ctx(), deps }))).toHaveLength(0);
    expect((await getSchedule({ ctx: ctx(), ref: schedule.id })).nextRunAt.toISOString()).toBe(
      '2026-06-15T14:00:00.000Z',
    );
    await removeSchedule({ ctx: ctx(), ref: schedule.id });
  });

  it('retries a failing source with backoff, shows its last error, and recovers', async () => {
    clock.set('2026-06-15T09:30:00Z');
    const { schedule } = await add({ every: 'daily 10:00' });
    const due = async () =>
      (await runDueSchedules({ ctx: ctx(), deps })).filter((r) => r.run.scheduleId === schedule.id);
    const state = () => getSchedule({ ctx: ctx(), ref: schedule.id });
    sheetStatus = 503;
    clock.set('2026-06-15T10:00:00Z');
    expect((await due())[0]!.run).toMatchObject({ outcome: 'failed', errorCode: 'http_error' });
    let s = await state();
    expect(s).toMatchObject({ failures: 1 });
    expect(s.lastError).toMatch(/HTTP 503/);
    expect(s.nextRunAt.toISOString()).toBe('2026-06-15T10:01:00.000Z');
    clock.set('2026-06-15T10:01:00Z');
    expect((await due())[0]!.run.outcome).toBe('failed');
    s = await state();
    expect(s.failures).toBe(2);
    expect(s.nextRunAt.toISOString()).toBe('2026-06-15T10:03:00.000Z');
    sheetStatus = 200;
    clock.set('2026-06-15T10:03:00Z');
    expect((await due())[0]!.run.outcome).toBe('imported');
    s = await state();
    expect(s).toMatchObject({ failures: 0, lastError: null });
    expect(s.nextRunAt.toISOString()).toBe('2026-06-16T10:00:00.000Z');
    await removeSchedule({ ctx: ctx(), ref: schedule.id });
  });

  it('records a run left running by a process that stopped as interrupted', async () => {
    clock.set('2026-06-15T09:30:00Z');
    const { schedule } = await add({ every: 'daily 23:00' });
    await database.query(
      sql`insert into schedule_runs (schedule_id, trigger, started_at, outcome) values (${schedule.id}, 'schedule', ${'2026-06-15T07:00:00Z'}, 'running'), (${schedule.id}, 'manual', ${'2026-06-15T09:00:00Z'}, 'running')`,
    );
    await runDueSchedules({ ctx: ctx(), deps });
    const { runs } = await scheduleHistory({ ctx: ctx(), ref: schedule.id });
    // The one started 2.5 hours ago is over; the one of 30 minutes ago may still be running.
    expect(runs.map((r) => [r.trigger, r.outcome, r.errorCode])).toEqual([
      ['manual', 'running', null],
      ['schedule', 'failed', 'interrupted'],
    ]);
    await removeSchedule({ ctx: ctx(), ref: schedule.id });
  });

  it('skips a paused schedule; resuming counts from now; removing keeps the uploads', async () => {
    clock.set('2026-06-15T09:30:00Z');
    const { schedule } = await add({ every: 'hourly' });
    await updateSchedule({ ctx: ctx(), ref: schedule.name, patch: { paused: true } });
    clock.set('2026-06-15T12:30:00Z');
    const due = async () =>
      (await runDueSchedules({ ctx: ctx(), deps })).filter((r) => r.run.scheduleId === schedule.id);
    expect(await due()).toHaveLength(0);
    const resumed = await updateSchedule({ ctx: ctx(), ref: schedule.name, patch: { paused: false } });
    expect(resumed.nextRunAt.toISOString()).toBe('2026-06-15T13:00:00.000Z');
    const { run } = await runSchedule({ ctx: ctx(), deps, schedule: resumed, trigger: 'manual' });
    await removeSchedule({ ctx: ctx(), ref: schedule.name });
    await expect(getSchedule({ ctx: ctx(), ref: schedule.name })).rejects.toThrow(/No schedule/);
    const uploads = await database.query(sql`select id from uploads where id = ${run.uploadId}`);
    expect(uploads).toHaveLength(1);
  });
});
