import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import { applyUpload } from '../../ingest/apply.ts';
import { previewUpload } from '../../ingest/preview.ts';
import { resultRecord, resultsCsv, uploadResultRows } from '../../ingest/results.ts';
import { getUpload } from '../../services/uploads.ts';
import type { Command } from '../command.ts';
import { progressBar } from '../progress.ts';
import { CliError, withDatabase } from '../runtime.ts';

export const importCommand: Command = {
  name: 'import',
  summary: 'Check a conversions (or adjustments) file and put its valid rows into the ledger.',
  usage: `closeloop import FILE [--adjustments] [--preview] [--json]

  FILE            a CSV or XLSX file in Microsoft's offline conversion template
  --adjustments   the file holds adjustments (Restate / Retract), not conversions
  --preview       check and report every row, apply nothing
  --json          print one JSON object per row, then a summary object, on stdout
  --progress      show progress on stderr even when it is not a terminal (e.g. in CI logs)

Exit code: 0 every row was accepted (queued, held or a known duplicate); 1 some rows were rejected
or expired; 2 the file was refused as a whole or the command was wrong.`,
  options: {
    adjustments: { type: 'boolean' },
    preview: { type: 'boolean' },
    json: { type: 'boolean' },
    progress: { type: 'boolean' },
  },
  async run({ values, positionals }) {
    const [file, ...extra] = positionals;
    if (!file || extra.length > 0)
      throw new CliError(`Give exactly one file.\n\nUsage: ${importCommand.usage}`);
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      throw new CliError(`Cannot read ${file}: no such file.`);
    }
    const kind = values.adjustments ? 'adjustments' : 'conversions';
    const json = Boolean(values.json);
    return withDatabase(async (ctx) => {
      const bar = progressBar(`Checking ${basename(file)}`, size, { force: Boolean(values.progress) });
      let upload = await previewUpload({
        ctx,
        input: bar.track(createReadStream(file)),
        filename: basename(file),
        kind,
        onProgress: (rows) => bar.update(rows),
      });
      bar.done(upload.totalRows);
      if (upload.status === 'failed') {
        if (json)
          console.log(
            JSON.stringify({
              summary: true,
              uploadId: upload.id,
              status: 'failed',
              errorCode: upload.errorCode,
              message: upload.errorMessage,
            }),
          );
        throw new CliError(`${file}: ${upload.errorMessage}`, 2);
      }
      if (!values.preview) {
        bar.note(`Applying ${upload.totalRows.toLocaleString('en-US')} rows to the ledger…`);
        upload = await applyUpload({ ctx, uploadId: upload.id });
      }
      let shown = 0;
      for await (const r of uploadResultRows(ctx.database, upload, { errorsOnly: !json })) {
        const rec = resultRecord(r);
        if (json)
          console.log(
            JSON.stringify({
              row: rec.row,
              status: rec.status,
              conversionTimeUtc: rec.conversionTimeUtc,
              errorCode: rec.errorCode,
              message: rec.message,
              ...(rec.notes ? { notes: rec.notes } : {}),
            }),
          );
        else if (shown++ < 20)
          console.error(`  ${rec.status.padEnd(9)} ${rec.errorCode ?? ''} ${rec.message ?? ''}`);
      }
      const counts = upload.counts;
      const bad = (counts.rejected ?? 0) + (counts.expired ?? 0);
      if (json) {
        console.log(
          JSON.stringify({
            summary: true,
            uploadId: upload.id,
            status: upload.status,
            totalRows: upload.totalRows,
            counts,
          }),
        );
      } else {
        if (shown > 20) console.error(`  … ${shown - 20} more; all rows: closeloop results ${upload.id}`);
        const parts = Object.entries(counts).map(([k, v]) => `${v.toLocaleString('en-US')} ${k}`);
        const verb = values.preview ? 'Previewed (nothing applied)' : 'Imported';
        console.log(
          `${verb} ${upload.totalRows.toLocaleString('en-US')} rows from ${basename(file)}: ${parts.join(', ') || 'none'}.`,
        );
        console.log(
          `Upload ${upload.id}${values.preview ? ` — apply it with: closeloop apply ${upload.id}` : ''}`,
        );
        if (upload.unknownColumns.length > 0)
          console.log(
            `Ignored columns: ${upload.unknownColumns.map((u) => `"${u.name}" (column ${u.column})`).join(', ')}`,
          );
      }
      return bad > 0 ? 1 : 0;
    });
  },
};

export const applyCommand: Command = {
  name: 'apply',
  summary: 'Apply an upload that was previewed (closeloop import --preview, or POST /api/v1/uploads).',
  usage: `closeloop apply UPLOAD_ID [--progress]

  --progress   say on stderr when the apply starts, even when stderr is not a terminal`,
  options: { progress: { type: 'boolean' } },
  async run({ values, positionals }) {
    const [id] = positionals;
    if (!id) throw new CliError(`Give the upload id.\n\nUsage: ${applyCommand.usage}`);
    return withDatabase(async (ctx) => {
      if (values.progress || process.stderr.isTTY)
        process.stderr.write(`Applying upload ${id} to the ledger…\n`);
      const upload = await applyUpload({ ctx, uploadId: id });
      const parts = Object.entries(upload.counts).map(([k, v]) => `${v} ${k}`);
      console.log(`Applied ${upload.filename}: ${parts.join(', ')}.`);
      return (upload.counts.rejected ?? 0) + (upload.counts.expired ?? 0) > 0 ? 1 : 0;
    });
  },
};

export const resultsCommand: Command = {
  name: 'results',
  summary: "Print an upload's results as CSV (every row, or only the rows that were not accepted).",
  usage: 'closeloop results UPLOAD_ID [--errors-only]',
  options: { 'errors-only': { type: 'boolean' } },
  async run({ values, positionals }) {
    const [id] = positionals;
    if (!id) throw new CliError(`Give the upload id.\n\nUsage: ${resultsCommand.usage}`);
    return withDatabase(async (ctx) => {
      const upload = await getUpload({ ctx, id });
      for await (const chunk of resultsCsv(ctx.database, upload, {
        errorsOnly: Boolean(values['errors-only']),
      }))
        process.stdout.write(chunk);
      return 0;
    });
  },
};
