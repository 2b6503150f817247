import { readFileSync } from 'node:fs';
import type { Schedule, ScheduleRun } from '../../db/schema/index.ts';
import { CliError } from '../cli-error.ts';
import type { Command } from '../command.ts';

const usage = `closeloop schedules add --name NAME --url URL [--username U] [--password-env VAR | --private-key FILE]
                         [--adjustments] --every SPEC [--time-zone ZONE] [--json]
       closeloop schedules list [--json]
       closeloop schedules run NAME [--json]
       closeloop schedules pause NAME
       closeloop schedules resume NAME
       closeloop schedules history NAME [--json]
       closeloop schedules remove NAME

  URL    https://, http://, sftp://, ftp:// or ftps:// and the path of a CSV or XLSX file (a Google Sheet
         published to the web: its …/pub?output=csv link)
  SPEC   hourly | daily HH:MM | weekly DAY HH:MM | cron "EXPR", in --time-zone (default UTC)`;

export const schedulesCommand: Command = {
  name: 'schedules',
  summary: 'Import a file from an HTTPS, HTTP, SFTP or FTP location on a schedule (add, list, run, history).',
  usage,
  options: {
    name: { type: 'string', value: 'NAME', description: 'add: what the schedule is called (unique)' },
    url: { type: 'string', value: 'URL', description: 'add: where the file is' },
    username: { type: 'string', value: 'USER', description: 'add: the user name to log in with' },
    'password-env': {
      type: 'string',
      value: 'VAR',
      description: 'add: the environment variable that holds the password (never on the command line)',
    },
    'private-key': {
      type: 'string',
      value: 'FILE',
      description: 'add: an SSH private key file, for sftp:// (OpenSSH or PEM, no passphrase)',
    },
    adjustments: {
      type: 'boolean',
      description:
        'add: the file is an adjustments file (default: its header decides at add, then it must stay so)',
    },
    every: { type: 'string', value: 'SPEC', description: 'add: when it runs (see SPEC above)' },
    'time-zone': {
      type: 'string',
      value: 'ZONE',
      description: 'add: the IANA zone SPEC is read in, e.g. Europe/Berlin (default UTC)',
    },
    json: {
      type: 'boolean',
      description: 'add, run: the rows and a summary as JSON lines; list, history: JSON',
    },
  },
  details: `Adding is "save and preview": the file is fetched once and every row's outcome printed, as
closeloop import --preview does; nothing is applied, and nothing is saved when the file cannot be read.
closeloop serve runs the schedules when they are due; "run" imports now.
Exit code of add and run: 0 every row was accepted (or the file had not changed); 1 some rows were
rejected or expired; 2 the source could not be read, the file was refused, or the command was wrong.
Passwords and keys are stored encrypted and never printed. Sources on private addresses are refused
unless CLOSELOOP_ALLOW_PRIVATE_SOURCES allows them.`,
  async run({ values, positionals }) {
    const [sub, ref, ...extra] = positionals;
    const json = Boolean(values.json);
    const [{ withDatabase }, s] = await Promise.all([
      import('../runtime.ts'),
      import('../../services/schedules.ts'),
    ]);
    if (sub === 'add') {
      if (ref !== undefined)
        throw new CliError(`schedules add takes no NAME argument: give --name.\n\nUsage: ${usage}`);
      const input = addInput(values);
      const { printUploadReport } = await import('../upload-report.ts');
      return withDatabase(async (ctx, config) => {
        const deps = await s.scheduleDeps(config);
        const { schedule, upload } = await refuse(() => s.addSchedule({ ctx, deps, input }), 'Not saved');
        const code = await printUploadReport({
          ctx,
          upload,
          label: schedule.url,
          json,
          preview: true,
          kindDetected: !values.adjustments && upload.kind === 'adjustments',
          summary: { schedule: s.scheduleView(schedule) },
        });
        if (!json) console.log(`Saved schedule "${schedule.name}": ${when(schedule)}.`);
        return code;
      });
    }
    if (sub === 'list') {
      return withDatabase(async (ctx) => {
        const list = await s.listSchedules({ ctx });
        if (json) console.log(JSON.stringify({ schedules: list.map(s.scheduleView) }, null, 2));
        else if (list.length === 0)
          console.log(
            'No schedules. Add one with: closeloop schedules add --name NAME --url URL --every SPEC',
          );
        else for (const item of list) console.log(listLine(item));
        return 0;
      });
    }
    const known = ['run', 'pause', 'resume', 'history', 'remove'];
    if (!sub || !known.includes(sub))
      throw new CliError(`${sub ? `Unknown subcommand "${sub}". ` : ''}Usage: ${usage}`);
    if (!ref || extra.length > 0) throw new CliError(`schedules ${sub} needs one NAME.\n\nUsage: ${usage}`);
    return withDatabase(async (ctx, config) => {
      if (sub === 'pause' || sub === 'resume') {
        const schedule = await s.updateSchedule({ ctx, ref, patch: { paused: sub === 'pause' } });
        console.log(
          `Schedule "${schedule.name}" ${sub === 'pause' ? 'paused' : `resumed: ${when(schedule)}`}.`,
        );
        return 0;
      }
      if (sub === 'remove') {
        const schedule = await s.removeSchedule({ ctx, ref });
        console.log(`Removed schedule "${schedule.name}" and its run history (the uploads it made stay).`);
        return 0;
      }
      if (sub === 'history') {
        const { schedule, runs } = await s.scheduleHistory({ ctx, ref });
        if (json)
          console.log(
            JSON.stringify({ schedule: s.scheduleView(schedule), runs: runs.map(s.runView) }, null, 2),
          );
        else if (runs.length === 0) console.log(`"${schedule.name}" has not run yet: ${when(schedule)}.`);
        else for (const run of runs) console.log(historyLine(run));
        return 0;
      }
      // run
      const [{ runSchedule }, { printUploadReport }] = await Promise.all([
        import('../../services/schedule-runs.ts'),
        import('../upload-report.ts'),
      ]);
      const schedule = await s.getSchedule({ ctx, ref });
      const deps = await s.scheduleDeps(config);
      const { run, upload } = await runSchedule({ ctx, deps, schedule, trigger: 'manual' });
      const summary = { schedule: schedule.name, runId: run.id, outcome: run.outcome };
      if (run.outcome === 'imported' && upload)
        return printUploadReport({
          ctx,
          upload,
          label: schedule.url,
          json,
          preview: false,
          kindDetected: false,
          summary,
        });
      if (json)
        console.log(
          JSON.stringify({
            summary: true,
            ...summary,
            uploadId: run.uploadId,
            bytes: run.bytes,
            error: run.error,
          }),
        );
      if (run.outcome === 'unchanged') {
        if (!json)
          console.log(
            `${schedule.url} has not changed since it was last imported (the same ${run.bytes} bytes): nothing imported.`,
          );
        return 0;
      }
      if (json) return 2;
      throw new CliError(`${schedule.name}: ${run.error}`, 2);
    });
  },
};

