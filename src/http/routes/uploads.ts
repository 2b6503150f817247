import { Readable } from 'node:stream';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { stream } from 'hono/streaming';
import { z } from 'zod';
import { conversionStates } from '../../db/schema/ledger-columns.ts';
import { AppError } from '../../errors.ts';
import { applyUpload } from '../../ingest/apply.ts';
import { previewUpload } from '../../ingest/preview.ts';
import { resultPage, resultRecord, resultsCsv, resultsFileName } from '../../ingest/results.ts';
import type { ServiceContext } from '../../services/context.ts';
import {
  getUpload,
  listUploads,
  rowStates,
  uploadSources,
  uploadStatuses,
  uploadView,
} from '../../services/uploads.ts';
import { multipartFile } from '../multipart.ts';
import { jsonObject, type RouteDoc } from '../openapi.ts';
import { listOf, oneOf, pathParam, plainText, queryParams, uuid, wholeNumber } from '../params.ts';

const kinds = ['conversions', 'adjustments'] as const;
/** What a row of an upload can be: its outcome, then the state of the ledger row it became. */
const rowStatuses = [...new Set(['ok', 'held', 'duplicate', 'rejected', 'expired', ...conversionStates])] as [
  string,
  ...string[],
];
/** PostgreSQL's int, the type of a row number; `after` is the last row seen (-1: from the start). */
const maxRowNumber = 2_147_483_647;

const uploadQuery = { kind: oneOf(kinds), filename: plainText(255) };
const listQuery = {
  status: oneOf(uploadStatuses),
  source: oneOf(uploadSources),
  limit: wholeNumber(1, 1000),
};
const rowsQuery = {
  after: wholeNumber(-1, maxRowNumber),
  limit: wholeNumber(1, 1000),
  status: listOf(rowStatuses),
};
const resultsQuery = { errors: oneOf(['only']) };
const uploadIdSchema = uuid('an upload');

function uploadId(c: Context): string {
  return pathParam(
    c,
    'id',
    uploadIdSchema,
    (id) => `No upload ${JSON.stringify(id)} (upload ids are UUIDs). List uploads with GET /api/v1/uploads.`,
  );
}

/**
 * Uploads: POST a file (multipart field "file", or the raw CSV/XLSX body with ?filename=), get a
 * preview with one outcome per row, apply it, download the results for 180 days.
 */
export function uploadRoutes(ctx: ServiceContext) {
  return new Hono()
    .post('/', async (c) => {
      const type = c.req.header('content-type') ?? '';
      const query = queryParams(c, uploadQuery);
      let input: AsyncIterable<Uint8Array>;
      let filename: string;
      // No kind: the file's header says (an Adjustment Type or Time column: adjustments).
      let kind: (typeof kinds)[number] | undefined;
      if (type.startsWith('multipart/form-data')) {
        if (!c.req.raw.body)
          throw new AppError('validation_failed', 'The request has no body; send the file.');
        const part = await multipartFile(c.req.raw.body, type);
        const fields = z
          .object(uploadQuery)
          .partial()
          .safeParse({ kind: part.fields.kind || undefined, filename: part.filename });
        if (!fields.success) {
          part.stream.destroy();
          const issue = fields.error.issues[0]!;
          throw new AppError('bad_request', `Invalid form field ${String(issue.path[0])}: ${issue.message}.`);
        }
        input = part.stream;
        filename = fields.data.filename ?? 'upload';
        kind = fields.data.kind ?? query.kind;
      } else {
        // A raw body is streamed straight into the reader: memory stays flat for a 100,000-row file.
        if (!c.req.raw.body)
          throw new AppError('validation_failed', 'The request has no body; send the CSV or XLSX file.');
        input = Readable.fromWeb(c.req.raw.body as never);
        filename = query.filename ?? (type.includes('spreadsheetml') ? 'upload.xlsx' : 'upload.csv');
        kind = query.kind;
      }
      const upload = await previewUpload({ ctx, input, filename, kind });
      return c.json(uploadView(upload), upload.status === 'failed' ? 422 : 201);
    })
    .get('/', async (c) => {
      const { status, source, limit } = queryParams(c, listQuery);
      // An upload id (what `next` carries) or an ISO time: the service says which it takes.
      const before = c.req.query('before') || undefined;
      const page = await listUploads({
        ctx,
        ...(status ? { status } : {}),
        ...(source ? { source } : {}),
        ...(limit !== undefined ? { limit } : {}),
        ...(before ? { before } : {}),
      });
      const query = new URLSearchParams({
        ...(status ? { status } : {}),
        ...(source ? { source } : {}),
        ...(limit !== undefined ? { limit: String(limit) } : {}),
        ...(page.next ? { before: page.next } : {}),
      });
      const states = await rowStates(ctx, page.uploads);
      return c.json({
        uploads: page.uploads.map((u) => uploadView(u, states.get(u.id))),
        next: page.next ? `/api/v1/uploads?${query}` : null,
      });
    })
    .get('/:id', async (c) => {
      const upload = await getUpload({ ctx, id: uploadId(c) });
      return c.json(uploadView(upload, (await rowStates(ctx, [upload])).get(upload.id)));
    })
    .post('/:id/apply', async (c) => c.json(uploadView(await applyUpload({ ctx, uploadId: uploadId(c) }))))
    .get('/:id/rows', async (c) => {
      const upload = await getUpload({ ctx, id: uploadId(c) });
      const query = queryParams(c, rowsQuery);
      const limit = query.limit ?? 100;
      const rows = await resultPage(ctx.database, upload, {
        after: query.after ?? -1,
        limit,
        ...(query.status && query.status.length > 0 ? { statuses: query.status } : {}),
      });
      const last = rows[rows.length - 1];
      return c.json({
        rows: rows.map(resultRecord),
        next:
          rows.length === limit && last
            ? `/api/v1/uploads/${upload.id}/rows?after=${last.row}&limit=${limit}`
            : null,
      });
    })
    .get('/:id/results.csv', async (c) => {
      const upload = await getUpload({ ctx, id: uploadId(c) });
      const errorsOnly = queryParams(c, resultsQuery).errors === 'only';
      const name = resultsFileName(upload, errorsOnly);
      c.header('content-type', 'text/csv; charset=utf-8');
      c.header('content-disposition', `attachment; filename="${name}"`);
      return stream(c, async (s) => {
        for await (const chunk of resultsCsv(ctx.database, upload, { errorsOnly })) await s.write(chunk);
      });
    });
}

