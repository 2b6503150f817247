import { and, asc, eq, inArray } from 'drizzle-orm';
import {
  type Adjustment,
  accounts,
  adjustments,
  type Conversion,
  conversions,
  type Submission,
  submissions,
  type Upload,
  uploads,
} from '../db/schema/index.ts';
import { heldNote } from '../domain/held.ts';
import { AppError } from '../errors.ts';
import type { ServiceContext } from './context.ts';

export interface CarriedBy {
  submission: Submission;
  account: string | null;
  dryRun: boolean;
}

export interface ConversionHistory {
  conversion: Conversion;
  /** The file or API batch it arrived in, when it came through one. */
  upload: Pick<Upload, 'id' | 'filename' | 'source' | 'createdAt'> | null;
  /** Why and until when it is held, while it is. */
  held: string | null;
  /** The call to Microsoft that carried it last. */
  carriedBy: CarriedBy | null;
  /** The conversion this one repeats (it is a duplicate), and the later arrivals that repeat it. */
  duplicateOf: Conversion | null;
  duplicates: Conversion[];
  adjustments: { adjustment: Adjustment; carriedBy: CarriedBy | null }[];
}

/**
 * Everything the ledger knows of one conversion: where it came from, why it waited, which call carried
 * it and what Microsoft answered, its repeats and its adjustments. Read from the rows' own columns (the
 * ledger keeps each row's current state and the last call that carried it, not an event log).
 */
export async function conversionHistory({
  ctx,
  id,
}: {
  ctx: ServiceContext;
  id: number;
}): Promise<ConversionHistory> {
  const { db } = ctx.database;
  const [conversion] = Number.isSafeInteger(id)
    ? await db
        .select()
        .from(conversions)
        .where(and(eq(conversions.id, id), eq(conversions.customerId, ctx.customerId)))
    : [];
  if (!conversion)
    throw new AppError('not_found', `No conversion ${id}. Search the conversions by click ID, goal or day.`);
  const [upload] = conversion.uploadId
    ? await db
        .select({
          id: uploads.id,
          filename: uploads.filename,
          source: uploads.source,
          createdAt: uploads.createdAt,
        })
        .from(uploads)
        .where(eq(uploads.id, conversion.uploadId))
    : [];
  const [duplicateOf] = conversion.duplicateOf
    ? await db.select().from(conversions).where(eq(conversions.id, conversion.duplicateOf))
    : [];
  const duplicates = await db
    .select()
    .from(conversions)
    .where(eq(conversions.duplicateOf, conversion.id))
    .orderBy(asc(conversions.id));
  const adjustmentRows = await db
    .select()
    .from(adjustments)
    .where(eq(adjustments.conversionId, conversion.id))
    .orderBy(asc(adjustments.adjustmentTime), asc(adjustments.id));
  const submissionIds = [conversion.submissionId, ...adjustmentRows.map((a) => a.submissionId)].filter(
    (s): s is string => s !== null,
  );
  const calls = submissionIds.length
    ? await db
        .select({ s: submissions, name: accounts.name, target: accounts.target })
        .from(submissions)
        .leftJoin(accounts, eq(accounts.id, submissions.accountId))
        .where(inArray(submissions.id, submissionIds))
    : [];
  const carried = (sid: string | null): CarriedBy | null => {
    const call = calls.find((c) => c.s.id === sid);
    return call ? { submission: call.s, account: call.name, dryRun: call.target === 'emulator' } : null;
  };
  return {
    conversion,
    upload: upload ?? null,
    held:
      conversion.state === 'held' && conversion.heldUntil
        ? heldNote({
            heldUntil: conversion.heldUntil,
            clickTime: conversion.clickTime,
            errorCode: conversion.errorCode,
          })
        : null,
    carriedBy: carried(conversion.submissionId),
    duplicateOf: duplicateOf ?? null,
    duplicates,
    adjustments: adjustmentRows.map((a) => ({ adjustment: a, carriedBy: carried(a.submissionId) })),
  };
}
