import { plural } from '../../domain/plural.ts';
import type { DrainReport } from '../../submit/submitter.ts';
import type { Command } from '../command.ts';
import { progressBar } from '../progress.ts';

export const submitCommand: Command = {
  name: 'submit',
  summary:
    'Send the conversions and adjustments that are due to Microsoft Advertising, then exit (for cron).',
  usage: `closeloop submit --once [--json] [--progress]

  Sends every row that is due now, through every account, respecting the accounts' rate limits, and
  exits. Rows waiting for a retry later, held rows (goal under 2 hours old, click under 1 hour old) and
  throttled accounts are left for the next run. \`closeloop serve\` does this continuously.
  A progress line (rows answered, rows/s) shows on a terminal; --progress shows it in logs too. When
  nothing was sent, it says what waits and until when (as \`closeloop status\` does).
  Exit code: 0 when nothing needs you; 1 when some rows ended failed (see \`closeloop retry\`), when an
  account is paused by an error to fix (Microsoft refused its credentials, or its calls got answers
  that are not Microsoft's, such as a 404 page from a wrong MSADS_API_BASE_URL: its rows stay
  queued), when Microsoft refused to create or change a goal, or when sending through an account
  failed. Each is named on stderr with the reason
  (LOG_LEVEL=debug adds the stack).`,
  options: {
    once: { type: 'boolean', description: 'send what is due now, then exit' },
    json: { type: 'boolean', description: 'print the report as JSON' },
    progress: { type: 'boolean', description: 'show the progress line even when stderr is not a terminal' },
  },
  async run({ values }) {
    const [
      { withDatabase },
      { createLogger },
      { queueStatus, statusSetup },
      { openSending },
      { emptyReport },
    ] = await Promise.all([
      import('../runtime.ts'),
      import('../../log.ts'),
      import('../../services/status.ts'),
      import('../../submit/runtime.ts'),
      import('../../submit/submitter.ts'),
    ]);
    return withDatabase(async (ctx, config) => {
      const log = createLogger(config.logLevel);
      const sending = await openSending(ctx, config, log);
      if (sending.dryRun)
        log.warn('dry run: no Microsoft Advertising account is configured; rows go to the built-in emulator');
      const started = Date.now();
      const report = emptyReport();
      const bar = progressBar('Sending', undefined, { force: Boolean(values.progress) });
      const finished = (r: DrainReport) => r.accepted + r.rejected + r.held + r.failed;
      const timer = setInterval(() => bar.update(finished(report)), 250);
      try {
        await sending.submitter.drain({ report });
      } finally {
        clearInterval(timer);
      }
      if (finished(report) > 0) bar.done(finished(report));
      const seconds = (Date.now() - started) / 1000;
      for (const p of report.pauses)
        console.error(`Account "${p.account}" is paused until ${p.until}; its rows stay queued. ${p.reason}`);
      for (const g of report.goalErrors)
        console.error(
          `Goal "${g.goal}" is not in sync with account "${g.account}"; its rows wait (tried again every 5 minutes). ${g.error}`,
        );
      for (const e of report.accountErrors) {
        console.error(`Sending through account "${e.account}" failed: ${e.error}`);
        if (config.logLevel === 'debug' && e.stack) console.error(e.stack);
      }
      if (report.accountErrors.length > 0 && config.logLevel !== 'debug')
        console.error('Run with LOG_LEVEL=debug to see where it failed.');
      const json = { ...report, accountErrors: report.accountErrors.map(({ stack: _, ...e }) => e) };
      // Nothing sent: say what waits and until when, or "0 calls" explains nothing.
      const waiting =
        report.calls === 0 ? (await queueStatus({ ctx, setup: statusSetup(config) })).summary : undefined;
      if (values.json) console.log(JSON.stringify({ ...json, dryRun: sending.dryRun, seconds, waiting }));
      else if (waiting !== undefined) {
        const done = [
          report.goalsCreated > 0 ? `${plural(report.goalsCreated, 'goal')} created at Microsoft` : '',
          report.expired > 0 ? `${plural(report.expired, 'row')} expired (older than 90 days)` : '',
        ].filter(Boolean);
        console.log(
          `${sending.dryRun ? '[dry run] ' : ''}0 calls${done.length > 0 ? ` (${done.join(', ')})` : ''}: ${waiting}.`,
        );
      } else
        console.log(
          `${sending.dryRun ? '[dry run] ' : ''}${plural(report.calls, 'call')} in ${seconds.toFixed(1)} s: ${report.accepted} accepted, ${report.rejected} rejected, ${report.retried} to retry, ${report.failed} failed, ${report.held} held, ${report.expired} expired, ${report.throttled} throttled.` +
            (report.skippedAccounts.length > 0
              ? ` Skipped (paused): ${report.skippedAccounts.join(', ')}.`
              : ''),
        );
      const needsYou =
        report.failed + report.pauses.length + report.goalErrors.length + report.accountErrors.length > 0;
      return needsYou ? 1 : 0;
    });
  },
};

