import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { serve } from '@hono/node-server';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/client.ts';
import { createEmulator, type Emulator } from '../../src/msads/emulator/index.ts';
import { paths } from '../../src/msads/wire.ts';
import { createPostgresDatabaseUrl } from '../helpers/db.ts';
import { addGoal, queueConversions, states } from '../helpers/submit.ts';
import {
  finished,
  newSecretKey,
  type SubmitterProcess,
  startSubmitter,
  submitterEnv,
  until,
} from '../helpers/submitter-process.ts';

/*
 * Crash safety needs real processes on a real PostgreSQL: a submitter is killed with SIGKILL mid-batch
 * (no handler runs, its claim stays in the ledger) and another one, started later, must finish the job
 * with every conversion recorded once. The emulator runs in this process on a loopback port, so the
 * test can see each call arrive and decide how it ends.
 */

const customerId = '1000000';
const goalName = 'Phone sale';
const dayAgo = () => new Date(Date.now() - 86_400_000);

interface Rig {
  database: Database;
  emulator: Emulator;
  goalId: string;
  env: (extra?: Record<string, string>) => Record<string, string>;
}

const cleanups: (() => Promise<void>)[] = [];
const processes: SubmitterProcess[] = [];

/** A fresh database and emulator (ready goal on both sides, a refresh token) for one test. */
async function rig(latencyMs: number): Promise<Rig> {
  const pg = await createPostgresDatabaseUrl();
  // One connection: endDeadConnections ends every other one on this database.
  const database = await openDatabase({ kind: 'postgres', url: pg.url, max: 1 });
  cleanups.push(async () => {
    await database.close();
    await pg.drop();
  });
  const emulator = createEmulator({ latencyMs });
  const remote = emulator.addGoal({ customerId, name: goalName, scope: 'Customer', createdAt: dayAgo() });
  const goalId = await addGoal(database, { name: goalName, msadsGoalId: remote.id, readyAt: dayAgo() });
  const { server, port } = await new Promise<{ server: ReturnType<typeof serve>; port: number }>(
    (resolve) => {
      const s = serve({ fetch: emulator.app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
        resolve({ server: s, port: info.port }),
      );
    },
  );
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Calls left hanging by a timeout fault must not hold the close.
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  );
  const url = `http://127.0.0.1:${port}`;
  const refreshToken = emulator.issueRefreshToken();
  const secretKey = newSecretKey();
  return {
    database,
    emulator,
    goalId,
    env: (extra = {}) =>
      submitterEnv({
        databaseUrl: pg.url,
        secretKey,
        apiBaseUrl: url,
        tokenUrl: `${url}/common/oauth2/v2.0/token`,
        refreshToken,
        customerId,
        // A submitter that cannot make progress for 10 s fails with its log instead of hanging the test.
        extra: { MSADS_CALLS_PER_MINUTE: '6000', SUBMIT_WORKER_MAX_IDLE_MS: '10000', ...extra },
      }),
  };
}

function spawnSubmitter(env: Record<string, string>): SubmitterProcess {
  const p = startSubmitter(env);
  processes.push(p);
  return p;
}

/** Apply calls the emulator has answered (it records a request once its answer is sent). */
const answered = (emulator: Emulator) =>
  emulator.requests.filter((r) => r.path === paths.applyOfflineConversions).length;

/** API calls that arrived and are not answered yet (`stats().calls` counts arrivals, not token requests). */
const inFlight = (emulator: Emulator) =>
  emulator.stats().calls - emulator.requests.filter((r) => r.path.startsWith('/CampaignManagement/')).length;

async function submissionOutcomes(database: Database) {
  const rows = await database.query<{ outcome: string; n: number; accepted: number }>(sql`
    select outcome, count(*)::int as n, sum(accepted)::int as accepted from submissions group by outcome`);
  return {
    count: Object.fromEntries(rows.map((r) => [r.outcome, Number(r.n)])) as Record<string, number>,
    /** Rows the calls say they had accepted. */
    accepted: rows.reduce((sum, r) => sum + Number(r.accepted), 0),
  };
}

/**
 * Every accepted row names the call that carried it, and each call's `accepted` is the number of rows
 * naming it: a call's answer and its rows are recorded in one transaction, so a kill leaves both or
 * neither. Returns the calls that disagree.
 */
async function callsThatDisagree(database: Database) {
  const [orphans] = await database.query<{ n: number }>(sql`
    select count(*)::int as n from conversions c left join submissions s on s.id = c.submission_id
     where c.state = 'accepted' and s.id is null`);
  expect(Number(orphans?.n)).toBe(0);
  const rows = await database.query<{ outcome: string; accepted: number; rows: number }>(sql`
    select s.outcome, s.accepted, count(c.id)::int as rows
      from submissions s left join conversions c on c.submission_id = s.id and c.state = 'accepted'
     group by s.id having s.accepted <> count(c.id)`);
  return rows;
}

/**
 * PostgreSQL still runs a statement the killed process had sent (often the markAccepted of the call
 * answered just before the kill): end its connections, so that what the test reads next is final.
 */
async function endDeadConnections(database: Database) {
  const others = sql`datname = current_database() and pid <> pg_backend_pid()`;
  await database.query(sql`select pg_terminate_backend(pid) from pg_stat_activity where ${others}`);
  await until('the dead connections to close', async () => {
    const [row] = await database.query<{ n: number }>(
      sql`select count(*)::int as n from pg_stat_activity where ${others}`,
    );
    return Number(row?.n) === 0;
  });
}

