import type { DealRecord } from '../../connectors/deals.ts';
import { maxConversionAgeMs } from './conversion-rules.ts';
import { parseClickId } from './identifiers.ts';
import { parseCurrency, parseValue } from './values.ts';

/*
 * What a deal record means for the ledger (../shared/reference/crm-flow.md, "Recommended rules" A–D).
 * Pure: the deal as the CRM has it now, what closeloop last sent for it (stored per deal) and the sync's
 * facts go in; one decision comes out, with the state to store after it.
 */

/** Why a deal made nothing for Microsoft. Every skipped deal is counted and kept with its reason. */
export const crmSkipReasons = [
  /** No rule of A found a click ID on the deal or its leads/contacts. */
  'no_click_id',
  /** A click ID was found but is not 32 hex characters. */
  'invalid_click_id',
  /** The click was captured more than 90 days before the conversion. */
  'click_too_old',
  /** The click was captured at or after the conversion time (rule B.4: never invent a time). */
  'conversion_before_click',
  /** Won, but no stage history, not first seen won by an incremental sync, and no close date. */
  'no_won_time',
  /** Won with an empty or zero amount: flagged for review, never restated to 0 (rule C). */
  'zero_amount',
  /** The amount is not a value Microsoft takes (negative, more than 3 decimals, too large). */
  'invalid_amount',
  /** The currency is not an ISO code on Microsoft's list. */
  'invalid_currency',
  /** Not won, and nothing was ever sent for it (open or lost). */
  'not_won',
  /** Deleted or merged in the CRM before anything was sent for it. */
  'deleted',
  /** A change one second or less after its conversion: the adjustment must come strictly later; retried. */
  'too_soon_to_adjust',
] as const;
export type CrmSkipReason = (typeof crmSkipReasons)[number];

/** What closeloop last sent for a deal, and what it has seen of it (one row per deal in the database). */
export interface DealState {
  /** The last conversion sent for the deal: its exact UTC time (second precision), stored once. */
  conversionTime: Date | null;
  clickId: string | null;
  value: string | null;
  currency: string | null;
  /** The last conversion was retracted: a re-won deal makes a new conversion. */
  retracted: boolean;
  /** When an incremental sync first saw the deal in its current won run (rule B.2); null when not won. */
  firstSeenWonAt: Date | null;
}

export interface CrmSyncFacts {
  now: Date;
  /**
   * A first or `--full` sync reads deals that were won long ago: their first-seen time means nothing,
   * so the close date at noon is used instead (rule B.3).
   */
  backfill: boolean;
  /** The connector's interval: a deal first seen won is trusted to have been won within it (rule B.2). */
  intervalMs: number;
  /** Rule D: the connector's `--currency`, then the goal's. */
  connectorCurrency: string | null;
  goalCurrency: string | null;
}

/** How the conversion time was found (rule B), recorded with the conversion. */
export type WonTimeSource = 'stage_history' | 'first_seen' | 'close_date';

export type CrmDecision =
  | {
      action: 'conversion';
      clickId: string;
      clickRule: string;
      clickTime: Date | null;
      conversionTime: Date;
      timeSource: WonTimeSource;
      /** Clamped to now (rule B.4). */
      clamped: boolean;
      value: string;
      currency: string | null;
      /** A new conversion after a retraction (re-won). */
      rewon: boolean;
      /** Moved on by whole seconds: another deal of the same click converted in the same second. */
      bumped?: boolean;
      state: DealState;
    }
  | {
      action: 'restate';
      conversionTime: Date;
      clickId: string;
      adjustmentTime: Date;
      value: string;
      currency: string | null;
      state: DealState;
    }
  | {
      action: 'retract';
      conversionTime: Date;
      clickId: string;
      adjustmentTime: Date;
      why: 'not_won' | 'deleted' | 'merged';
      state: DealState;
    }
  | { action: 'skip'; reason: CrmSkipReason; message: string; state: DealState }
  | { action: 'unchanged'; state: DealState };

