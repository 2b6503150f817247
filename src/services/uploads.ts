import { and, desc, eq } from 'drizzle-orm';
import { type Upload, uploads } from '../db/schema/index.ts';
import { AppError } from '../errors.ts';
import type { ServiceContext } from './context.ts';
import { isUuid } from './ids.ts';

export const uploadStatuses = [
  'previewing',
  'previewed',
  'applying',
  'applied',
  'applied_with_errors',
  'failed',
] as const;

export function uploadView(u: Upload) {
  const base = `/api/v1/uploads/${u.id}`;
  return {
    id: u.id,
    kind: u.kind,
    filename: u.filename,
    status: u.status,
    totalRows: u.totalRows,
    counts: u.counts,
    timeZone: u.timeZone,
    unknownColumns: u.unknownColumns,
    error: u.errorCode ? { code: u.errorCode, message: u.errorMessage } : null,
    createdAt: u.createdAt.toISOString(),
    appliedAt: u.appliedAt?.toISOString() ?? null,
    expiresAt: u.expiresAt.toISOString(),
    links: {
      self: base,
      apply: u.status === 'previewed' ? `${base}/apply` : null,
      rows: `${base}/rows`,
      results: `${base}/results.csv`,
      errors: `${base}/results.csv?errors=only`,
    },
  };
}

export async function getUpload({ ctx, id }: { ctx: ServiceContext; id: string }): Promise<Upload> {
  const [row] = isUuid(id)
    ? await ctx.database.db
        .select()
        .from(uploads)
        .where(and(eq(uploads.id, id), eq(uploads.customerId, ctx.customerId)))
    : [];
  if (!row)
    throw new AppError(
      'not_found',
      `No upload ${id} (results are kept 180 days). List uploads with GET /api/v1/uploads.`,
    );
  return row;
}

/** File uploads, newest first (API batches are staged as uploads too but are not listed here). */
export async function listUploads({
  ctx,
  status,
  limit = 100,
}: {
  ctx: ServiceContext;
  status?: Upload['status'];
  limit?: number;
}): Promise<Upload[]> {
  return ctx.database.db
    .select()
    .from(uploads)
    .where(
      and(
        eq(uploads.customerId, ctx.customerId),
        eq(uploads.source, 'file'),
        status ? eq(uploads.status, status) : undefined,
      ),
    )
    .orderBy(desc(uploads.createdAt))
    .limit(limit);
}