/**
 * Start a submitter, let one Apply be answered, then make every later call hang (applied first or not,
 * as Microsoft may or may not have stored a batch whose answer never came), and SIGKILL the submitter
 * once a call is hanging. Returns what the dead process left: rows in 'submitting', calls 'sending'.
 */
async function killMidBatch(r: Rig, applyBeforeHang: boolean) {
  const first = spawnSubmitter(r.env());
  await until('the first Apply to be answered', () => answered(r.emulator) >= 1);
  r.emulator.injectFault({
    kind: 'timeout',
    operation: 'conversions',
    rate: 1,
    hangMs: 60_000,
    applyBeforeHang,
  });
  await until('a later Apply to be in flight', () => r.emulator.stats().faults >= 1);
  process.kill(first.pid, 'SIGKILL');
  const exit = await first.exited;
  expect(exit.signal).toBe('SIGKILL');
  r.emulator.clearFaults();
  // The dead process's calls end (its sockets closed) and its last statements are done or undone.
  await until('the emulator to finish the dead calls', () => inFlight(r.emulator) === 0);
  await endDeadConnections(r.database);
  const left = await states(r.database);
  const outcomes = await submissionOutcomes(r.database);
  expect(left.submitting).toBeGreaterThan(0);
  expect(outcomes.count.sending).toBeGreaterThan(0);
  return { left, sending: outcomes.count.sending!, atMicrosoft: r.emulator.conversionSummary().uniqueKeys };
}

/**
 * A second submitter, started once the dead claim is older than SUBMIT_CLAIM_TIMEOUT_MS, sweeps it and
 * drains the rest. Every row ends accepted, recorded by exactly one call; the dead calls are marked
 * abandoned; Microsoft holds each conversion once, and saw again exactly the rows it had stored
 * before the kill without the ledger knowing.
 */
async function restartAndCheck(r: Rig, before: Awaited<ReturnType<typeof killMidBatch>>, rows: number) {
  await delay(1100);
  const second = await finished(spawnSubmitter(r.env({ SUBMIT_CLAIM_TIMEOUT_MS: '1000' })));
  expect(second.report.reclaimed).toBe(before.left.submitting);

  expect(await states(r.database)).toEqual({ accepted: rows });
  const outcomes = await submissionOutcomes(r.database);
  expect(outcomes.count.abandoned).toBe(before.sending);
  expect(outcomes.count.sending).toBeUndefined();
  expect(await callsThatDisagree(r.database)).toEqual([]);
  const summary = r.emulator.conversionSummary();
  expect(summary.uniqueKeys).toBe(rows);
  const resentDuplicates = before.atMicrosoft - (before.left.accepted ?? 0);
  expect(r.emulator.stats().duplicatesIgnored).toBe(resentDuplicates);
  expect(summary.keysReceivedMoreThanOnce).toBe(resentDuplicates);
}

describe('a submitter killed mid-batch (SIGKILL)', () => {
  beforeAll(() => {
    // The submitter processes run TypeScript directly: Node 22's type stripping.
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(22);
  });
  afterAll(async () => {
    for (const p of processes)
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(processes.map((p) => p.exited));
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('leaves its claim; a restart sweeps it and sends those rows, each accepted once (batch never applied)', async () => {
    const r = await rig(400);
    await queueConversions(r.database, { goalId: r.goalId, goalName, count: 5000 });
    const before = await killMidBatch(r, false);
    // The hanging call's rows are claimed here and were never stored by Microsoft.
    expect(before.atMicrosoft).toBeLessThan((before.left.accepted ?? 0) + before.left.submitting!);
    await restartAndCheck(r, before, 5000);
  });

  it('killed after Microsoft applied the batch but before the ledger recorded it: the resend is a duplicate there, one row here', async () => {
    const r = await rig(400);
    await queueConversions(r.database, { goalId: r.goalId, goalName, count: 5000 });
    const before = await killMidBatch(r, true);
    // Microsoft stored rows the ledger still has as 'submitting'.
    expect(before.atMicrosoft).toBeGreaterThan(before.left.accepted ?? 0);
    await restartAndCheck(r, before, 5000);
    expect(r.emulator.stats().duplicatesIgnored).toBeGreaterThan(0);
  });

  it('two submitter processes at once on the same rows: none is sent twice, all are accepted', async () => {
    const r = await rig(100);
    await queueConversions(r.database, { goalId: r.goalId, goalName, count: 3000 });
    const env = r.env();
    const [a, b] = await Promise.all([finished(spawnSubmitter(env)), finished(spawnSubmitter(env))]);

    expect(await states(r.database)).toEqual({ accepted: 3000 });
    expect(a!.report.accepted + b!.report.accepted).toBe(3000);
    expect(r.emulator.conversionSummary()).toEqual({
      count: 3000,
      uniqueKeys: 3000,
      keysReceivedMoreThanOnce: 0,
    });
    expect(a!.report.calls + b!.report.calls).toBe(r.emulator.stats().calls);
    // ⌈3,000 / 1,000⌉ calls: claims of one account take turns across processes, so none splits a batch.
    expect(r.emulator.stats().calls).toBe(3);
    expect((await submissionOutcomes(r.database)).accepted).toBe(3000);
    expect(await callsThatDisagree(r.database)).toEqual([]);
  });
});
