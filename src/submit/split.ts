import { type Database, queryVia } from '../db/client.ts';
import type { Fault } from '../msads/client.ts';
import { type AnswerDeps, accountErrorPauseMs, describeFault, faultCode, faultFields } from './answer.ts';
import type { LedgerTable } from './ledger-sql.ts';
import { pauseAccount } from './schedule.ts';
import { finishSubmission } from './submissions.ts';
import type { SubmitAccount } from './submitter.ts';
import { markRetry, markVerdicts, release } from './verdicts.ts';

/**
 * A batch Microsoft refused whole because it cannot read an item (113) is halved until that row is alone.
 * A lone row refused so is rejected only once another part of the same claim was read (accepted, or its
 * items named): that proves the request itself is readable and the row is not. Without the proof the
 * refusal may concern every request (a changed date format, a proxy that mangles bodies), and rejecting
 * row after row would throw the queue away. So after this many lone refusals with no proof the split
 * stops: those rows are tried again later with backoff (an attempt spent: a row that truly cannot be
 * read ends `failed`, and `closeloop retry` can bring it back), the rest of the claim goes back to the
 * queue unspent, and the account pauses with the error. One unreadable row among 1,000 costs about
 * 2·log2(1000) + 1 ≈ 21 calls; a claim of 1,000 rows Microsoft cannot read at all costs 15, not 1,999.
 */
export const unprovenLoneRefusals = 4;

interface Suspect {
  id: number;
  /** The call that carried the row alone; its submission is finished with the row's verdict. */
  submissionId: string;
  fault: Fault;
}

/** One claim's split: what has been learned so far, shared by all its parts. */
export interface Split {
  /** Some part was read by Microsoft: a lone row refused as unreadable is then rejected. */
  readable: boolean;
  /** Lone rows refused before any proof; judged when the proof comes or the split ends. */
  suspects: Suspect[];
  /** No more parts are sent (a pause, or too many lone refusals without proof). */
  stopped: boolean;
}

export const newSplit = (): Split => ({ readable: false, suspects: [], stopped: false });

interface SplitInput {
  account: SubmitAccount;
  table: LedgerTable;
  claimId: string;
  at: Date;
}

/** A part was read by Microsoft: the lone rows refused before are the unreadable ones. */
export async function proveReadable(deps: AnswerDeps, split: Split, input: SplitInput): Promise<void> {
  split.readable = true;
  const suspects = split.suspects.splice(0);
  if (suspects.length > 0) await reject(deps, input, suspects);
}

/** A lone row refused as unreadable: rejected when the claim has proof, else kept until it has. */
export async function loneRefusal(
  deps: AnswerDeps,
  split: Split,
  input: SplitInput & { suspect: Suspect },
): Promise<void> {
  if (split.readable) return reject(deps, input, [input.suspect]);
  split.suspects.push(input.suspect);
  if (split.suspects.length >= unprovenLoneRefusals) split.stopped = true;
}

/**
 * The claim's split is over: lone rows still without proof are retried with backoff, rows of parts never
 * sent go back to the queue without spending an attempt, and when the split stopped for want of proof
 * the account pauses with Microsoft's error.
 */
export async function endSplit(deps: AnswerDeps, split: Split, input: SplitInput): Promise<void> {
  const { database, log, policy, report } = deps;
  const { account, table: t, claimId, at } = input;
  const suspects = split.suspects.splice(0);
  const giveUp = suspects.length >= unprovenLoneRefusals;
  await database.db.transaction(async (tx) => {
    const db: Database = { ...database, query: queryVia(tx) };
    for (const s of suspects) {
      const r = await markRetry(db, t, {
        submissionId: claimId,
        now: at,
        policy,
        ids: [s.id],
        errorCode: faultCode(s.fault),
        errorName: s.fault.name,
        message: `Microsoft refused the row alone as unreadable (${describeFault(s.fault)}), and no other part of its batch was read to show that the request itself is readable`,
      });
      report.retried += r.retried;
      report.failed += r.failed;
      await finishSubmission(
        db,
        s.submissionId,
        { ...faultFields(s.fault), outcome: 'retry', retried: r.retried },
        at,
      );
    }
    await release(db, t, { submissionId: claimId, now: at });
    if (!giveUp) return;
    const until = new Date(at.getTime() + accountErrorPauseMs);
    const reason = `Microsoft refused ${suspects.length} rows alone as unreadable and read no other part of their batch, so the request itself may be what it cannot read: ${describeFault(suspects[0]!.fault)}`;
    await pauseAccount(db, { accountId: account.id, until, reason, now: at });
    log.error('Microsoft could read no part of a batch; the account pauses and its rows wait', {
      account: account.name,
      error: reason,
      retryAt: until.toISOString(),
    });
    if (!report.skippedAccounts.includes(account.name)) report.skippedAccounts.push(account.name);
    report.pauses.push({ account: account.name, until: until.toISOString(), reason });
  });
}

/** Lone rows Microsoft cannot read while it reads the rest: rejected with its code, each with its call. */
async function reject(deps: AnswerDeps, input: SplitInput, suspects: Suspect[]): Promise<void> {
  const { database, report } = deps;
  await database.db.transaction(async (tx) => {
    const db: Database = { ...database, query: queryVia(tx) };
    for (const s of suspects) {
      const n = await markVerdicts(db, input.table, {
        submissionId: input.claimId,
        now: input.at,
        finalSubmissionId: s.submissionId,
        verdicts: [
          {
            id: s.id,
            state: 'rejected',
            errorCode: faultCode(s.fault),
            errorName: s.fault.name,
            message: `Microsoft cannot read this row: refused alone (${describeFault(s.fault)}) while it read the rest of its batch.`,
          },
        ],
      });
      report.rejected += n;
      await finishSubmission(db, s.submissionId, { ...faultFields(s.fault), rejected: n }, input.at);
    }
  });
}
