/**
 * Why a valid row waits (`held`) and until when. Microsoft takes conversions for a goal 2 hours after
 * the goal was created there (5615 before) and a conversion 1 hour after its click; closeloop holds rows
 * until then and releases them by itself. The reason is read from the row, not stored, so a note can
 * never outlive the hold: once the row moves on, there is no note.
 */

/** Microsoft takes a conversion 1 hour after its click. */
export const clickWarmUpMs = 60 * 60 * 1000;

export type HeldReason = 'goal' | 'click' | 'microsoft';

export const heldReasons: Record<HeldReason, { short: string; long: string }> = {
  goal: {
    short: 'goal under 2 hours old at Microsoft',
    long: 'Microsoft takes conversions for a goal 2 hours after it was created there',
  },
  click: {
    short: 'click under 1 hour old',
    long: 'Microsoft takes a conversion 1 hour after its click',
  },
  microsoft: {
    short: 'Microsoft answered 5615: goal not ready',
    long: 'Microsoft answered 5615 (the goal does not take conversions yet); it is tried again then',
  },
};

export interface HeldFacts {
  heldUntil: Date;
  clickTime: Date | null;
  /** The row's error code: "5615" when Microsoft itself sent it back. */
  errorCode: string | null;
}

export function heldReason({ heldUntil, clickTime, errorCode }: HeldFacts): HeldReason {
  if (errorCode?.split(', ').includes('5615')) return 'microsoft';
  if (clickTime && clickTime.getTime() + clickWarmUpMs >= heldUntil.getTime()) return 'click';
  return 'goal';
}

/** "10:34 UTC" today, "2026-06-02 10:34 UTC" on another day than `now`. */
export function formatRelease(at: Date, now: Date): string {
  const iso = at.toISOString();
  const day = iso.slice(0, 10);
  return `${day === now.toISOString().slice(0, 10) ? '' : `${day} `}${iso.slice(11, 16)} UTC`;
}

/** The note on a held row: "held until 2026-06-01 10:34 UTC: <why>; closeloop sends it then". */
export function heldNote(facts: HeldFacts): string {
  const at = facts.heldUntil.toISOString();
  return `held until ${at.slice(0, 10)} ${at.slice(11, 16)} UTC: ${heldReasons[heldReason(facts)].long}; closeloop sends it then.`;
}
