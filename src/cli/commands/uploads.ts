import { plural } from '../../domain/plural.ts';
import { CliError } from '../cli-error.ts';
import type { Command } from '../command.ts';

export const uploadsCommand: Command = {
  name: 'uploads',
  summary: 'List uploads and API batches, newest first (status, counts, id), a page at a time.',
  usage: `closeloop uploads [--limit N] [--before ID_OR_TIME] [--source file|api] [--status STATUS] [--json]

  One line per upload: when, FILE (an uploaded file) or API (a batch posted to /api/v1/conversions or
  /adjustments), conversions or adjustments, status, its rows by state now (held rows become queued,
  then accepted …), the file name and the id (closeloop results ID prints its rows).
  GET /api/v1/uploads answers the same.`,
  options: {
    limit: { type: 'string', value: 'N', description: 'how many (1 to 1000, default 20)' },
    before: {
      type: 'string',
      value: 'ID_OR_TIME',
      description: 'the next page: the id printed at the end of the previous one (or an ISO time)',
    },
    source: { type: 'string', value: 'file|api', description: 'only files, or only API batches' },
    status: {
      type: 'string',
      value: 'STATUS',
      description: 'previewing, previewed, applying, applied, applied_with_errors or failed',
    },
    json: { type: 'boolean', description: 'print the page as JSON (as GET /api/v1/uploads)' },
  },
  async run({ values, positionals }) {
    if (positionals.length > 0)
      throw new CliError(
        `uploads takes no argument; got "${positionals[0]}".\n\nUsage: ${uploadsCommand.usage}`,
      );
    const limitText = values.limit === undefined ? '20' : String(values.limit);
    if (!/^\d{1,4}$/.test(limitText))
      throw new CliError(`--limit must be a whole number from 1 to 1000; got "${limitText}".`);
    const limit = Number(limitText);
    const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
    const [{ withDatabase }, { listUploads, rowStates, uploadView }] = await Promise.all([
      import('../runtime.ts'),
      import('../../services/uploads.ts'),
    ]);
    return withDatabase(async (ctx) => {
      const page = await listUploads({
        ctx,
        limit,
        ...(str('before') ? { before: str('before') } : {}),
        ...(str('source') ? { source: str('source') } : {}),
        ...(str('status') ? { status: str('status') } : {}),
      });
      const states = await rowStates(ctx, page.uploads);
      const list = page.uploads.map((u) => uploadView(u, states.get(u.id)));
      if (values.json) console.log(JSON.stringify({ uploads: list, next: page.next }, null, 2));
      else if (list.length === 0) console.log('No uploads yet: closeloop import FILE');
      else {
        for (const u of list) {
          const counts = Object.entries(u.rowStates ?? u.counts)
            .map(([k, v]) => `${v.toLocaleString('en-US')} ${k}`)
            .join(', ');
          console.log(
            `${u.createdAt}  ${u.source === 'api' ? 'API ' : u.source === 'crm' ? 'CRM ' : 'FILE'}  ${u.kind.padEnd(11)}  ${u.status.padEnd(19)}  ${counts || plural(u.totalRows, 'row')}  ${u.source === 'api' ? '' : `${u.filename}  `}${u.id}`,
          );
        }
        if (page.next) console.log(`More: closeloop uploads --before ${page.next}`);
      }
      return 0;
    });
  },
};
