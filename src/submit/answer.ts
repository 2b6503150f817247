import { type Database, queryVia } from '../db/client.ts';
import type { Logger } from '../log.ts';
import type { CallResult, Fault } from '../msads/client.ts';
import type { WireApplyResponse } from '../msads/wire.ts';
import type { LedgerTable } from './ledger-sql.ts';
import { throttledReason } from './pause-reason.ts';
import { goalNotReadyHoldMs, itemOutcomes } from './payload.ts';
import type { DrainReport } from './report.ts';
import { clearPause, pauseAccount } from './schedule.ts';
import { finishSubmission, type SubmissionResult } from './submissions.ts';
import type { SubmitAccount } from './submitter.ts';
import { markAccepted, markRetry, markVerdicts, type RetryPolicy, release } from './verdicts.ts';

/** Microsoft's advice on 117: resubmit after waiting 60 seconds; jitter spreads the processes' restarts. */
export const throttlePauseMs = 60_000;
const throttleJitterMs = 5_000;
/**
 * An account whose credentials or configuration Microsoft refused, or whose calls get answers closeloop
 * cannot act on (an HTML 404, an unknown code), is tried again after this long: one call per 15 minutes
 * while it stays broken, and no row loses an attempt meanwhile.
 */
export const accountErrorPauseMs = 15 * 60_000;

export { isThrottlePause, throttledReason } from './pause-reason.ts';

/** A fault in one line: Microsoft's code and name when it gave one, then what it said and what to do. */
export function describeFault(fault: Fault): string {
  return fault.code !== undefined ? `${fault.code} ${fault.name}: ${fault.message}` : fault.message;
}

export interface AnswerInput {
  account: SubmitAccount;
  table: LedgerTable;
  /** The rows of the call, in the order they were sent (PartialErrors' Index points into it). */
  ids: number[];
  result: CallResult<WireApplyResponse>;
  /** The claim's id (the fence) and the id of this call (differs from the claim's in a split). */
  claimId: string;
  submissionId: string;
  at: Date;
}

export type Answer =
  /**
   * Recorded. `readable`: Microsoft read the request (answered it, or named its items), the proof a split
   * needs before it rejects a lone row. `paused`: the account is paused; a split stops sending parts.
   */
  | { kind: 'recorded'; readable: boolean; paused: boolean }
  /** Refused whole for what it carries and more than one row: halve it (its submission says 'split'). */
  | { kind: 'split' }
  /**
   * One row refused whole as unreadable (113). Nothing is written, its submission stays 'sending': the
   * verdict waits for proof that the request itself is readable (see split.ts).
   */
  | { kind: 'unreadable'; fault: Fault };

export interface AnswerDeps {
  database: Database;
  log: Logger;
  policy: RetryPolicy;
  random: () => number;
  report: DrainReport;
}

const recorded = (readable: boolean, paused = false): Answer => ({ kind: 'recorded', readable, paused });

/** Microsoft's code, or the fault's name when it gave none ("HTTP 404", "Timeout"). */
export const faultCode = (fault: Fault) => (fault.code !== undefined ? String(fault.code) : fault.name);

/** The submission columns that say why a whole call failed. */
export function faultFields(fault: Fault): SubmissionResult {
  return {
    outcome: 'rejected',
    httpStatus: fault.httpStatus,
    errorCode: faultCode(fault),
    errorMessage: fault.message,
    trackingId: fault.trackingId,
  };
}

/**
 * Record what Microsoft answered to one call, in one transaction with the call's submission row: a
 * process that dies meanwhile leaves either nothing (the claim is swept and the rows sent again) or
 * everything. A whole call refused rejects no row unless Microsoft named it: only a sign that one item
 * spoils the batch splits it; anything else pauses the account or retries, and the rows stay queued.
 */