const second = 1000;
const truncate = (d: Date) => new Date(Math.floor(d.getTime() / second) * second);
const iso = (d: Date) => `${d.toISOString().slice(0, 19)}Z`;

export const emptyDealState: DealState = {
  conversionTime: null,
  clickId: null,
  value: null,
  currency: null,
  retracted: false,
  firstSeenWonAt: null,
};

/** Decide what one deal means now, given what was last sent for it. */
export function decideDeal(deal: DealRecord, stored: DealState | null, facts: CrmSyncFacts): CrmDecision {
  const before = stored ?? emptyDealState;
  const sent = before.conversionTime !== null && !before.retracted;
  const now = truncate(facts.now);
  const gone = deal.deleted ? 'deleted' : deal.mergedInto !== null ? 'merged' : null;

  if (gone || !deal.won) {
    const state: DealState = { ...before, firstSeenWonAt: null };
    if (sent) {
      const adjustmentTime = afterConversion(before.conversionTime!, now);
      if (!adjustmentTime) return tooSoon(before, state);
      return {
        action: 'retract',
        conversionTime: before.conversionTime!,
        clickId: before.clickId!,
        adjustmentTime,
        why: gone ?? 'not_won',
        state: { ...state, retracted: true },
      };
    }
    if (gone) return skip('deleted', `the deal was ${gone} in the CRM before it was won and sent`, state);
    return skip('not_won', 'the deal is not won (open or lost); nothing is sent until it is', state);
  }

  // Won. Rule B.2: the time an incremental sync first saw this run of won, when the deal changed within
  // one interval (so first sight is close to the change); kept whatever else happens to the deal.
  const observed = !facts.backfill && now.getTime() - deal.modifiedAt.getTime() <= facts.intervalMs;
  const firstSeenWonAt = before.firstSeenWonAt ?? (observed ? now : null);
  const seen: DealState = { ...before, firstSeenWonAt };

  // Rule D: the deal's own currency, else the connector's, else the goal's.
  const currencyText = deal.currency ?? facts.connectorCurrency ?? facts.goalCurrency;
  let currency: string | null = null;
  if (currencyText !== null) {
    const parsed = parseCurrency(currencyText);
    if (!parsed.ok)
      return skip(
        'invalid_currency',
        `the currency "${currencyText}" is not one Microsoft takes (${parsed.message})`,
        seen,
      );
    currency = parsed.value;
  }
  const amount = deal.amount?.trim() ?? '';
  if (amount === '' || /^[+]?0*(\.0*)?$/.test(amount))
    return skip(
      'zero_amount',
      sent
        ? `the amount became ${amount === '' ? 'empty' : '0'} while the deal is won; closeloop does not restate a conversion to 0 (that cannot be undone): check the deal, and Retract it by hand if the sale is really gone`
        : `the deal is won with ${amount === '' ? 'no amount' : 'an amount of 0'}; fill in the amount in the CRM and it is sent at the next sync`,
      seen,
    );
  const parsedValue = parseValue(amount);
  if (!parsedValue.ok || amount.startsWith('-'))
    return skip(
      'invalid_amount',
      `the amount "${amount}" is not a value Microsoft takes (${parsedValue.ok ? 'it is negative' : parsedValue.message})`,
      seen,
    );
  const value = String(parsedValue.value);

  if (sent) {
    if (value === before.value && currency === before.currency) return { action: 'unchanged', state: seen };
    const adjustmentTime = afterConversion(before.conversionTime!, now);
    if (!adjustmentTime) return tooSoon(before, seen);
    return {
      action: 'restate',
      conversionTime: before.conversionTime!,
      clickId: before.clickId!,
      adjustmentTime,
      value,
      currency,
      state: { ...seen, value, currency },
    };
  }

  // A conversion: first won, or re-won after a retraction.
  if (!deal.click) return skip('no_click_id', noClickMessage, seen);
  const click = parseClickId(deal.click.clickId);
  if (!click.ok)
    return skip(
      'invalid_click_id',
      `the click ID "${deal.click.clickId}" found at ${deal.click.rule} is not a Microsoft Click ID (${click.message})`,
      seen,
    );

  const time = wonTime(deal, firstSeenWonAt, before, now);
  if (!time)
    return skip(
      'no_won_time',
      'the CRM has no stage history for this deal and no close date, and it was not first seen won by an incremental sync; set the close date',
      seen,
    );
  const clamped = time.at.getTime() > now.getTime();
  const conversionTime = clamped ? now : time.at;
  const captured = deal.click.capturedAt;
  if (captured && conversionTime.getTime() <= captured.getTime())
    return skip(
      'conversion_before_click',
      `the conversion time ${iso(conversionTime)} is not after the click was captured (${iso(captured)}, ${deal.click.rule}); check the won date and the capture time`,
      seen,
    );
  if (captured && conversionTime.getTime() - captured.getTime() > maxConversionAgeMs)
    return skip(
      'click_too_old',
      `the click was captured ${iso(captured)}, more than 90 days before the conversion (${iso(conversionTime)}); Microsoft counts conversions within 90 days of the click`,
      seen,
    );
  return {
    action: 'conversion',
    clickId: click.value,
    clickRule: deal.click.rule,
    clickTime: captured ? truncate(captured) : null,
    conversionTime,
    timeSource: time.source,
    clamped,
    value,
    currency,
    rewon: before.retracted,
    state: {
      conversionTime,
      clickId: click.value,
      value,
      currency,
      retracted: false,
      firstSeenWonAt,
    },
  };
}

