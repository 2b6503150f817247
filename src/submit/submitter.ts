import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import PQueue from 'p-queue';
import type { SubmitConfig } from '../config.ts';
import type { Database } from '../db/client.ts';
import { errorStack, type Logger } from '../log.ts';
import type { CallResult, Fault, MsadsClient } from '../msads/client.ts';
import { maxAdjustmentsPerCall, maxItemsPerCall, type WireApplyResponse } from '../msads/wire.ts';
import { type GoalAccount, goalErrors, pushGoals, readyGoalIds } from '../services/msads-goals.ts';
import { createTurns } from '../turns.ts';
import { isThrottlePause, recordAnswer, throttlePauseMs } from './answer.ts';
import { expireDue, releaseHeld, sweepStaleClaims } from './maintenance.ts';
import { type ClaimedBatch, claimBatch, hasDue, type LedgerTable } from './outbox.ts';
import { toWireAdjustment, toWireConversion } from './payload.ts';
import { type DrainReport, emptyReport, errorChain } from './report.ts';
import { pausedUntil, pauseOf, reserveSlot } from './schedule.ts';
import { endSplit, loneRefusal, newSplit, proveReadable, type Split } from './split.ts';
import { startSubmission, touchClaim } from './submissions.ts';

export { accountErrorPauseMs, throttlePauseMs } from './answer.ts';
export { type DrainReport, emptyReport, errorChain } from './report.ts';

export interface SubmitAccount extends GoalAccount {
  name: string;
  target: 'microsoft' | 'emulator';
  /** Overrides the configured calls per minute for this account. */
  callsPerMinute: number | null;
}

/** An account and its client, or why no client could be made for it (its run fails with that error). */
export type SubmitTarget =
  | { account: SubmitAccount; client: MsadsClient }
  | { account: SubmitAccount; error: Error };

export interface SubmitterOptions {
  database: Database;
  config: SubmitConfig;
  /** The accounts to send through, with their clients; asked again before every round. */
  targets: () => Promise<SubmitTarget[]>;
  log: Logger;
  now?: () => Date;
  /** Items per call. @default 1000 (Microsoft rejects more with 5601) */
  batchSize?: number;
  /** Identifies this process in the submissions table. @default "host:pid:random" */
  worker?: string;
  random?: () => number;
}

/** How often held rows are released, stale claims swept and old rows expired by a running submitter. */
export const maintenanceIntervalMs = 30_000;

type Claimed = ClaimedBatch;
type Sendable = Extract<SubmitTarget, { client: MsadsClient }>;

/**
 * The submitter: per account, claim due rows from the ledger, send them in calls of up to 1,000, and
 * record what Microsoft said, row by row. Calls per account are limited in-process by p-queue
 * (concurrency, interval cap) and across processes by the schedule held in the database.
 */
