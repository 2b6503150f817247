import { type ErrorClass, errorInfo } from '../msads/error-codes.ts';
import type {
  WireBatchError,
  WireOfflineConversion,
  WireOfflineConversionAdjustment,
} from '../msads/wire.ts';
import type { ClaimedAdjustment, ClaimedConversion } from './outbox.ts';
import type { RowVerdict } from './verdicts.ts';

/** Ledger rows as Microsoft wants them: PascalCase, unset fields omitted, UTC times to the second. */
export function toWireConversion(c: ClaimedConversion): WireOfflineConversion {
  return {
    ...(c.clickId ? { MicrosoftClickId: c.clickId } : {}),
    ConversionName: c.goalName,
    ConversionTime: c.conversionTime,
    ...(c.value !== null ? { ConversionValue: Number(c.value) } : {}),
    ...(c.currency ? { ConversionCurrencyCode: c.currency } : {}),
    ...(c.hashedEmail ? { HashedEmailAddress: c.hashedEmail } : {}),
    ...(c.hashedPhone ? { HashedPhoneNumber: c.hashedPhone } : {}),
  };
}

export function toWireAdjustment(a: ClaimedAdjustment): WireOfflineConversionAdjustment {
  return {
    AdjustmentType: a.type === 'restate' ? 'Restate' : 'Retract',
    AdjustmentTime: a.adjustmentTime,
    ...(a.type === 'restate' && a.value !== null ? { AdjustmentValue: Number(a.value) } : {}),
    ...(a.type === 'restate' && a.currency ? { AdjustmentCurrencyCode: a.currency } : {}),
    ConversionName: a.goalName,
    ConversionTime: a.conversionTime,
    ...(a.clickId ? { MicrosoftClickId: a.clickId } : {}),
    ...(a.hashedEmail ? { HashedEmailAddress: a.hashedEmail } : {}),
    ...(a.hashedPhone ? { HashedPhoneNumber: a.hashedPhone } : {}),
  };
}

/** How long a row refused with 5615 (goal under 2 hours old at Microsoft) waits before it is tried again. */
export const goalNotReadyHoldMs = 15 * 60_000;

export interface ItemOutcomes {
  verdicts: RowVerdict[];
  /** Rows whose only errors are transient (item-level 0 or 5612): retried with backoff. */
  retry: { ids: number[]; code: string; name: string; message: string };
}

/**
 * Map Microsoft's per-item errors back to ledger rows. The list is not positional: each error names its
 * item by zero-based `Index`, and one item may carry several errors; every one is kept in the message.
 * Rows with no error were accepted.
 */
export function itemOutcomes(
  rowIds: readonly number[],
  errors: readonly WireBatchError[],
  now: Date,
): ItemOutcomes {
  const byIndex = new Map<number, WireBatchError[]>();
  for (const e of errors) {
    if (!Number.isInteger(e.Index) || e.Index < 0 || e.Index >= rowIds.length) continue;
    const list = byIndex.get(e.Index);
    if (list) list.push(e);
    else byIndex.set(e.Index, [e]);
  }
  const out: ItemOutcomes = { verdicts: [], retry: { ids: [], code: '', name: '', message: '' } };
  for (const [index, list] of byIndex) {
    const id = rowIds[index]!;
    const infos = list.map((e) => ({ e, info: errorInfo(e.Code, e.ErrorCode) }));
    const code = list.map((e) => e.Code).join(', ');
    const name = list.map((e) => e.ErrorCode || errorInfo(e.Code).name).join(', ');
    const message = infos
      .map(
        ({ e, info }) =>
          `${e.Code} ${e.ErrorCode || info.name}: ${e.Message ? `${e.Message} — ` : ''}${info.explain}`,
      )
      .join(' · ');
    const classes = new Set(infos.map(({ info }) => info.class));
    // A row Microsoft names is judged by its own errors: anything but a transient one rejects it (an
    // unknown code too: Microsoft named the row).
    const rejects: ErrorClass[] = ['permanent', 'split', 'too_large', 'account', 'unrecognized'];
    if (rejects.some((c) => classes.has(c)))
      out.verdicts.push({ id, state: 'rejected', errorCode: code, errorName: name, message });
    else if (classes.has('expired'))
      out.verdicts.push({ id, state: 'expired', errorCode: code, errorName: name, message });
    else if (classes.has('goal_not_ready'))
      out.verdicts.push({
        id,
        state: 'held',
        errorCode: code,
        errorName: name,
        message,
        heldUntil: new Date(now.getTime() + goalNotReadyHoldMs),
      });
    else {
      out.retry.ids.push(id);
      out.retry.code = code;
      out.retry.name = name;
      out.retry.message = message;
    }
  }
  return out;
}
