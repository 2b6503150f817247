import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { insertEvents } from '../../src/services/webhook-intake.ts';
import { pruneWebhookEvents, webhookEventRetentionMs } from '../../src/services/webhook-retention.ts';
import { testClock } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { addGoal } from '../helpers/submit.ts';
import { webhookApp } from './helpers.ts';

/*
 * Received calls (the provider's raw request, with the caller's number) are deleted 180 days after they
 * were processed, like upload results; pending ones never, and the ledger keeps what they made.
 */
const clock = testClock('2026-11-30T12:00:00Z');
const day = 86_400_000;
let database: Database;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database?.close());

describe('webhook event retention', () => {
  it('deletes processed events past 180 days, a batch at a time; keeps newer and pending ones', async () => {
    await addGoal(database, { name: 'Phone call' });
    const t = await webhookApp(database, clock.now);
    const { source } = await t.addSource({ provider: 'generic', name: 'Calls', goal: 'Phone call' });
    const event = (callId: string) => ({
      sourceId: source.id,
      receivedAt: clock.now(),
      method: 'POST' as const,
      headers: {},
      body: Buffer.from(`{"callId":"${callId}","caller":"+15550100"}`),
      query: {},
      call: null,
      providerCallId: callId,
    });
    await insertEvents(database, ['old1', 'old2', 'old3', 'edge', 'new', 'pending'].map(event));
    // Each call was received a day before it was processed (the old ones in arrival order, as ids are).
    const processedAt = (callId: string, at: Date) =>
      database.query(sql`update webhook_events set state = 'processed', outcome = 'not_qualifying',
        processed_at = ${at.toISOString()}::timestamptz,
        received_at = ${new Date(Math.min(at.getTime() - day, clock.now().getTime())).toISOString()}::timestamptz
        where provider_call_id = ${callId}`);
    const cut = clock.now().getTime() - webhookEventRetentionMs;
    for (const [i, id] of ['old1', 'old2', 'old3'].entries())
      await processedAt(id, new Date(cut - (5 - i) * day));
    await processedAt('edge', new Date(cut + 1000));
    await processedAt('new', clock.now());
    // 'pending' was received long ago and is still waiting: it stays whatever its age.
    await database.query(
      sql`update webhook_events set received_at = ${new Date(cut - 30 * day).toISOString()}::timestamptz where provider_call_id = 'pending'`,
    );

    expect(webhookEventRetentionMs).toBe(180 * day);
    expect(await pruneWebhookEvents(database, clock.now(), 2)).toBe(3);
    const left = await database.query<{ provider_call_id: string }>(
      sql`select provider_call_id from webhook_events order by id`,
    );
    expect(left.map((r) => r.provider_call_id)).toEqual(['edge', 'new', 'pending']);
    expect(await pruneWebhookEvents(database, clock.now())).toBe(0);
  });
});
