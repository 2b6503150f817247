import { type Database, queryVia } from '../db/client.ts';
import type { Logger } from '../log.ts';
import type { CallResult } from '../msads/client.ts';
import type { WireApplyResponse } from '../msads/wire.ts';
import type { LedgerTable } from './ledger-sql.ts';
import { goalNotReadyHoldMs, itemOutcomes } from './payload.ts';
import { clearPause, pauseAccount } from './schedule.ts';
import { finishSubmission } from './submissions.ts';
import type { DrainReport, SubmitAccount } from './submitter.ts';
import {
  markAccepted,
  markRetry,
  markVerdicts,
  type RetryPolicy,
  type RowVerdict,
  release,
} from './verdicts.ts';

/** Microsoft's advice on 117: resubmit after waiting 60 seconds; jitter spreads the processes' restarts. */
export const throttlePauseMs = 60_000;
const throttleJitterMs = 5_000;
/** An account whose credentials or configuration Microsoft refused is tried again after this long. */
export const accountErrorPauseMs = 15 * 60_000;

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

/**
 * Record what Microsoft answered to one call, in one transaction with the call's submission row: a
 * process that dies meanwhile leaves either nothing (the claim is swept and the rows sent again) or
 * everything. Returns true when the request was refused whole with no item named: the caller splits it.
 */
export async function recordAnswer(
  deps: { database: Database; log: Logger; policy: RetryPolicy; random: () => number; report: DrainReport },
  input: AnswerInput,
): Promise<boolean> {
  const { database, log, policy, random, report } = deps;
  const { account, table: t, ids, result, claimId, submissionId, at } = input;
  const common = { submissionId: claimId, now: at, finalSubmissionId: submissionId };
  return database.db.transaction(async (tx): Promise<boolean> => {
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
      return false;
    }

    const fault = result.fault;
    const faultFields = {
      httpStatus: fault.httpStatus,
      errorCode: fault.code !== undefined ? String(fault.code) : fault.name,
      errorMessage: fault.message,
      trackingId: fault.trackingId,
    };
    const code = fault.code !== undefined ? String(fault.code) : fault.name;
    switch (fault.class) {
      case 'throttle': {
        const wait = Math.max(throttlePauseMs, fault.retryAfterMs ?? 0) + random() * throttleJitterMs;
        await pauseAccount(db, {
          accountId: account.id,
          until: new Date(at.getTime() + wait),
          reason: `Microsoft throttled the account (${code}); calls resume at ${new Date(at.getTime() + wait).toISOString()}`,
          now: at,
        });
        await release(db, t, { submissionId: claimId, now: at, ids });
        report.throttled++;
        log.warn('throttled by Microsoft; pausing the account', {
          account: account.name,
          waitMs: Math.round(wait),
        });
        await finishSubmission(db, submissionId, { outcome: 'throttled', ...faultFields }, at);
        return false;
      }
      case 'transient':
      case 'token_expired': {
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
        await finishSubmission(
          db,
          submissionId,
          { outcome: 'retry', retried: r.retried, ...faultFields },
          at,
        );
        return false;
      }
      case 'account': {
        const until = new Date(at.getTime() + accountErrorPauseMs);
        await pauseAccount(db, {
          accountId: account.id,
          until,
          reason: `${code} ${fault.name}: ${fault.message}`,
          now: at,
        });
        await release(db, t, { submissionId: claimId, now: at, ids });
        log.error('Microsoft refused the account; its rows wait until it is fixed', {
          account: account.name,
          code,
          error: fault.message,
          retryAt: until.toISOString(),
        });
        report.skippedAccounts.push(account.name);
        await finishSubmission(db, submissionId, { outcome: 'account_error', ...faultFields }, at);
        return false;
      }
      case 'goal_not_ready':
      case 'expired':
      case 'split':
      case 'permanent': {
        if (fault.batchErrors.length > 0) {
          // The fault names the items: those are judged, the others were not applied and go back.
          const outcomes = itemOutcomes(ids, fault.batchErrors, at);
          await markVerdicts(db, t, { ...common, verdicts: outcomes.verdicts });
          const back = await release(db, t, { submissionId: claimId, now: at, ids });
          report.rejected += outcomes.verdicts.length;
          await finishSubmission(
            db,
            submissionId,
            { outcome: 'rejected', rejected: outcomes.verdicts.length, retried: back, ...faultFields },
            at,
          );
          return false;
        }
        if (ids.length === 1) {
          const verdict: RowVerdict =
            fault.class === 'goal_not_ready'
              ? {
                  id: ids[0]!,
                  state: 'held',
                  errorCode: code,
                  errorName: fault.name,
                  message: fault.message,
                  heldUntil: new Date(at.getTime() + goalNotReadyHoldMs),
                }
              : {
                  id: ids[0]!,
                  state: fault.class === 'expired' ? 'expired' : 'rejected',
                  errorCode: code,
                  errorName: fault.name,
                  message: `Microsoft refused the request carrying this row: ${fault.message}`,
                };
          await markVerdicts(db, t, { ...common, verdicts: [verdict] });
          if (verdict.state === 'held') report.held++;
          else report.rejected++;
          await finishSubmission(db, submissionId, { outcome: 'rejected', rejected: 1, ...faultFields }, at);
          return false;
        }
        // Microsoft refused the whole request (a deserialization error names no item): halve it until
        // the rows it objects to are alone, so one bad row never sinks the other 999.
        report.splits++;
        await finishSubmission(db, submissionId, { outcome: 'split', ...faultFields }, at);
        return true;
      }
    }
    return false;
  });
}
