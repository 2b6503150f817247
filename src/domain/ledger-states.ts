/** The states of a ledger row (DESIGN.md, "One ledger"), in the order they are shown. */
export const conversionStates = [
  'held',
  'queued',
  'submitting',
  'accepted',
  'rejected',
  'duplicate',
  'expired',
  'failed',
] as const;
export type ConversionState = (typeof conversionStates)[number];
