import type { Config } from '../../config.ts';
import { formatRelease } from '../../domain/held.ts';
import { conversionStates } from '../../domain/ledger-states.ts';
import type { AccountStatus, DatabaseDescription, GoalStatus, StatusView } from '../../services/status.ts';
import { resumeCommand } from '../../submit/pause-reason.ts';
import type { Command } from '../command.ts';

export const statusCommand: Command = {
  name: 'status',
  summary: 'Show the queue: per account and goal, rows by state, what is held and until when, what is due.',
  usage: `closeloop status [--json]

  The data folder and why it is the one (CLOSELOOP_DATA_DIR, this checkout, or the user data folder),
  the configuration file read, if any, the database in use, the target (dry run or Microsoft Advertising), and per account and goal: rows
  by state, why rows are held and when the first is released, rows due now, rows waiting for a retry,
  the account's last call to Microsoft and any pause with its reason. GET /api/v1/status answers the
  same as JSON (--json).`,
  options: { json: { type: 'boolean', description: 'print the status as JSON (as GET /api/v1/status)' } },
  async run({ values }) {
    const [{ withDatabase }, { queueStatus, statusSetup }] = await Promise.all([
      import('../runtime.ts'),
      import('../../services/status.ts'),
    ]);
    return withDatabase(async (ctx, config) => {
      const view = await queueStatus({ ctx, setup: statusSetup(config) });
      console.log(values.json ? JSON.stringify(view, null, 2) : `${whereText(config)}\n${statusText(view)}`);
      return 0;
    });
  },
};

/** Which data folder and configuration file this command used, and why (never a setting's value). */
export function whereText(config: Config): string {
  const { dir, why } = config.dataDirChoice;
  return [
    `Data      ${dir} (${why})`,
    `Config   ${config.configFile ? ` ${config.configFile.path} (the environment wins over it)` : ' the environment only (no configuration file)'}`,
  ].join('\n');
}

export function databaseText(d: DatabaseDescription): string {
  if (d.kind === 'pglite') return d.dataDir ? `PGlite in ${d.dataDir}` : 'PGlite (in memory)';
  const where = `${d.host ?? '?'}${d.port ? `:${d.port}` : ''}`;
  return `PostgreSQL, database ${d.database ?? '?'} on ${where}${d.user ? ` as ${d.user}` : ''}`;
}

function counts(c: GoalStatus['conversions']): string {
  const parts = conversionStates.filter((s) => c[s]).map((s) => `${c[s]!.toLocaleString('en-US')} ${s}`);
  return parts.join(', ') || 'none';
}

function goalLines(g: GoalStatus, now: Date): string[] {
  const at = g.msadsGoalId
    ? `at Microsoft as ${g.msadsGoalId}, takes conversions from ${formatRelease(new Date(g.acceptsConversionsFrom), now)}`
    : 'not created at Microsoft yet';
  const out = [`  Goal "${g.name}"${g.status === 'paused' ? ' (paused)' : ''}: ${at}`];
  out.push(`    conversions  ${counts(g.conversions)}`);
  if (Object.keys(g.adjustments).length > 0) out.push(`    adjustments  ${counts(g.adjustments)}`);
  for (const h of g.held) {
    const first = formatRelease(new Date(h.nextReleaseAt), now);
    const until =
      h.nextReleaseAt === h.lastReleaseAt
        ? `until ${first}`
        : `the first until ${first}, the last until ${formatRelease(new Date(h.lastReleaseAt), now)}`;
    out.push(`    held         ${h.rows.toLocaleString('en-US')} ${until} (${h.why})`);
  }
  out.push(`    due now      ${g.dueNow.toLocaleString('en-US')}`);
  if (g.retryLater)
    out.push(
      `    retry        ${g.retryLater.rows.toLocaleString('en-US')} from ${formatRelease(new Date(g.retryLater.nextAttemptAt), now)}`,
    );
  if (g.adjustmentsWaitingForConversion > 0)
    out.push(`    waiting      ${g.adjustmentsWaitingForConversion} adjustments for their conversion`);
  if (g.waiting) out.push(`    not sent     ${g.waiting.reason}`);
  if (g.msadsError) out.push(`    Microsoft    ${g.msadsError}`);
  return out;
}

function accountLines(a: AccountStatus, now: Date): string[] {
  const kind = [a.dryRun ? 'dry run' : `Microsoft ${a.msCustomerId}/${a.msAccountId}`];
  if (a.isDefault) kind.push('default');
  const out = [`Account "${a.name}" (${kind.join(', ')})`];
  const s = a.lastSubmission;
  out.push(
    s
      ? `  last call    ${s.startedAt} ${s.operation} ×${s.items}: ${s.outcome} (${s.accepted} accepted, ${s.rejected} rejected, ${s.retried} to retry)${s.errorCode ? ` ${s.errorCode} ${s.errorMessage ?? ''}` : ''}${s.trackingId ? ` TrackingId ${s.trackingId}` : ''}`
      : '  last call    none yet',
  );
  if (a.pausedUntil) {
    out.push(`  paused       until ${formatRelease(new Date(a.pausedUntil), now)}: ${a.pauseReason ?? ''}`);
    const resume = resumeCommand(a);
    if (resume) out.push(`               fixed it? lift the pause now: ${resume}`);
  }
  if (a.goals.length === 0) out.push('  no goals');
  for (const g of a.goals) out.push(...goalLines(g, now));
  return out;
}

export function statusText(view: StatusView): string {
  const now = new Date(view.now);
  const out = [
    `Database  ${databaseText(view.database)}`,
    `Target    ${view.dryRun ? 'dry run: the built-in emulator (nothing reaches Microsoft)' : 'Microsoft Advertising'}`,
    '',
  ];
  for (const a of view.accounts) out.push(...accountLines(a, now), '');
  if (view.goalsWithoutAccount.length > 0) {
    out.push('Goals no account sends');
    for (const g of view.goalsWithoutAccount) out.push(...goalLines(g, now));
    out.push('');
  }
  if (view.accounts.length === 0 && view.goalsWithoutAccount.length === 0)
    out.push('No goals yet: closeloop goals add --name NAME', '');
  out.push(`Queue: ${view.summary}.`);
  return out.join('\n');
}
