import { type SQL, sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sampleDelivery } from '../../connectors/calltracking/calltrackingmetrics.fixture.ts';
import type { Database } from '../../src/db/client.ts';
import { processWebhookEvents } from '../../src/services/webhook-processor.ts';
import { testClock, testContext } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { addAccount, addGoal } from '../helpers/submit.ts';
import { clickId, events, signedCtm, webhookApp } from './helpers.ts';

/*
 * The processor dies (here: its database fails one chosen statement) between any two of its steps; the
 * next run finishes the batch: each call makes exactly one conversion, no event is lost or done twice.
 */

const secret = 'resume-secret';
let database: Database;
const clock = testClock('2026-11-30T12:00:00Z');
let t: Awaited<ReturnType<typeof webhookApp>>;
let path: string;

beforeAll(async () => {
  database = await createTestDatabase();
  await addAccount(database);
  await addGoal(database, { name: 'Phone call' });
  t = await webhookApp(database, clock.now);
  ({ path } = await t.addSource({
    provider: 'calltrackingmetrics',
    name: 'CTM',
    goal: 'Phone call',
    secret,
  }));
});
afterAll(async () => database?.close());
beforeEach(async () => {
  await database.query(sql`delete from webhook_events`);
  await database.query(sql`delete from adjustments`);
  await database.query(sql`delete from conversions`);
});

/** The same database, whose `query` fails once on the first statement whose text matches `at`. */
const dialect = new PgDialect();

function failingOnce(at: RegExp): Database {
  let failed = false;
  return {
    ...database,
    query: <T extends Record<string, unknown>>(statement: SQL) => {
      const text = dialect.sqlToQuery(statement).sql;
      if (!failed && at.test(text)) {
        failed = true;
        return Promise.reject(new Error(`injected failure at ${at}`));
      }
      return database.query<T>(statement);
    },
  };
}

async function receive(ids: string[]) {
  for (const id of ids) {
    const { body } = sampleDelivery({
      callId: id,
      msclkid: clickId(id),
      startUtc: new Date('2026-11-29T09:00:00Z'),
      durationSec: 90,
    });
    expect((await t.app.request(path, signedCtm(secret, body, clock.now()))).status).toBe(200);
  }
}

async function conversionsPerCall() {
  return database.query<{ source_ref: string; n: number }>(
    sql`select source_ref, count(*)::int as n from conversions group by source_ref order by source_ref`,
  );
}

describe('processor resumes after dying mid-batch', () => {
  it.each([
    ['after staging, before linking the events', /update webhook_events e\s+set upload_id/],
    ['after linking, before the checks (upload still previewing)', /with d as materialized/],
    [
      'after the apply, before the outcomes were written',
      /set state = 'processed', processed_at = .*\s+outcome = case/,
    ],
  ])('%s', async (_, at) => {
    await receive(['r1', 'r2', 'r3']);
    const broken = testContext(failingOnce(at), clock.now);
    await expect(processWebhookEvents({ ctx: broken })).rejects.toThrow('injected failure');
    // The dead processor's lease runs out; the next one takes the source over.
    clock.advance(10 * 60_000);
    const report = await processWebhookEvents({ ctx: t.ctx });
    expect(report.outcomes).toEqual({ conversion: 3 });
    expect(await conversionsPerCall()).toEqual([
      { source_ref: 'call:calltrackingmetrics:r1', n: 1 },
      { source_ref: 'call:calltrackingmetrics:r2', n: 1 },
      { source_ref: 'call:calltrackingmetrics:r3', n: 1 },
    ]);
    const all = await events(database);
    expect(
      all.every((e) => e.state === 'processed' && e.outcome === 'conversion' && e.conversion_id !== null),
    ).toBe(true);
  });

  it('a live lease keeps a second processor off the source', async () => {
    await receive(['l1']);
    await database.query(
      sql`update webhook_sources set processing_until = ${new Date(clock.now().getTime() + 60_000).toISOString()}::timestamptz`,
    );
    expect(await processWebhookEvents({ ctx: t.ctx })).toEqual({ events: 0, outcomes: {} });
    clock.advance(61_000);
    expect(await processWebhookEvents({ ctx: t.ctx })).toEqual({ events: 1, outcomes: { conversion: 1 } });
  });
});
