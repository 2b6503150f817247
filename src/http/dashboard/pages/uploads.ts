import { Hono } from 'hono';
import { html } from 'hono/html';
import { stream } from 'hono/streaming';
import type { Upload } from '../../../db/schema/index.ts';
import { plural } from '../../../domain/plural.ts';
import { AppError } from '../../../errors.ts';
import { applyUpload } from '../../../ingest/apply.ts';
import { previewUpload } from '../../../ingest/preview.ts';
import {
  errorStatuses,
  resultPage,
  resultRecord,
  resultsCsv,
  resultsFileName,
} from '../../../ingest/results.ts';
import { isUuid } from '../../../services/ids.ts';
import { getUpload, listUploads, rowStates } from '../../../services/uploads.ts';
import { limitBody, payloadTooLarge } from '../../body.ts';
import { multipartFile } from '../../multipart.ts';
import { csrfInput, href, notice, refused, render, stateBadge, utc } from '../layout.ts';
import type { DashboardPage } from '../pages.ts';
import { base, csrfField, csrfMatches, type DashboardEnv } from '../session.ts';

/** Where the upload form posts (multipart: its CSRF field is checked here, before the file is read). */
export const uploadFormPath = `${base}/uploads`;
/** Rows shown per page of an upload's preview or results. */
const rowsPerPage = 200;

const kindField = ['conversions', 'adjustments'] as const;

