/**
 * What a received call means for the ledger: the pure rules of call-tracking sources. A call with a
 * click ID that passes the source's qualification becomes a conversion (its start time, to the second,
 * is the conversion time, kept forever); the same call id delivered again changes nothing, unless its
 * value changed (a Restate) or the sale was cancelled (a Retract). No click ID, too short, not answered:
 * not qualifying, with the reason.
 */

/** The parts of a normalized call the rules read (connectors/calltracking/types.ts NormalizedCall). */
export interface CallFacts {
  providerCallId: string;
  startUtc: Date;
  durationSec: number | null;
  talkSec: number | null;
  answered: boolean | null;
  value: string | null;
  currency: string | null;
  msclkid: string | null;
  cancelled: boolean;
}

export interface Qualification {
  minDurationSec: number | null;
  minTalkSec: number | null;
  answeredOnly: boolean;
  /** 'fixed': every conversion is worth fixedValue; 'payload': the call's value (else the goal's default). */
  valueMode: 'payload' | 'fixed';
  fixedValue: string | null;
  /** The fixed value's currency, or the currency of payload values that carry none. */
  currency: string | null;
}

/** What was already sent for this call id: its conversion (identity kept forever) and its last value. */
export interface SentCall {
  clickId: string;
  conversionTime: Date;
  value: string | null;
  currency: string | null;
  retracted: boolean;
}

export type CallDecision =
  | {
      outcome: 'conversion';
      clickId: string;
      conversionTime: Date;
      value: string | null;
      currency: string | null;
    }
  | { outcome: 'correction'; value: string; currency: string | null }
  | { outcome: 'retraction' }
  | { outcome: 'duplicate_delivery'; reason: string }
  | { outcome: 'not_qualifying'; reason: string };

function sameValue(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  return Number(a) === Number(b);
}

/** The value the source sends for this call, and its currency. */
export function callValue(
  call: CallFacts,
  q: Qualification,
): { value: string | null; currency: string | null } {
  if (q.valueMode === 'fixed') return { value: q.fixedValue, currency: q.currency };
  if (call.value === null) return { value: null, currency: null };
  return { value: call.value, currency: call.currency ?? q.currency };
}

/** Why the call does not qualify, or undefined when it does. */
export function notQualifying(call: CallFacts, q: Qualification): string | undefined {
  if (!call.msclkid)
    return 'no click ID: the call carries no msclkid and its landing URL has none (the caller did not come from a Microsoft ad, or the landing URL lost its query string)';
  const answered = call.answered ?? (call.talkSec === null ? null : call.talkSec > 0);
  if (q.answeredOnly && answered !== true)
    return answered === false
      ? 'not answered, and the source counts answered calls only'
      : 'the provider did not say whether the call was answered, and the source counts answered calls only';
  if (q.minTalkSec !== null) {
    const talk = call.talkSec ?? call.durationSec;
    if (talk === null) return `no talk time reported; the source needs at least ${q.minTalkSec} s`;
    if (talk < q.minTalkSec) return `talk time ${talk} s is below the minimum of ${q.minTalkSec} s`;
  }
  if (q.minDurationSec !== null) {
    const duration = call.durationSec ?? call.talkSec;
    if (duration === null) return `no duration reported; the source needs at least ${q.minDurationSec} s`;
    if (duration < q.minDurationSec)
      return `duration ${duration} s is below the minimum of ${q.minDurationSec} s`;
  }
  return undefined;
}

/** The decision for one delivery of a call, given what was already sent for its id. */
export function decideCall(call: CallFacts, q: Qualification, sent: SentCall | null): CallDecision {
  if (sent) {
    if (sent.retracted)
      return {
        outcome: 'duplicate_delivery',
        reason: `call ${call.providerCallId}'s conversion was retracted; a retracted conversion is not sent again`,
      };
    if (call.cancelled) return { outcome: 'retraction' };
    const { value, currency } = callValue(call, q);
    if (value === null || (sameValue(value, sent.value) && (currency ?? sent.currency) === sent.currency))
      return {
        outcome: 'duplicate_delivery',
        reason: `call ${call.providerCallId} was already received; its conversion is unchanged`,
      };
    return { outcome: 'correction', value, currency: currency ?? sent.currency };
  }
  if (call.cancelled)
    return {
      outcome: 'not_qualifying',
      reason: `call ${call.providerCallId} is cancelled, and no conversion was sent for it`,
    };
  const why = notQualifying(call, q);
  if (why) return { outcome: 'not_qualifying', reason: why };
  return {
    outcome: 'conversion',
    clickId: call.msclkid!,
    conversionTime: new Date(Math.floor(call.startUtc.getTime() / 1000) * 1000),
    ...callValue(call, q),
  };
}
