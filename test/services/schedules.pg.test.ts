import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/client.ts';
import { createSecrets } from '../../src/secrets.ts';
import { createGoal } from '../../src/services/goals.ts';
import { runDueSchedules } from '../../src/services/schedule-runner.ts';
import { addSchedule, type ScheduleDeps } from '../../src/services/schedules.ts';
import { testClock, testContext } from '../helpers/context.ts';
import { createPostgresDatabaseUrl } from '../helpers/db.ts';
import { startHttpServer, type TestServer } from '../helpers/source-servers.ts';

// Two connection pools on one PostgreSQL stand for two `closeloop serve` processes whose schedulers
// wake at the same moment for the same due run.
let first: Database;
let second: Database;
let drop: () => Promise<void>;
let server: TestServer;
let requests = 0;
let round = 0;
const clock = testClock('2026-06-01T00:00:00Z');
const deps: ScheduleDeps = {
  secrets: createSecrets(randomBytes(32)),
  limits: { policy: { allowPrivate: true }, maxBytes: 1024 * 1024, timeoutMs: 5000 },
};

beforeAll(async () => {
  const created = await createPostgresDatabaseUrl();
  drop = created.drop;
  first = await openDatabase({ kind: 'postgres', url: created.url, max: 4 });
  second = await openDatabase({ kind: 'postgres', url: created.url, max: 4 });
  server = await startHttpServer((_req, res) => {
    requests++;
    // Each round's file differs, so a second run would import again rather than find it unchanged.
    res.end(
      `Microsoft Click ID,Conversion Name,Conversion Time\n${round.toString(16).padStart(32, 'c')},Purchase,2026-06-10 10:00:00\n`,
    );
  });
  await createGoal({ ctx: testContext(first, clock.now), input: { name: 'Purchase' } });
});
afterAll(async () => {
  await server?.close();
  await first?.close();
  await second?.close();
  await drop?.();
});

describe('scheduled imports from two processes on one PostgreSQL', () => {
  it('runs each due time exactly once: one fetch, one run, one upload', async () => {
    clock.set('2026-06-15T09:30:00Z');
    const { schedule } = await addSchedule({
      ctx: testContext(first, clock.now),
      deps,
      input: { name: 'shared sheet', url: `${server.origin}/sheet.csv`, every: 'hourly' },
    });
    for (round = 1; round <= 6; round++) {
      requests = 0;
      clock.set(`2026-06-15T${String(9 + round).padStart(2, '0')}:00:00Z`);
      const [a, b] = await Promise.all([
        runDueSchedules({ ctx: testContext(first, clock.now), deps }),
        runDueSchedules({ ctx: testContext(second, clock.now), deps }),
      ]);
      expect(a.length + b.length).toBe(1);
      expect(requests).toBe(1);
    }
    const runs = await first.query<{ n: number; uploads: number }>(
      sql`select count(*)::int as n, count(distinct upload_id)::int as uploads from schedule_runs where schedule_id = ${schedule.id}`,
    );
    expect(runs[0]).toEqual({ n: 6, uploads: 6 });
    const ledger = await first.query<{ n: number }>(sql`select count(*)::int as n from conversions`);
    expect(ledger[0]!.n).toBe(6);
  });
});
