import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleDelivery } from '../../connectors/calltracking/calltrackingmetrics.fixture.ts';
import { signCtm } from '../../connectors/calltracking/calltrackingmetrics.ts';
import { openDatabase } from '../../src/db/client.ts';
import { processWebhookEvents } from '../../src/services/webhook-processor.ts';
import { cliEnvironment, cliTestTimeoutMs, runCli } from '../helpers/cli.ts';
import { startServe } from '../helpers/serve.ts';
import { newSecretKey } from '../helpers/submitter-process.ts';
import { clickId } from './helpers.ts';

/*
 * A real `closeloop serve` killed with SIGKILL while signed webhooks pour in: every webhook it answered
 * 200 is in the database afterwards (stored ⊇ acknowledged), and each becomes exactly one conversion,
 * whatever the processor was doing at the moment of the kill.
 */

const secret = 'kill-test-secret';
let env: Record<string, string>;
let cleanup: () => Promise<void>;
let path: string;

beforeAll(async () => {
  ({ env, cleanup } = await cliEnvironment());
  env = { ...env, CLOSELOOP_SECRET_KEY: newSecretKey(), CTM_SECRET: secret };
  expect((await runCli(['goals', 'add', '--name', 'Phone call'], env)).code).toBe(0);
  const added = await runCli(
    [
      'webhooks',
      'add',
      'calltrackingmetrics',
      '--name',
      'CTM',
      '--goal',
      'Phone call',
      '--secret-env',
      'CTM_SECRET',
      '--json',
    ],
    env,
  );
  expect(added.stderr).toBe('');
  ({ path } = JSON.parse(added.stdout));
}, 2 * cliTestTimeoutMs);
afterAll(() => cleanup());

describe('kill -9 under load', () => {
  it(
    'loses no acknowledged webhook, and each becomes one conversion',
    async () => {
      const serve = await startServe(env);
      const acknowledged = new Set<string>();
      let next = 0;
      let stop = false;
      const start = new Date(Date.now() - 2 * 3600_000);
      const worker = async () => {
        while (!stop) {
          const callId = `k${next++}`;
          const { body } = sampleDelivery({
            callId,
            msclkid: clickId(callId),
            startUtc: start,
            durationSec: 60,
          });
          const time = String(Math.floor(Date.now() / 1000));
          try {
            const res = await fetch(`${serve.base}${path}`, {
              method: 'POST',
              headers: {
                'content-type': 'application/json',
                'x-ctm-time': time,
                'x-ctm-signature': signCtm(secret, time, body),
              },
              body,
            });
            if (res.status === 200) acknowledged.add(callId);
            else await res.body?.cancel();
          } catch {
            // The connection died with the process: not acknowledged.
          }
        }
      };
      const workers = Array.from({ length: 16 }, worker);
      // Killed in the middle of the load: after 100 acknowledged webhooks, or 30 s on a very busy machine.
      const deadline = Date.now() + 30_000;
      while (acknowledged.size < 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      serve.child.kill('SIGKILL');
      stop = true;
      await Promise.all(workers);
      expect(await serve.exited).toBeNull();
      expect(acknowledged.size).toBeGreaterThanOrEqual(10);

      const database = await openDatabase(
        env.DATABASE_URL
          ? { kind: 'postgres', url: env.DATABASE_URL }
          : { kind: 'pglite', dataDir: env.CLOSELOOP_DATA_DIR! },
      );
      try {
        const stored = new Set(
          (await database.query<{ id: string }>(sql`select provider_call_id as id from webhook_events`)).map(
            (r) => r.id,
          ),
        );
        const lost = [...acknowledged].filter((id) => !stored.has(id));
        expect(lost, `${lost.length} of ${acknowledged.size} acknowledged webhooks not stored`).toEqual([]);
        // The processor (here in this process, after the killed one's lease ran out) finishes the work.
        const later = new Date(Date.now() + 10 * 60_000);
        await processWebhookEvents({ ctx: { database, customerId: 'default', now: () => later } });
        const [counts] = await database.query<{
          events: number;
          pending: number;
          calls: number;
          conversions: number;
        }>(sql`
        select (select count(*)::int from webhook_events) as events,
               (select count(*)::int from webhook_events where state = 'pending') as pending,
               (select count(distinct provider_call_id)::int from webhook_events) as calls,
               (select count(*)::int from conversions where source = 'call' and state <> 'duplicate') as conversions`);
        expect(counts!.pending).toBe(0);
        expect(counts!.conversions).toBe(counts!.calls);
        expect(counts!.events).toBe(counts!.calls);
      } finally {
        await database.close();
      }
    },
    4 * cliTestTimeoutMs,
  );
});