const uploadParam = { id: { description: 'The upload id (a UUID).', schema: uploadIdSchema } };
const anUpload = {
  200: { description: 'The upload, with its status and counts.', schema: jsonObject },
  404: { description: 'No such upload.' },
};
/** A file as the request body: CSV or XLSX bytes, or a multipart form with the file in "file". */
const fileBody = z.string().describe('the file');

export const uploadDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/uploads',
    tag: 'uploads',
    summary: 'Upload a conversions or adjustments file and preview it',
    description:
      'Send the file as multipart/form-data (field "file", optional field "kind") or as the raw body (text/csv or the XLSX type) with ?filename=. Each row gets an outcome; nothing reaches the ledger until the upload is applied.',
    query: uploadQuery,
    body: {
      content: {
        'multipart/form-data': {
          schema: z.object({ kind: oneOf(kinds).optional(), file: fileBody }),
        },
        'text/csv': { schema: fileBody },
        'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': { schema: fileBody },
      },
    },
    responses: {
      201: { description: 'The preview: the upload with counts per outcome.', schema: jsonObject },
      413: { description: 'The file is larger than CLOSELOOP_MAX_UPLOAD_MB.' },
      422: {
        description: 'The file cannot be read as a conversions or adjustments file (status failed).',
        schema: jsonObject,
      },
    },
  },
  {
    method: 'get',
    path: '/uploads',
    tag: 'uploads',
    summary: 'List uploads and API batches, newest first',
    query: { ...listQuery, before: z.string().describe('an upload id (from `next`) or an ISO time') },
    responses: {
      200: { description: '`{ uploads: [...], next }`', schema: jsonObject },
      400: { description: 'A bad query parameter.' },
    },
  },
  {
    method: 'get',
    path: '/uploads/:id',
    tag: 'uploads',
    summary: 'Read an upload',
    params: uploadParam,
    responses: anUpload,
  },
  {
    method: 'post',
    path: '/uploads/:id/apply',
    tag: 'uploads',
    summary: 'Apply a previewed upload: its valid rows go to the ledger',
    params: uploadParam,
    responses: {
      ...anUpload,
      409: { description: 'The upload cannot be applied (already applied, failed, expired).' },
    },
  },
  {
    method: 'get',
    path: '/uploads/:id/rows',
    tag: 'uploads',
    summary: "An upload's rows with their outcome, a page at a time",
    params: uploadParam,
    query: rowsQuery,
    responses: { ...anUpload, 200: { description: '`{ rows: [...], next }`', schema: jsonObject } },
  },
  {
    method: 'get',
    path: '/uploads/:id/results.csv',
    tag: 'uploads',
    summary: "Download an upload's results (every row, or errors only)",
    params: uploadParam,
    query: resultsQuery,
    responses: {
      200: { description: 'The results as CSV.', contentType: 'text/csv', schema: z.string() },
      404: { description: 'No such upload.' },
    },
  },
];
