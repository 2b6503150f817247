export * from './adjustments.ts';
export * from './api-keys.ts';
export * from './conversions.ts';
export * from './goals.ts';
export * from './ledger-columns.ts';
export * from './upload-rows.ts';
export * from './uploads.ts';