function addInput(values: Record<string, string | boolean | undefined>) {
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  for (const k of ['name', 'url', 'every'])
    if (!str(k)) throw new CliError(`schedules add needs --${k}.\n\nUsage: ${usage}`);
  if (str('password-env') && str('private-key'))
    throw new CliError('Give --password-env or --private-key, not both.');
  let password: string | undefined;
  const variable = str('password-env');
  if (variable) {
    password = process.env[variable];
    if (!password)
      throw new CliError(
        `--password-env ${variable}: the environment variable ${variable} is not set or empty. Set it to the password (e.g. read -s ${variable}; export ${variable}).`,
      );
  }
  let privateKey: string | undefined;
  const keyFile = str('private-key');
  if (keyFile) {
    try {
      privateKey = readFileSync(keyFile, 'utf8');
    } catch (err) {
      throw new CliError(
        `--private-key ${keyFile}: cannot read it (${(err as NodeJS.ErrnoException).code}).`,
      );
    }
  }
  return {
    name: str('name'),
    url: str('url'),
    every: str('every'),
    ...(str('username') ? { username: str('username') } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(privateKey !== undefined ? { privateKey } : {}),
    ...(values.adjustments ? { kind: 'adjustments' } : {}),
    ...(str('time-zone') ? { timeZone: str('time-zone') } : {}),
  };
}

/** A failure of `fn` that a user caused or can fix, as a CliError (exit 2) that starts with `prefix`. */
async function refuse<T>(fn: () => Promise<T>, prefix: string): Promise<T> {
  const { AppError } = await import('../../errors.ts');
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AppError && err.code !== 'internal' && err.code !== 'database_unavailable')
      throw new CliError(`${prefix}: ${err.message}`, 2);
    throw err;
  }
}

function when(s: Schedule): string {
  if (s.paused) return `${s.spec} (${s.timeZone}), paused`;
  return `${s.spec} (${s.timeZone}), next run ${s.nextRunAt.toISOString()}`;
}

function listLine(s: Schedule): string {
  const state = s.paused ? '⏸' : s.failures > 0 ? '✗' : '●';
  const last = s.lastRunAt ? `last run ${s.lastRunAt.toISOString()}` : 'not run yet';
  const error = s.lastError ? `\n    last error (${s.failures} in a row): ${s.lastError}` : '';
  return `${state} ${s.name}  ${s.url}  [${when(s)}; ${last}]  ${s.id}${error}`;
}

function historyLine(r: ScheduleRun): string {
  const bytes = r.bytes === null ? '' : ` ${r.bytes} bytes`;
  const upload = r.uploadId ? ` upload ${r.uploadId}` : '';
  const error = r.error ? ` — ${r.error}` : '';
  return `${r.startedAt.toISOString()}  ${r.outcome.padEnd(9)} ${r.trigger.padEnd(8)}${bytes}${upload}${error}`;
}