export function createSubmitter(options: SubmitterOptions) {
  const { database, config, log } = options;
  const now = options.now ?? (() => new Date());
  const random = options.random ?? Math.random;
  const batchSize = Math.min(options.batchSize ?? maxItemsPerCall, maxItemsPerCall);
  const worker = options.worker ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 4)}`;
  const policy = {
    maxAttempts: config.maxAttempts,
    backoffBaseMs: config.backoffBaseMs,
    backoffCapMs: config.backoffCapMs,
  };

  async function sleepUntil(at: Date, signal: AbortSignal | undefined) {
    const ms = at.getTime() - now().getTime();
    if (ms > 0) await delay(ms, undefined, { signal }).catch(() => {});
  }

  let maintainedAt = 0;
  /**
   * Sweep stale claims, release held rows that are due, expire what is too old: at the first round and
   * then at most every `maintenanceIntervalMs` (the expiry looks at every queued row).
   */
  async function maintain(report: DrainReport) {
    const at = now();
    if (maintainedAt !== 0 && at.getTime() - maintainedAt < maintenanceIntervalMs) return;
    maintainedAt = at.getTime();
    report.reclaimed += await sweepStaleClaims(database, {
      now: at,
      claimTimeoutMs: config.claimTimeoutMs,
      maxAttempts: config.maxAttempts,
    });
    report.released += await releaseHeld(database, at);
    const { expired, orphaned } = await expireDue(database, at);
    report.expired += expired;
    report.rejected += orphaned;
  }

  /**
   * One call with part of a claim, and its answer recorded. A batch refused whole for what it carries is
   * halved, each half sent in turn, until the rows Microsoft objects to are alone (see split.ts).
   */
  async function send(
    target: Sendable,
    claimed: Claimed,
    claimId: string,
    submissionId: string,
    report: DrainReport,
    signal: AbortSignal | undefined,
    split: Split,
    maxPauseWaitMs: number,
  ): Promise<void> {
    const { account, client } = target;
    const t: LedgerTable = claimed.table;
    const ids = claimed.rows.map((r) => r.id);
    report.calls++;
    const result: CallResult<WireApplyResponse> =
      claimed.table === 'conversions'
        ? await client.applyOfflineConversions(claimed.rows.map(toWireConversion))
        : await client.applyOfflineConversionAdjustments(claimed.rows.map(toWireAdjustment));
    const deps = { database, log, policy, random, report };
    const at = now();
    const answer = await recordAnswer(deps, {
      account,
      table: t,
      ids,
      result,
      claimId,
      submissionId,
      at,
    });
    const splitInput = { account, table: t, claimId, at };
    if (answer.kind === 'recorded') {
      if (answer.readable && !split.readable) await proveReadable(deps, split, splitInput);
      // A paused account sends no more parts now; they go back to the queue when the split ends.
      if (answer.paused) split.stopped = true;
      return;
    }
    if (answer.kind === 'unreadable') {
      await loneRefusal(deps, split, {
        ...splitInput,
        suspect: { id: ids[0]!, submissionId, fault: answer.fault },
      });
      return;
    }
    const half = Math.ceil(claimed.rows.length / 2);
    const parts: Claimed[] =
      claimed.table === 'conversions'
        ? [
            { table: 'conversions', rows: claimed.rows.slice(0, half) },
            { table: 'conversions', rows: claimed.rows.slice(half) },
          ]
        : [
            { table: 'adjustments', rows: claimed.rows.slice(0, half) },
            { table: 'adjustments', rows: claimed.rows.slice(half) },
          ];
    for (const part of parts) {
      if (split.stopped || signal?.aborted) return;
      if (!(await waitForSlot(account, signal, maxPauseWaitMs))) {
        split.stopped = true;
        return;
      }
      await touchClaim(database, t, claimId, now());
      const subId = randomUUID();
      await startSubmission(database, {
        id: subId,
        customerId: account.customerId,
        accountId: account.id,
        operation: t,
        worker,
        items: part.rows.length,
        now: now(),
      });
      await send(target, part, claimId, subId, report, signal, split, maxPauseWaitMs);
    }
  }

  /**
   * Claims of one account run one at a time in this process (across processes, claimBatch takes turns
   * through the database): two claims at the same moment would share the rows `skip locked` leaves them.
   */
  const claimOneAtATime = createTurns();

  /**
   * Wait for the account's next call slot. False when the account is paused for longer than the drain
   * waits (`maxPauseWaitMs`): a pause set by another call of this account (an error pauses it for 15
   * minutes) ends this call without sleeping through it. False too when the drain is stopped.
   */
  async function waitForSlot(
    account: SubmitAccount,
    signal: AbortSignal | undefined,
    maxPauseWaitMs: number,
  ): Promise<boolean> {
    const pausedTooLong = async () => {
      const paused = await pausedUntil(database, account.id);
      return paused !== null && paused.getTime() - now().getTime() > maxPauseWaitMs;
    };
    for (;;) {
      const slot = await reserveSlot(database, {
        accountId: account.id,
        callsPerMinute: account.callsPerMinute ?? config.callsPerMinute,
        now: now(),
      });
      // The slot already lies past any pause set before it was taken; only one set while this call
      // waited for its slot can still stand in the way. A slot that far off comes from a pause.
      if (slot.getTime() <= now().getTime()) return true;
      if (slot.getTime() - now().getTime() > maxPauseWaitMs && (await pausedTooLong())) return false;
      await sleepUntil(slot, signal);
      if (signal?.aborted) return false;
      const paused = await pausedUntil(database, account.id);
      if (!paused || paused <= now()) return true;
      if (paused.getTime() - now().getTime() > maxPauseWaitMs) return false;
    }
  }

  /** One API call: wait for the account's next slot, claim up to a batch, send it, record the answer. */
  async function oneCall(
    target: Sendable,
    goalIds: string[],
    report: DrainReport,
    signal: AbortSignal | undefined,
    maxPauseWaitMs: number,
  ): Promise<'sent' | 'empty'> {
    const { account } = target;
    if (!(await hasDue(database, { goalIds, now: now() }))) return 'empty';
    if (!(await waitForSlot(account, signal, maxPauseWaitMs)) || signal?.aborted) return 'empty';
    const claimId = randomUUID();
    const at = now();
    const claimed: Claimed = await claimOneAtATime(account.id, () =>
      claimBatch(database, {
        accountId: account.id,
        goalIds,
        // Microsoft's limit for adjustments is not documented; the conversions' 1,000 is assumed.
        limit: Math.min(batchSize, maxAdjustmentsPerCall),
        submissionId: claimId,
        now: at,
      }),
    );
    if (claimed.rows.length === 0) return 'empty';
    await startSubmission(database, {
      id: claimId,
      customerId: account.customerId,
      accountId: account.id,
      operation: claimed.table,
      worker,
      items: claimed.rows.length,
      now: at,
    });
    const split = newSplit();
    await send(target, claimed, claimId, claimId, report, signal, split, maxPauseWaitMs);
    if (split.suspects.length > 0 || split.stopped)
      await endSplit({ database, log, policy, random, report }, split, {
        account,
        table: claimed.table,
        claimId,
        at: now(),
      });
    return 'sent';
  }

  async function drainAccount(
    target: SubmitTarget,
    report: DrainReport,
    signal: AbortSignal | undefined,
    maxPauseWaitMs: number,
  ) {
    const { account } = target;
    const pausedTooLong = async () => {
      const pause = await pauseOf(database, account.id);
      if (!pause || pause.until.getTime() - now().getTime() <= maxPauseWaitMs) return false;
      if (!report.skippedAccounts.includes(account.name)) report.skippedAccounts.push(account.name);
      const until = pause.until.toISOString();
      if (!isThrottlePause(pause.reason) && !report.pauses.some((p) => p.account === account.name))
        report.pauses.push({ account: account.name, until, reason: pause.reason ?? 'no reason recorded' });
      return true;
    };
    if (await pausedTooLong()) return;
    if ('error' in target) throw target.error;
    const pushed = await pushGoals(database, { account, client: target.client, now: now() });
    report.goalsCreated += pushed.created + pushed.adopted;
    // A goal that takes conversions at once (adopted, or the dry run) frees its held rows now, not at
    // the next maintenance round (up to 30 s later).
    if (pushed.created + pushed.adopted > 0) report.released += await releaseHeld(database, now());
    for (const g of await goalErrors(database, account))
      report.goalErrors.push({ account: account.name, goal: g.name, error: g.error });
    const goalIds = await readyGoalIds(database, account, now());
    if (goalIds.length === 0) return;
    const callsPerMinute = account.callsPerMinute ?? config.callsPerMinute;
    const queue = new PQueue({
      concurrency: config.concurrency,
      interval: 60_000,
      intervalCap: callsPerMinute,
    });
    let exhausted = false;
    let failure: unknown;
    let sent = 0;
    const pump = () => {
      while (
        !exhausted &&
        !signal?.aborted &&
        failure === undefined &&
        queue.size + queue.pending < config.concurrency
      )
        queue
          .add(async () => {
            const r = await oneCall(target, goalIds, report, signal, maxPauseWaitMs);
            if (r === 'empty') exhausted = true;
            else sent++;
          })
          .then(pump, (err) => {
            failure ??= err;
          });
    };
    // A pass ends when a call finds nothing due; but a call still in flight then may make more rows due
    // (an accepted conversion lets its adjustments go). So passes repeat until one sends nothing.
    for (;;) {
      const before = sent;
      exhausted = false;
      pump();
      await queue.onIdle();
      if (failure !== undefined) throw failure;
      // A throttled or refused account waits for the next round, not here.
      if (sent === before || signal?.aborted || (await pausedTooLong())) return;
    }
  }

  /**
   * Send everything due now through every account, then return (`closeloop submit --once`). An account
   * paused for longer than `maxPauseWaitMs` is skipped this time.
   */
  async function drain(
    opts: { signal?: AbortSignal; maxPauseWaitMs?: number; report?: DrainReport } = {},
  ): Promise<DrainReport> {
    // A caller may pass its own report to watch it fill (the CLI's progress line).
    const report = opts.report ?? emptyReport();
    await maintain(report);
    const targets = await options.targets();
    const results = await Promise.allSettled(
      targets.map((t) => drainAccount(t, report, opts.signal, opts.maxPauseWaitMs ?? 2 * throttlePauseMs)),
    );
    for (const [i, r] of results.entries()) {
      if (r.status !== 'rejected') continue;
      const account = targets[i]?.account.name ?? '?';
      const error = errorChain(r.reason);
      const stack = errorStack(r.reason);
      report.accountErrors.push({ account, error, ...(stack ? { stack } : {}) });
      log.error('submitting failed for an account; its rows stay where they were', { account, error });
      log.debug('submitting failed for an account: the stack', { account, stack });
    }
    return report;
  }

  /** `closeloop serve`: drain, wait `pollMs` when there was nothing to send, repeat until the signal. */
  async function run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let report: DrainReport | undefined;
      try {
        report = await drain({ signal, maxPauseWaitMs: config.pollMs });
        if (report.calls > 0 || report.expired > 0)
          log.info('submitted', {
            calls: report.calls,
            accepted: report.accepted,
            rejected: report.rejected,
            retried: report.retried,
            failed: report.failed,
            expired: report.expired,
          });
      } catch (err) {
        log.error('submitter round failed; trying again', err);
      }
      if (!report || report.calls === 0) await delay(config.pollMs, undefined, { signal }).catch(() => {});
    }
  }

  return { drain, run, worker };
}

export type Submitter = ReturnType<typeof createSubmitter>;
export type { Fault };