export async function recordAnswer(deps: AnswerDeps, input: AnswerInput): Promise<Answer> {
  const { database, log, policy, random, report } = deps;
  const { account, table: t, ids, result, claimId, submissionId, at } = input;
  const common = { submissionId: claimId, now: at, finalSubmissionId: submissionId };
  return database.db.transaction(async (tx): Promise<Answer> => {
    const db: Database = { ...database, query: queryVia(tx) };
    if (result.ok) {
      const outcomes = itemOutcomes(ids, result.body.PartialErrors ?? [], at);
      await markVerdicts(db, t, { ...common, verdicts: outcomes.verdicts });
      let retried = 0;
      if (outcomes.retry.ids.length > 0) {
        const r = await markRetry(db, t, {
          ...common,
          policy,
          ids: outcomes.retry.ids,
          errorCode: outcomes.retry.code,
          errorName: outcomes.retry.name,
          message: outcomes.retry.message,
        });
        retried = r.retried;
        report.failed += r.failed;
      }
      const accepted = await markAccepted(db, t, { ...common, ids });
      const rejected = outcomes.verdicts.filter((v) => v.state !== 'held').length;
      const held = outcomes.verdicts.length - rejected;
      report.accepted += accepted;
      report.rejected += rejected;
      report.held += held;
      report.retried += retried;
      if (accepted + outcomes.verdicts.length + outcomes.retry.ids.length < ids.length)
        log.warn('a claim was taken over before the answer was recorded (the stale-claim sweep ran)', {
          submissionId,
          account: account.name,
        });
      await finishSubmission(
        db,
        submissionId,
        {
          outcome: rejected + held + retried === 0 ? 'accepted' : accepted > 0 ? 'partial' : 'rejected',
          accepted,
          rejected,
          retried,
          httpStatus: result.httpStatus,
          trackingId: result.trackingId,
        },
        at,
      );
      await clearPause(db, account.id, at);
      return recorded(true);
    }

    const fault = result.fault;
    const fields = faultFields(fault);
    const code = faultCode(fault);
    if (fault.class === 'throttle') {
      const until = new Date(
        at.getTime() + Math.max(throttlePauseMs, fault.retryAfterMs ?? 0) + random() * throttleJitterMs,
      );
      await pauseAccount(db, {
        accountId: account.id,
        until,
        reason: `${throttledReason} (${code}); calls resume at ${until.toISOString()}`,
        now: at,
      });
      await release(db, t, { submissionId: claimId, now: at, ids });
      report.throttled++;
      log.warn('throttled by Microsoft; pausing the account', {
        account: account.name,
        waitMs: until.getTime() - at.getTime(),
      });
      await finishSubmission(db, submissionId, { ...fields, outcome: 'throttled' }, at);
      return recorded(false, true);
    }
    if (fault.class === 'transient' || fault.class === 'token_expired') {
      const r = await markRetry(db, t, {
        ...common,
        policy,
        ids,
        errorCode: code,
        errorName: fault.name,
        message: fault.message,
      });
      report.retried += r.retried;
      report.failed += r.failed;
      await finishSubmission(db, submissionId, { ...fields, outcome: 'retry', retried: r.retried }, at);
      return recorded(false);
    }
    if (fault.batchErrors.length > 0 && fault.class !== 'account') {
      // The fault names the items: those are judged, the others were not applied and go back.
      const outcomes = itemOutcomes(ids, fault.batchErrors, at);
      await markVerdicts(db, t, { ...common, verdicts: outcomes.verdicts });
      const back = await release(db, t, { submissionId: claimId, now: at, ids });
      report.rejected += outcomes.verdicts.length;
      await finishSubmission(
        db,
        submissionId,
        { ...fields, rejected: outcomes.verdicts.length, retried: back },
        at,
      );
      return recorded(true);
    }
    if (fault.class === 'goal_not_ready') {
      // The goal is under 2 hours old at Microsoft: every row of the call waits, none is judged.
      const heldUntil = new Date(at.getTime() + goalNotReadyHoldMs);
      const verdicts = ids.map((id) => ({
        id,
        state: 'held' as const,
        errorCode: code,
        errorName: fault.name,
        message: fault.message,
        heldUntil,
      }));
      report.held += await markVerdicts(db, t, { ...common, verdicts });
      await finishSubmission(db, submissionId, fields, at);
      return recorded(false);
    }
    if ((fault.class === 'split' || fault.class === 'too_large') && ids.length > 1) {
      // Refused whole for what it carries (an item Microsoft cannot read, too many items): halve it until
      // the rows it objects to are alone, so one bad row never sinks the other 999.
      report.splits++;
      await finishSubmission(db, submissionId, { ...fields, outcome: 'split' }, at);
      return { kind: 'split' };
    }
    if (fault.class === 'split') return { kind: 'unreadable', fault };

    // Anything else refused the whole call without naming a row — credentials, an answer that is not
    // Microsoft's, a code closeloop does not know, a lone row "too large": nothing says the rows are
    // wrong, so none is rejected. The account pauses with the reason shown and its rows stay queued
    // without spending an attempt; one call every 15 minutes finds out whether it was fixed.
    const until = new Date(at.getTime() + accountErrorPauseMs);
    const reason = describeFault(fault);
    await pauseAccount(db, { accountId: account.id, until, reason, now: at });
    await release(db, t, { submissionId: claimId, now: at, ids });
    log.error('a whole call failed; the account pauses and its rows wait until it is fixed', {
      account: account.name,
      error: reason,
      retryAt: until.toISOString(),
    });
    if (!report.skippedAccounts.includes(account.name)) report.skippedAccounts.push(account.name);
    report.pauses.push({ account: account.name, until: until.toISOString(), reason });
    await finishSubmission(db, submissionId, { ...fields, outcome: 'account_error' }, at);
    return recorded(false, true);
  });
}