export const retryCommand: Command = {
  name: 'retry',
  summary: 'Queue again the rows that failed after their last attempt (after fixing the cause).',
  usage: `closeloop retry [--upload ID] [--rejected-by-call]

  Rows end "failed" when Microsoft kept answering with a transient error (0, 5612, HTTP 5xx, timeouts)
  until the attempts ran out (SUBMIT_MAX_ATTEMPTS). This gives them fresh attempts; the next
  \`closeloop submit --once\` or the running service sends them. Rows Microsoft rejected are not
  retried: fix the data and upload them again.`,
  options: {
    upload: { type: 'string', value: 'ID', description: "only this upload's failed rows" },
    'rejected-by-call': {
      type: 'boolean',
      description:
        'also queue again the rows that earlier releases rejected because a whole call failed (an HTML 404 from a wrong MSADS_API_BASE_URL, an unknown error code): their message begins "Microsoft refused the request carrying this row", and the adjustments rejected because their conversion was',
    },
  },
  async run({ values }) {
    const [{ withDatabase }, { retryFailedRows }] = await Promise.all([
      import('../runtime.ts'),
      import('../../services/submissions.ts'),
    ]);
    return withDatabase(async (ctx) => {
      const upload = values.upload as string | undefined;
      const byCall = Boolean(values['rejected-by-call']);
      const { queued, rejectedByCall } = await retryFailedRows({
        ctx,
        ...(upload ? { uploadId: upload } : {}),
        rejectedByCall: byCall,
      });
      if (!byCall) console.log(`${plural(queued, 'failed row')} queued again.`);
      else
        console.log(
          `${plural(queued, 'row')} queued again: ${queued - (rejectedByCall ?? 0)} failed, ${rejectedByCall ?? 0} rejected by a whole-call failure.`,
        );
      return 0;
    });
  },
};

export const submissionsCommand: Command = {
  name: 'submissions',
  summary: 'List the calls made to Microsoft Advertising, newest first (outcome, counts, TrackingId).',
  usage: `closeloop submissions [--limit N] [--json]

  One line per call: when, account (DRY RUN for the built-in emulator), items, accepted / rejected /
  retried, the outcome, Microsoft's error and the TrackingId (quote it to Microsoft support).
  --limit N   how many (1 to 1000, default 20)`,
  options: {
    limit: {
      type: 'string',
      value: 'N',
      description: 'how many calls, newest first (1 to 1000, default 20)',
    },
    json: { type: 'boolean', description: 'print the calls as JSON' },
  },
  async run({ values }) {
    const limit = values.limit === undefined ? 20 : Number(values.limit);
    const [{ withDatabase }, { listSubmissions }] = await Promise.all([
      import('../runtime.ts'),
      import('../../services/submissions.ts'),
    ]);
    return withDatabase(async (ctx) => {
      const list = await listSubmissions({ ctx, limit });
      if (values.json) console.log(JSON.stringify(list, null, 2));
      else if (list.length === 0) console.log('No calls to Microsoft yet.');
      else
        for (const s of list)
          console.log(
            `${s.startedAt}  ${s.dryRun ? '[DRY RUN] ' : ''}${s.account ?? s.accountId}  ${s.operation} ×${s.items}  ${s.outcome}: ${s.accepted} accepted, ${s.rejected} rejected, ${s.retried} to retry${s.errorCode ? `  ${s.errorCode} ${s.errorMessage ?? ''}` : ''}${s.trackingId ? `  TrackingId ${s.trackingId}` : ''}`,
          );
      return 0;
    });
  },
};