const noClickMessage =
  'no Microsoft Click ID on the deal nor on its leads or contacts; check that the click-ID field is filled in and mapped on lead conversion';

/**
 * Rule B: the stage history's won time; else the time an incremental sync first saw it won; else the
 * close date at noon. A re-won deal needs a time after its retracted conversion (that identity is final).
 */
function wonTime(
  deal: DealRecord,
  firstSeenWonAt: Date | null,
  before: DealState,
  now: Date,
): { at: Date; source: WonTimeSource } | null {
  const candidates: { at: Date; source: WonTimeSource }[] = [];
  if (deal.wonAt) candidates.push({ at: truncate(deal.wonAt), source: 'stage_history' });
  if (firstSeenWonAt) candidates.push({ at: firstSeenWonAt, source: 'first_seen' });
  if (deal.closeDateNoon) candidates.push({ at: truncate(deal.closeDateNoon), source: 'close_date' });
  // A re-won deal: the time must differ from (and follow) the retracted conversion's.
  const after = before.retracted && before.conversionTime ? before.conversionTime.getTime() : null;
  for (const c of candidates) if (after === null || Math.min(c.at.getTime(), now.getTime()) > after) return c;
  if (after !== null && now.getTime() > after) return { at: now, source: 'first_seen' };
  return null;
}

/** Microsoft wants the adjustment time strictly after the conversion time (5620; equal is rejected too). */
function afterConversion(conversionTime: Date, now: Date): Date | null {
  return now.getTime() > conversionTime.getTime() ? now : null;
}

function tooSoon(before: DealState, state: DealState): CrmDecision {
  return skip(
    'too_soon_to_adjust',
    `the deal changed within a second of its conversion (${iso(before.conversionTime!)}); the adjustment is made at the next sync`,
    { ...state, ...pick(before) },
  );
}

/** The sent facts stay as they were when nothing was sent. */
function pick(s: DealState) {
  return {
    conversionTime: s.conversionTime,
    clickId: s.clickId,
    value: s.value,
    currency: s.currency,
    retracted: s.retracted,
  };
}

function skip(reason: CrmSkipReason, message: string, state: DealState): CrmDecision {
  return { action: 'skip', reason, message, state };
}