function countsText(counts: Record<string, number>): string {
  const parts = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${n} ${state}`);
  return parts.length ? parts.join(' · ') : '—';
}

function uploadId(id: string): string {
  if (!isUuid(id))
    throw new AppError(
      'not_found',
      `No upload ${id} (upload ids are UUIDs). Open one from the uploads list.`,
    );
  return id;
}

function downloads(u: Upload) {
  return html`<a href="${href(`/uploads/${u.id}/results.csv`)}" download>Download all results</a> ·
    <a href="${href(`/uploads/${u.id}/results.csv`, { errors: 'only' })}" download>Download errors only</a>`;
}

const uploadForm = (
  csrf: string,
) => html`<form method="post" action="${uploadFormPath}" enctype="multipart/form-data" class="card" data-busy="Uploading…">
  <h2>Upload a file</h2>
  <input type="hidden" name="${csrfField}" value="${csrf}" />
  <div class="fields">
    <div>
      <label for="kind">Kind</label>
      <select id="kind" name="kind">
        <option value="">From the file's columns</option>
        <option value="conversions">Conversions</option>
        <option value="adjustments">Adjustments (Restate / Retract)</option>
      </select>
    </div>
    <div>
      <label for="file">CSV or XLSX file (Microsoft's template)</label>
      <input id="file" name="file" type="file" required accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" />
    </div>
    <div><button type="submit">Preview</button></div>
  </div>
  <p class="help">Nothing is sent before you apply: the preview checks every row and says what to fix.</p>
</form>`;

export const uploadsPage: DashboardPage = {
  nav: { path: '/uploads', label: 'Uploads' },
  routes: ({ ctx, maxUploadBytes }) =>
    new Hono<DashboardEnv>()
      .get('/', async (c) => {
        const before = c.req.query('before') || undefined;
        const page = await listUploads({ ctx, limit: 50, ...(before ? { before } : {}) });
        const states = await rowStates(ctx, page.uploads);
        const applied = c.req.query('applied');
        const body = html`${applied && isUuid(applied) ? notice('ok', 'Changes applied: the rows are in the ledger and the submitter sends them to Microsoft. Their states below move as it does.') : ''}
          ${uploadForm(c.var.shell.csrf)}
          <div class="table-wrap"${page.uploads.some((u) => states.get(u.id)?.queued || states.get(u.id)?.submitting) ? html` data-refresh-seconds="5"` : ''}>
          <table>
            <caption>Files and API batches, newest first (results are kept 180 days)</caption>
            <thead><tr><th scope="col">Uploaded</th><th scope="col">File</th><th scope="col">Kind</th><th scope="col">Status</th><th scope="col" class="num">Rows</th><th scope="col">Rows now</th><th scope="col">Results</th></tr></thead>
            <tbody>
              ${page.uploads.map(
                (u) => html`<tr>
                  <td>${utc(u.createdAt)}</td>
                  <td><a href="${href(`/uploads/${u.id}`)}">${u.filename}</a>${u.source === 'api' ? html` <span class="muted">(API batch)</span>` : ''}</td>
                  <td>${u.kind}</td>
                  <td>${stateBadge(u.status)}</td>
                  <td class="num">${u.totalRows}</td>
                  <td>${countsText(states.get(u.id) ?? u.counts)}</td>
                  <td>${u.status === 'previewing' || u.status === 'failed' ? '' : downloads(u)}</td>
                </tr>`,
              )}
            </tbody>
          </table></div>
          ${page.uploads.length === 0 ? html`<p>No uploads yet.</p>` : ''}
          ${page.next ? html`<p class="pager"><a href="${href('/uploads', { before: page.next })}">Older uploads</a></p>` : ''}`;
        return render(c, { title: 'Uploads', active: '/uploads', body });
      })
      .post(
        '/',
        limitBody(maxUploadBytes, () =>
          payloadTooLarge(
            maxUploadBytes,
            'The file',
            'Split it into several uploads, or raise CLOSELOOP_MAX_UPLOAD_MB where closeloop runs.',
          ),
        ),
        async (c) => {
          const type = c.req.header('content-type') ?? '';
          if (!type.startsWith('multipart/form-data') || !c.req.raw.body)
            throw new AppError('bad_request', 'Choose a file with the form on the uploads page.');
          const part = await multipartFile(c.req.raw.body, type);
          // The token comes before the file in the form: a forged request is refused before the file is read.
          if (!csrfMatches(c.var.session, part.fields[csrfField])) {
            part.stream.destroy();
            return refused(c);
          }
          const kind = part.fields.kind;
          if (kind && !kindField.includes(kind as never)) {
            part.stream.destroy();
            throw new AppError('bad_request', `Kind must be conversions or adjustments; got "${kind}".`);
          }
          const upload = await previewUpload({
            ctx,
            input: part.stream,
            filename: part.filename.slice(0, 255) || 'upload',
            kind: (kind || undefined) as (typeof kindField)[number] | undefined,
          });
          return c.redirect(href(`/uploads/${upload.id}`), 303);
        },
      )
      .get('/:id', async (c) => {
        const upload = await getUpload({ ctx, id: uploadId(c.req.param('id')) });
        const errorsOnly = c.req.query('errors') === 'only';
        const after = Number(c.req.query('after') ?? -1);
        const rows = await resultPage(ctx.database, upload, {
          after: Number.isSafeInteger(after) ? after : -1,
          limit: rowsPerPage,
          ...(errorsOnly ? { statuses: errorStatuses } : {}),
        });
        const records = rows.map(resultRecord);
        const states = (await rowStates(ctx, [upload])).get(upload.id) ?? upload.counts;
        const bad = (s: string) => (errorStatuses as readonly string[]).includes(s);
        const adjustments = upload.kind === 'adjustments';
        const last = records[records.length - 1];
        const body = html`<dl class="facts">
            <dt>File</dt><dd>${upload.filename} (${upload.kind})</dd>
            <dt>Status</dt><dd>${stateBadge(upload.status)}</dd>
            <dt>Rows</dt><dd>${upload.totalRows}: ${countsText(states)}</dd>
            ${upload.timeZone ? html`<dt>Time zone</dt><dd>${upload.timeZone}</dd>` : ''}
            ${upload.unknownColumns.length ? html`<dt>Columns ignored</dt><dd>${upload.unknownColumns.map((u) => u.name).join(', ')}</dd>` : ''}
          </dl>
          ${upload.errorCode ? notice('error', `${upload.errorMessage ?? upload.errorCode}`) : ''}
          ${
            upload.status === 'previewed'
              ? html`<form method="post" action="${href(`/uploads/${upload.id}/apply`)}" class="actions" data-busy="Applying…">
                  ${csrfInput(c.var.shell.csrf)}
                  <button type="submit">Apply changes</button>
                  <span class="help">${upload.counts.rejected ? `${plural(upload.counts.rejected, 'row')} with errors ${upload.counts.rejected === 1 ? 'is' : 'are'} left out; the others go to the ledger.` : 'Every row goes to the ledger.'} Download the errors, fix them and upload them again.</span>
                </form>`
              : ''
          }
          ${upload.status !== 'previewing' && upload.status !== 'failed' ? html`<p class="actions">${downloads(upload)}</p>` : ''}
          <p>${errorsOnly ? html`Showing rows with errors. <a href="${href(`/uploads/${upload.id}`)}">Show every row</a>` : html`<a href="${href(`/uploads/${upload.id}`, { errors: 'only' })}">Show only rows with errors</a>`}</p>
          <div class="table-wrap"${states.queued || states.submitting ? html` data-refresh-seconds="5"` : ''}>
          <table>
            <caption>${upload.status === 'previewed' ? 'Preview: what applying would do with each row' : 'Each row and what became of it'}</caption>
            <thead><tr><th scope="col" class="num">Row</th><th scope="col">Status</th><th scope="col">What to fix / notes</th><th scope="col">Conversion Name</th><th scope="col">Click ID</th><th scope="col">Conversion Time (UTC)</th>${adjustments ? html`<th scope="col">Adjustment</th>` : html`<th scope="col">Value</th>`}<th scope="col">Ledger</th></tr></thead>
            <tbody>
              ${records.map(
                (r) => html`<tr${bad(r.status) ? html` class="row-error"` : ''}>
                  <td class="num">${r.row}</td>
                  <td>${stateBadge(r.status)}</td>
                  <td class="fix">${r.errorCode ? html`<strong>${r.errorCode}</strong>${r.errorColumn ? ` (${r.errorColumn})` : ''}: ` : ''}${r.message ?? ''}${r.notes ? html` <span class="muted">${r.notes}</span>` : ''}</td>
                  <td>${r.conversionName ?? ''}</td>
                  <td>${r.clickId ? html`<code>${r.clickId}</code>` : ''}</td>
                  <td class="time">${r.conversionTimeUtc ?? ''}</td>
                  <td>${adjustments ? `${r.adjustmentType ?? ''} ${r.adjustmentTimeUtc ?? ''} ${r.value ?? ''}` : `${r.value ?? ''} ${r.currency ?? ''}`}</td>
                  <td>${r.ledgerId !== null && !adjustments ? html`<a href="${href(`/conversions/${r.ledgerId}`)}">#${r.ledgerId}</a>` : r.ledgerId !== null ? `#${r.ledgerId}` : ''}</td>
                </tr>`,
              )}
            </tbody>
          </table></div>
          ${records.length === rowsPerPage && last ? html`<p class="pager"><a href="${href(`/uploads/${upload.id}`, { after: last.row, ...(errorsOnly ? { errors: 'only' } : {}) })}">Next rows</a></p>` : ''}`;
        return render(c, { title: `Upload ${upload.filename}`, active: '/uploads', body });
      })
      .post('/:id/apply', async (c) => {
        const upload = await applyUpload({ ctx, uploadId: uploadId(c.req.param('id')) });
        return c.redirect(href('/uploads', { applied: upload.id }), 303);
      })
      .get('/:id/results.csv', async (c) => {
        const upload = await getUpload({ ctx, id: uploadId(c.req.param('id')) });
        const errorsOnly = c.req.query('errors') === 'only';
        c.header('content-type', 'text/csv; charset=utf-8');
        c.header('content-disposition', `attachment; filename="${resultsFileName(upload, errorsOnly)}"`);
        return stream(c, async (s) => {
          for await (const chunk of resultsCsv(ctx.database, upload, { errorsOnly })) await s.write(chunk);
        });
      }),
};
