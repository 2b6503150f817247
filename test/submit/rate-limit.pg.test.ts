import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.ts';
import { createEmulator } from '../../src/msads/emulator/index.ts';
import { paths } from '../../src/msads/wire.ts';
import { createPostgresDatabaseUrl } from '../helpers/db.ts';
import { serveEmulator } from '../helpers/emulator-server.ts';
import { addGoal, queueConversions, states } from '../helpers/submit.ts';
import {
  finished,
  newSecretKey,
  type SubmitterProcess,
  startSubmitter,
  submitterEnv,
} from '../helpers/submitter-process.ts';

/*
 * Microsoft allows an account N calls a minute and answers 117 past it. Two submitter processes share
 * the account's schedule through the database (src/submit/schedule.ts): together they start a call no
 * sooner than 60/N s after the previous one, whichever process made it. The test times the calls as they
 * reach the emulator: with N = 30, six calls take 10 s, and a schedule that does not hold (each
 * process on its own, or no spacing) sends them within a second.
 */

const callsPerMinute = 30;
const spacingMs = 60_000 / callsPerMinute;
const calls = 6;
const rows = (calls - 1) * 1000 + 500;
const customerId = '1000000';
const goalName = 'Phone sale';

const cleanups: (() => Promise<void>)[] = [];
const processes: SubmitterProcess[] = [];
afterAll(async () => {
  for (const p of processes)
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await Promise.all(processes.map((p) => p.exited));
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('the per-account rate limit, shared by two submitter processes', () => {
  it(`keeps their calls together ${spacingMs / 1000} s apart at ${callsPerMinute} calls a minute: no 117, at most ${callsPerMinute} in any minute`, async () => {
    const pg = await createPostgresDatabaseUrl();
    const database = await openDatabase({ kind: 'postgres', url: pg.url, max: 1 });
    cleanups.push(async () => {
      await database.close();
      await pg.drop();
    });
    const emulator = createEmulator({ callsPerMinute });
    const dayAgo = new Date(Date.now() - 86_400_000);
    const remote = emulator.addGoal({ customerId, name: goalName, scope: 'Customer', createdAt: dayAgo });
    const goalId = await addGoal(database, { name: goalName, msadsGoalId: remote.id, readyAt: dayAgo });
    await queueConversions(database, { goalId, goalName, count: rows });

    const arrivals: number[] = [];
    const server = await serveEmulator(emulator, (request) => {
      if (new URL(request.url).pathname === paths.applyOfflineConversions) arrivals.push(performance.now());
    });
    cleanups.push(server.close);
    const env = submitterEnv({
      databaseUrl: pg.url,
      secretKey: newSecretKey(),
      apiBaseUrl: server.url,
      tokenUrl: server.tokenUrl,
      refreshToken: emulator.issueRefreshToken(),
      customerId,
      extra: {
        MSADS_CALLS_PER_MINUTE: String(callsPerMinute),
        SUBMIT_POLL_MS: '100',
        SUBMIT_WORKER_MAX_IDLE_MS: '20000',
      },
    });
    const started = [startSubmitter(env), startSubmitter(env)];
    processes.push(...started);
    const [a, b] = await Promise.all(started.map(finished));

    expect(await states(database)).toEqual({ accepted: rows });
    expect(arrivals).toHaveLength(calls);
    // Both processes sent: the spacing below is between calls of different processes too.
    expect(a!.report.calls).toBeGreaterThan(0);
    expect(b!.report.calls).toBeGreaterThan(0);
    expect(a!.report.calls + b!.report.calls).toBe(calls);

    const stats = emulator.stats();
    expect(stats.throttled).toBe(0);
    expect(stats.maxCallsInAnyMinute).toBeLessThanOrEqual(callsPerMinute);
    // Each call starts 60/N s (×1.02) after the one before; a quarter of that is left for the time
    // between a process's slot and its request reaching the emulator (a claim, a busy machine).
    const gaps = arrivals.slice(1).map((t, i) => Math.round(t - arrivals[i]!));
    for (const gap of gaps)
      expect(gap, `gaps between calls: ${gaps.join(', ')} ms`).toBeGreaterThanOrEqual(spacingMs * 0.75);
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThanOrEqual((calls - 1) * spacingMs * 0.95);
  }, 60_000);
});
