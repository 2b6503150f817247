import { sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Config, loadConfig } from '../../src/config.ts';
import type { Database } from '../../src/db/client.ts';
import { resultPage, resultRecord, resultsCsv } from '../../src/ingest/results.ts';
import { createLogger } from '../../src/log.ts';
import { createEmulator } from '../../src/msads/emulator/index.ts';
import { submitBatch } from '../../src/services/api-batches.ts';
import { createGoal } from '../../src/services/goals.ts';
import { queueStatus, statusSetup } from '../../src/services/status.ts';
import { getUpload } from '../../src/services/uploads.ts';
import { openSending } from '../../src/submit/runtime.ts';
import { testContext } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';

/**
 * The dry run a newcomer watches: goal created, conversions imported, and the built-in emulator takes
 * them at the submitter's next round — unless CLOSELOOP_DRY_RUN_GOAL_DELAY asks for Microsoft's wait.
 */

let database: Database;
const ctx = () => testContext(database, () => new Date());
/** An API time (whole seconds, Z) `ms` ago. */
const ago = (ms: number) => new Date(Date.now() - ms).toISOString().replace(/\.\d+Z$/, 'Z');
const click = (c: string) => c.repeat(32);

function config(delay?: string): Config {
  return loadConfig({
    CLOSELOOP_SECRET_KEY: 'a'.repeat(64),
    ...(delay !== undefined ? { CLOSELOOP_DRY_RUN_GOAL_DELAY: delay } : {}),
  });
}

beforeEach(async () => {
  database = await createTestDatabase();
});
afterEach(async () => {
  await database.close();
});

/** A goal, created here only, and conversions posted right after (the goal is not at the emulator yet). */
async function goalAndConversions(items: { clickId: string; clickTime?: string; conversionTime?: string }[]) {
  await createGoal({ ctx: ctx(), input: { name: 'Purchase' } });
  const batch = await submitBatch({
    ctx: ctx(),
    kind: 'conversions',
    body: {
      conversions: items.map((i) => ({
        clickId: i.clickId,
        conversionName: 'Purchase',
        conversionTime: i.conversionTime ?? ago(3600_000),
        ...(i.clickTime ? { clickTime: i.clickTime } : {}),
      })),
    },
  });
  return getUpload({ ctx: ctx(), id: batch.requestId });
}

async function results(uploadId: string) {
  const upload = await getUpload({ ctx: ctx(), id: uploadId });
  return (await resultPage(database, upload)).map(resultRecord);
}

