import { Readable } from 'node:stream';
import { Hono } from 'hono';
import { stream } from 'hono/streaming';
import { AppError } from '../../errors.ts';
import { applyUpload } from '../../ingest/apply.ts';
import { previewUpload } from '../../ingest/preview.ts';
import { resultPage, resultRecord, resultsCsv } from '../../ingest/results.ts';
import type { ServiceContext } from '../../services/context.ts';
import { getUpload, listUploads, uploadStatuses, uploadView } from '../../services/uploads.ts';
import { multipartFile } from '../multipart.ts';

type Kind = 'conversions' | 'adjustments';

function kindOf(value: unknown): Kind {
  if (value === undefined || value === '' || value === 'conversions') return 'conversions';
  if (value === 'adjustments') return 'adjustments';
  throw new AppError(
    'validation_failed',
    `kind must be "conversions" or "adjustments"; got ${JSON.stringify(value)}.`,
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
      let input: AsyncIterable<Uint8Array>;
      let filename: string;
      let kind: Kind;
      if (type.startsWith('multipart/form-data')) {
        if (!c.req.raw.body)
          throw new AppError('validation_failed', 'The request has no body; send the file.');
        const part = await multipartFile(c.req.raw.body, type);
        input = part.stream;
        filename = part.filename;
        kind = kindOf(part.fields.kind ?? c.req.query('kind'));
      } else {
        // A raw body is streamed straight into the reader: memory stays flat for a 100,000-row file.
        if (!c.req.raw.body)
          throw new AppError('validation_failed', 'The request has no body; send the CSV or XLSX file.');
        input = Readable.fromWeb(c.req.raw.body as never);
        filename = c.req.query('filename') ?? (type.includes('spreadsheetml') ? 'upload.xlsx' : 'upload.csv');
        kind = kindOf(c.req.query('kind'));
      }
      const upload = await previewUpload({ ctx, input, filename, kind });
      return c.json(uploadView(upload), upload.status === 'failed' ? 422 : 201);
    })
    .get('/', async (c) => {
      const status = c.req.query('status');
      if (status && !uploadStatuses.includes(status as never))
        throw new AppError('validation_failed', `status must be one of ${uploadStatuses.join(', ')}.`);
      const list = await listUploads({ ctx, status: status as never });
      return c.json({ uploads: list.map(uploadView) });
    })
    .get('/:id', async (c) => c.json(uploadView(await getUpload({ ctx, id: c.req.param('id') }))))
    .post('/:id/apply', async (c) =>
      c.json(uploadView(await applyUpload({ ctx, uploadId: c.req.param('id') }))),
    )
    .get('/:id/rows', async (c) => {
      const upload = await getUpload({ ctx, id: c.req.param('id') });
      const after = Number(c.req.query('after') ?? 0);
      const limit = Math.min(Math.max(Number(c.req.query('limit') ?? 100), 1), 1000);
      const statuses = c.req.query('status')?.split(',').filter(Boolean);
      if (!Number.isInteger(after) || Number.isNaN(limit))
        throw new AppError('validation_failed', 'after and limit must be whole numbers.');
      const rows = await resultPage(ctx.database, upload, {
        after,
        limit,
        ...(statuses ? { statuses } : {}),
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
      const upload = await getUpload({ ctx, id: c.req.param('id') });
      const errorsOnly = c.req.query('errors') === 'only';
      const name = `${upload.filename.replace(/\.[^.]*$/, '').replace(/[^\w.-]+/g, '_')}-${errorsOnly ? 'errors' : 'results'}.csv`;
      c.header('content-type', 'text/csv; charset=utf-8');
      c.header('content-disposition', `attachment; filename="${name}"`);
      return stream(c, async (s) => {
        for await (const chunk of resultsCsv(ctx.database, upload, { errorsOnly })) await s.write(chunk);
      });
    });
}
