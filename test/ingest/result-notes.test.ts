import { describe, expect, it } from 'vitest';
import type { UploadRow } from '../../src/db/schema/index.ts';
import { heldNote, heldReason } from '../../src/domain/held.ts';
import { resultRecord } from '../../src/ingest/results.ts';

const row = (over: Partial<UploadRow> = {}): UploadRow => ({
  uploadId: '00000000-0000-4000-8000-000000000000',
  row: 2,
  status: 'held',
  errorCode: null,
  errorColumn: null,
  message: null,
  notes: null,
  goalName: 'Purchase',
  clickId: 'a'.repeat(32),
  matchKey: 'a'.repeat(32),
  conversionTime: new Date('2026-06-01T09:00:00Z'),
  clickTime: null,
  value: null,
  currency: null,
  hashedEmail: null,
  hashedPhone: null,
  adjustmentType: null,
  adjustmentTime: null,
  sourceRef: null,
  heldUntil: new Date('2026-06-01T11:34:00Z'),
  conversionId: null,
  ...over,
});

const dst = '2026-11-01 01:30:00 happened twice (daylight saving time ended); the earlier instant was taken.';
/** The note as uploads checked before this release stored it. */
const stored =
  'held until 2026-06-01T11:34Z: Microsoft takes conversions 2 hours after the goal was created and 1 hour after the click; closeloop sends it then';

describe('the note of a held row', () => {
  it('says until when and why while the row is held: the goal, the click, or Microsoft’s 5615', () => {
    expect(resultRecord({ row: row(), ledgerId: null, ledgerState: null }).notes).toBe(
      'held until 2026-06-01 11:34 UTC: Microsoft takes conversions for a goal 2 hours after it was created there; closeloop sends it then.',
    );
    const heldUntil = new Date('2026-06-01T10:00:00Z');
    expect(heldReason({ heldUntil, clickTime: new Date('2026-06-01T09:00:00Z'), errorCode: null })).toBe(
      'click',
    );
    expect(heldReason({ heldUntil, clickTime: new Date('2026-06-01T08:00:00Z'), errorCode: null })).toBe(
      'goal',
    );
    expect(heldReason({ heldUntil, clickTime: null, errorCode: '5615' })).toBe('microsoft');
    expect(heldReason({ heldUntil, clickTime: null, errorCode: '5606, 5615' })).toBe('microsoft');
    expect(heldNote({ heldUntil, clickTime: null, errorCode: '5615' })).toContain('Microsoft answered 5615');
  });

  it('follows the ledger: its hold moves, and once the row is queued or accepted there is no note', () => {
    const ledger = { ledgerId: 7, ledgerErrorCode: null, ledgerMessage: null };
    const moved = resultRecord({
      row: row(),
      ...ledger,
      ledgerState: 'held',
      ledgerHeldUntil: new Date('2026-06-01T09:30:00Z'),
    });
    expect(moved.notes).toMatch(/^held until 2026-06-01 09:30 UTC/);
    for (const state of ['queued', 'submitting', 'accepted'])
      expect(resultRecord({ row: row(), ...ledger, ledgerState: state, ledgerHeldUntil: null }).notes).toBe(
        null,
      );
  });

  it('keeps the other notes, and drops a held note stored by an older release', () => {
    const old = row({ notes: `${stored} ${dst}` });
    expect(resultRecord({ row: old, ledgerId: 7, ledgerState: 'accepted' }).notes).toBe(dst);
    expect(resultRecord({ row: row({ notes: dst }), ledgerId: null, ledgerState: null }).notes).toBe(
      `held until 2026-06-01 11:34 UTC: Microsoft takes conversions for a goal 2 hours after it was created there; closeloop sends it then. ${dst}`,
    );
  });
});
