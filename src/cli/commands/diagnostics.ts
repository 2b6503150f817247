import { CliError } from '../cli-error.ts';
import type { Command } from '../command.ts';

const maxDays = 90;

export const diagnosticsCommand: Command = {
  name: 'diagnostics',
  summary: "Show Microsoft's own figures per goal and day: conversions counted, not attributed, and why.",
  usage: 'closeloop diagnostics [--goal NAME] [--days N] [--json]',
  details: `Asks Microsoft Advertising (GetOfflineConversionReportByGoalIds, GetOfflineConversionReports) what
it made of the conversions it received: per goal and day, how many it counted and how many it took but
could not attribute, with each reason and what to do about it. closeloop's own reasons (held, rejected,
expired, duplicate) are in closeloop status and the upload results.

In a dry run the figures come from the built-in emulator, which lives in the closeloop serve process:
ask that process (GET /api/v1/diagnostics); this command starts an emulator of its own, which has
received nothing.

Exit status: 0, or 1 when Microsoft could not be asked.`,
  options: {
    goal: { type: 'string', value: 'NAME', description: 'only this goal (its exact name)' },
    days: {
      type: 'string',
      value: 'N',
      description: `the last N days (UTC), today included, 1 to ${maxDays} (default 7)`,
    },
    json: { type: 'boolean', description: 'print the figures as JSON' },
  },
  async run({ values }) {
    const daysText = values.days as string | undefined;
    const days = daysText === undefined ? 7 : Number(daysText);
    if (!/^\d+$/.test(daysText ?? '7') || days < 1 || days > maxDays)
      throw new CliError(
        `--days must be a whole number from 1 to ${maxDays}; got ${JSON.stringify(daysText)}.`,
      );
    const [{ withDatabase }, { createLogger }, { msadsDiagnostics }, { openSending }, { MsadsError }] =
      await Promise.all([
        import('../runtime.ts'),
        import('../../log.ts'),
        import('../../services/msads-diagnostics.ts'),
        import('../../submit/runtime.ts'),
        import('../../msads/client.ts'),
      ]);
    return withDatabase(async (ctx, config) => {
      const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
      const sending = await openSending(ctx, config, log);
      let result: Awaited<ReturnType<typeof msadsDiagnostics>>;
      try {
        result = await msadsDiagnostics({
          ctx,
          clientFor: sending.clientFor,
          days,
          ...(typeof values.goal === 'string' ? { goal: values.goal } : {}),
        });
      } catch (err) {
        if (!(err instanceof MsadsError)) throw err;
        console.error(`Microsoft Advertising could not be asked: ${err.message}`);
        return 1;
      }
      if (values.json) {
        console.log(JSON.stringify(result, null, 2));
        return 0;
      }
      console.log(formatDiagnostics(result));
      return 0;
    });
  },
};

type Result = Awaited<ReturnType<typeof import('../../services/msads-diagnostics.ts').msadsDiagnostics>>;

/** A table per goal: day, counted, not attributed, reasons; then the notes. */
export function formatDiagnostics(result: Result): string {
  const out = [`Microsoft's figures from ${result.from} to ${result.to} (UTC days the conversions arrived):`];
  if (result.accounts.some((a) => a.dryRun))
    out.push("Dry run: these are the built-in emulator's figures; nothing reached Microsoft.");
  if (result.goals.length === 0) out.push('', 'No goal at Microsoft to report on.');
  for (const g of result.goals) {
    out.push(
      '',
      `${g.goal} (Microsoft goal ${g.msadsGoalId}, account ${g.account}): ${g.counted} counted, ${g.unattributed} not attributed`,
    );
    if (g.days.length === 0) {
      out.push('  nothing received in these days');
      continue;
    }
    const rows = g.days.map((d) => [
      d.date,
      String(d.counted),
      String(d.unattributed),
      d.reasons.map((r) => `${r.reason} ${r.count}`).join(', '),
    ]);
    const header = ['DAY', 'COUNTED', 'NOT ATTRIBUTED', 'REASONS'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    for (const r of [header, ...rows])
      out.push(
        `  ${r
          .map((c, i) => (i === 0 || i === 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
          .join('  ')
          .trimEnd()}`,
      );
    for (const r of g.reasons) out.push(`  ${r.reason}: ${r.explain}`);
  }
  for (const a of result.accounts) {
    const failed = a.days.reduce((n, d) => n + d.failed, 0);
    if (failed > 0)
      out.push(
        '',
        `${a.name}: Microsoft refused ${failed} row${failed === 1 ? '' : 's'} in these days (see closeloop submissions).`,
      );
  }
  if (result.notes.length > 0) out.push('', ...result.notes);
  return out.join('\n');
}