describe('the dry run takes conversions at once', () => {
  it('sends rows held for a new goal at the next round and shows them accepted with the TrackingId', async () => {
    const upload = await goalAndConversions([{ clickId: click('a') }, { clickId: click('b') }]);
    // Not at the emulator yet: held on the guess that the goal needs Microsoft's 2 hours.
    const before = await results(upload.id);
    expect(before.map((r) => r.status)).toEqual(['held', 'held']);
    expect(before[0]?.notes).toMatch(
      /^held until \d{4}-\d\d-\d\d \d\d:\d\d UTC: Microsoft takes conversions for a goal 2 hours/,
    );

    const sending = await openSending(ctx(), config(), createLogger('silent'));
    const report = await sending.submitter.drain();
    expect(report).toMatchObject({ goalsCreated: 1, released: 2, calls: 1, accepted: 2 });
    expect(sending.emulator.stats().accepted).toBe(2);

    const [call] = await database.query<{ tracking_id: string }>(sql`select tracking_id from submissions`);
    expect(call?.tracking_id).toMatch(/^[0-9a-f-]{36}$/);
    const after = await results(upload.id);
    for (const r of after) {
      expect(r).toMatchObject({ status: 'accepted', notes: null, trackingId: call?.tracking_id });
      expect(r.acceptedAtUtc).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
    let csv = '';
    for await (const chunk of resultsCsv(database, upload)) csv += chunk;
    const [header, first] = csv.trim().split('\r\n');
    expect(header).toMatch(/,Accepted At \(UTC\),Tracking Id$/);
    expect(first).toMatch(new RegExp(`,accepted,.*,${after[0]?.acceptedAtUtc},${call?.tracking_id}$`));
  });

  it('keeps a row held while its click is under 1 hour old, and says so', async () => {
    const clickTime = new Date(Math.floor((Date.now() - 10 * 60_000) / 1000) * 1000);
    const upload = await goalAndConversions([
      {
        clickId: click('c'),
        clickTime: clickTime.toISOString().replace('.000Z', 'Z'),
        conversionTime: ago(5 * 60_000),
      },
      { clickId: click('d') },
    ]);
    const sending = await openSending(ctx(), config(), createLogger('silent'));
    const report = await sending.submitter.drain();
    expect(report).toMatchObject({ accepted: 1, released: 1 });
    const [held, sent] = await results(upload.id);
    expect(sent?.status).toBe('accepted');
    expect(held?.status).toBe('held');
    const until = new Date(clickTime.getTime() + 3600_000).toISOString();
    expect(held?.notes).toBe(
      `held until ${until.slice(0, 10)} ${until.slice(11, 16)} UTC: Microsoft takes a conversion 1 hour after its click; closeloop sends it then.`,
    );
    const [row] = await database.query<{ held_until: Date }>(
      sql`select held_until from conversions where state = 'held'`,
    );
    expect(new Date(row!.held_until).getTime()).toBe(clickTime.getTime() + 3600_000);
  });

  it('waits like Microsoft with CLOSELOOP_DRY_RUN_GOAL_DELAY=2h: the goal is created, nothing is sent', async () => {
    const upload = await goalAndConversions([{ clickId: click('e') }]);
    const sending = await openSending(ctx(), config('2h'), createLogger('silent'));
    const started = Date.now();
    const report = await sending.submitter.drain();
    expect(report).toMatchObject({ goalsCreated: 1, calls: 0, accepted: 0 });
    expect(sending.emulator.stats().itemsReceived).toBe(0);
    const [row] = await results(upload.id);
    expect(row?.status).toBe('held');
    const status = await queueStatus({ ctx: ctx(), setup: statusSetup(config('2h')) });
    const goal = status.accounts[0]?.goals[0];
    expect(goal?.held).toEqual([
      expect.objectContaining({ reason: 'goal', rows: 1, why: 'goal under 2 hours old at Microsoft' }),
    ]);
    const release = new Date(goal!.held[0]!.nextReleaseAt).getTime();
    expect(release).toBeGreaterThanOrEqual(started + 2 * 3600_000 - 1000);
    expect(release).toBeLessThanOrEqual(Date.now() + 2 * 3600_000);
    // And the emulator itself waits that long: a goal it created just now answers 5615.
    await database.query(sql`update conversions set state = 'queued', held_until = null`);
    await database.query(sql`update goals set ready_at = now() - interval '1 minute'`);
    const again = await sending.submitter.drain();
    expect(again).toMatchObject({ calls: 1, accepted: 0, held: 1 });
    const [after] = await results(upload.id);
    expect(after?.errorCode).toBe('5615');
    expect(after?.notes).toMatch(/UTC: Microsoft answered 5615/);
  });
});

describe('CLOSELOOP_DRY_RUN_GOAL_DELAY', () => {
  it('reaches the emulator as goalWarmUpMs, which refuses a value that is not a whole number of ms ≥ 0', () => {
    expect(() => createEmulator({ goalWarmUpMs: -1 })).toThrow(
      'Emulator option goalWarmUpMs must be a whole number of ms ≥ 0; got -1',
    );
    expect(() => createEmulator({ goalWarmUpMs: 0 })).not.toThrow();
  });

  it('reads 0, seconds, minutes and hours up to 2 hours, and refuses anything else by name', () => {
    expect(config().dryRunGoalDelayMs).toBe(0);
    expect(config('0').dryRunGoalDelayMs).toBe(0);
    expect(config('90s').dryRunGoalDelayMs).toBe(90_000);
    expect(config('15m').dryRunGoalDelayMs).toBe(900_000);
    expect(config('2h').dryRunGoalDelayMs).toBe(7_200_000);
    for (const bad of ['3h', '7200', 'soon', '-1m'])
      expect(() => config(bad)).toThrow(
        `CLOSELOOP_DRY_RUN_GOAL_DELAY: a delay from 0 (goals ready at once) to 2h (Microsoft's rule), e.g. 0, 90s, 15m, 2h (got "${bad}")`,
      );
  });
});
