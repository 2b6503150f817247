import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import { plural } from '../../domain/plural.ts';
import { CliError } from '../cli-error.ts';
import type { Command } from '../command.ts';
import { progressBar } from '../progress.ts';

export const importCommand: Command = {
  name: 'import',
  summary: 'Check a conversions (or adjustments) file and put its valid rows into the ledger.',
  usage: `closeloop import FILE [--adjustments] [--preview] [--json] [--progress]

  FILE   a CSV or XLSX file in Microsoft's offline conversion template. A file whose header has an
         Adjustment Type or Adjustment Time column is an adjustments file, and is read as one.`,
  options: {
    adjustments: {
      type: 'boolean',
      description: 'the file must be an adjustments file (Restate / Retract); a conversions file is refused',
    },
    preview: { type: 'boolean', description: 'check and report every row, apply nothing' },
    json: { type: 'boolean', description: 'print one JSON object per row, then a summary object, on stdout' },
    progress: {
      type: 'boolean',
      description: 'show progress on stderr even when it is not a terminal (e.g. in CI logs)',
    },
  },
  details: `Exit code: 0 every row was accepted (queued, held or a known duplicate); 1 some rows were rejected
or expired; 2 the file was refused as a whole or the command was wrong.`,
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
    const [{ withDatabase }, { previewUpload }, { applyUpload }, { printUploadReport }] = await Promise.all([
      import('../runtime.ts'),
      import('../../ingest/preview.ts'),
      import('../../ingest/apply.ts'),
      import('../upload-report.ts'),
    ]);
    // Without --adjustments the header decides: Adjustment Type / Adjustment Time columns make it one.
    const asked = values.adjustments ? ('adjustments' as const) : undefined;
    const json = Boolean(values.json);
    return withDatabase(async (ctx) => {
      const bar = progressBar(`Checking ${basename(file)}`, size, { force: Boolean(values.progress) });
      let upload = await previewUpload({
        ctx,
        input: bar.track(createReadStream(file)),
        filename: basename(file),
        ...(asked ? { kind: asked } : {}),
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
      const detected = asked === undefined && upload.kind === 'adjustments';
      if (!values.preview) {
        bar.note(`Applying ${plural(upload.totalRows, 'row')} to the ledger…`);
        upload = await applyUpload({ ctx, uploadId: upload.id });
      }
      return printUploadReport({
        ctx,
        upload,
        label: basename(file),
        json,
        preview: Boolean(values.preview),
        kindDetected: detected,
      });
    });
  },
};

export const applyCommand: Command = {
  name: 'apply',
  summary: 'Apply an upload that was previewed (closeloop import --preview, or POST /api/v1/uploads).',
  usage: 'closeloop apply UPLOAD_ID [--progress]',
  options: {
    progress: {
      type: 'boolean',
      description: 'say on stderr when the apply starts, even when stderr is not a terminal',
    },
  },
  async run({ values, positionals }) {
    const [id] = positionals;
    if (!id) throw new CliError(`Give the upload id.\n\nUsage: ${applyCommand.usage}`);
    const [{ withDatabase }, { applyUpload }] = await Promise.all([
      import('../runtime.ts'),
      import('../../ingest/apply.ts'),
    ]);
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
  options: {
    'errors-only': {
      type: 'boolean',
      description: 'only the rows that were not accepted (rejected, duplicate, expired, failed)',
    },
  },
  async run({ values, positionals }) {
    const [id] = positionals;
    if (!id) throw new CliError(`Give the upload id.\n\nUsage: ${resultsCommand.usage}`);
    const [{ withDatabase }, { resultsCsv }, { getUpload }] = await Promise.all([
      import('../runtime.ts'),
      import('../../ingest/results.ts'),
      import('../../services/uploads.ts'),
    ]);
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
