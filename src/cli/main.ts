import { enableCompileCache } from 'node:module';
import { resolve } from 'node:path';
import { packageJson } from '../package-json.ts';
import { explain } from './cli-error.ts';
import { closest } from './closest.ts';
import { type Command, helpText, parseCommandArgs } from './command.ts';
import { resolveDrizzleFast } from './fast-resolve.ts';

/**
 * Every command by name, with the summary `closeloop --help` shows. A command's module is loaded only
 * when that command runs (or its help is asked for): the whole program with exceljs, the HTTP stack and
 * the emulator took 0.9–1.1 s to load before anything happened (npm run bench:cli has the figures).
 * A test checks that each summary here is the command's own.
 */
export const commands: { name: string; summary: string; load: () => Promise<Command> }[] = [
  {
    name: 'serve',
    summary: 'Run the HTTP service (API, snippet, dashboard), the submitter and the retention job.',
    load: async () => (await import('./commands/serve.ts')).serveCommand,
  },
  {
    name: 'status',
    summary: 'Show the queue: per account and goal, rows by state, what is held and until when, what is due.',
    load: async () => (await import('./commands/status.ts')).statusCommand,
  },
  {
    name: 'submit',
    summary:
      'Send the conversions and adjustments that are due to Microsoft Advertising, then exit (for cron).',
    load: async () => (await import('./commands/submit.ts')).submitCommand,
  },
  {
    name: 'retry',
    summary: 'Queue again the rows that failed after their last attempt (after fixing the cause).',
    load: async () => (await import('./commands/submit.ts')).retryCommand,
  },
  {
    name: 'submissions',
    summary: 'List the calls made to Microsoft Advertising, newest first (outcome, counts, TrackingId).',
    load: async () => (await import('./commands/submit.ts')).submissionsCommand,
  },
  {
    name: 'import',
    summary: 'Check a conversions (or adjustments) file and put its valid rows into the ledger.',
    load: async () => (await import('./commands/import.ts')).importCommand,
  },
  {
    name: 'apply',
    summary: 'Apply an upload that was previewed (closeloop import --preview, or POST /api/v1/uploads).',
    load: async () => (await import('./commands/import.ts')).applyCommand,
  },
  {
    name: 'results',
    summary: "Print an upload's results as CSV (every row, or only the rows that were not accepted).",
    load: async () => (await import('./commands/import.ts')).resultsCommand,
  },
  {
    name: 'uploads',
    summary: 'List uploads and API batches, newest first (status, counts, id), a page at a time.',
    load: async () => (await import('./commands/uploads.ts')).uploadsCommand,
  },
  {
    name: 'diagnostics',
    summary: "Show Microsoft's own figures per goal and day: conversions counted, not attributed, and why.",
    load: async () => (await import('./commands/diagnostics.ts')).diagnosticsCommand,
  },
  {
    name: 'schedules',
    summary:
      'Import a file from an HTTPS, HTTP, SFTP or FTP location on a schedule (add, list, run, history).',
    load: async () => (await import('./commands/schedules.ts')).schedulesCommand,
  },
  {
    name: 'goals',
    summary: 'Create, list, pause and resume offline conversion goals.',
    load: async () => (await import('./commands/goals.ts')).goalsCommand,
  },
  {
    name: 'connectors',
    summary: 'Connect Salesforce or HubSpot: won deals become conversions, later changes adjustments.',
    load: async () => (await import('./commands/connectors.ts')).connectorsCommand,
  },
  {
    name: 'timezones',
    summary: "List Microsoft's time zone names with their UTC offsets now and their IANA zones.",
    load: async () => (await import('./commands/timezones.ts')).timezonesCommand,
  },
  {
    name: 'keys',
    summary: 'Create, list and revoke API keys.',
    load: async () => (await import('./commands/keys.ts')).keysCommand,
  },
  {
    name: 'emulator',
    summary: 'Run a Microsoft Advertising emulator (dry runs, tests, benchmarks).',
    load: async () => (await import('./commands/emulator.ts')).emulatorCommand,
  },
  {
    name: 'accounts',
    summary:
      'List and register Microsoft Advertising accounts; check or turn on MSCLKID auto-tagging; lift a pause.',
    load: async () => (await import('./commands/accounts.ts')).accountsCommand,
  },
  {
    name: 'webhooks',
    summary: 'Receive calls from call-tracking providers: add, list and remove sources, see their events.',
    load: async () => (await import('./commands/webhooks.ts')).webhooksCommand,
  },
  {
    name: 'auth',
    summary: 'Sign in to Microsoft Advertising (OAuth consent) and store the refresh token.',
    load: async () => (await import('./commands/auth.ts')).authCommand,
  },
];

function mainHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `closeloop: offline conversion tracking for Microsoft Advertising

Usage: closeloop COMMAND [options] [--config FILE]
       closeloop help COMMAND    (the same as closeloop COMMAND --help)
       closeloop --version

--config FILE: settings from FILE (JSON or .env) under the environment's; without it, the data folder's
closeloop.config.json or .env. The data folder: CLOSELOOP_DATA_DIR, else ./.closeloop of the closeloop
checkout you are in, else the user data folder (closeloop status says which).

${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}`;
}

/** The version in package.json, read as text: nothing else is loaded for it. */
function version(): string {
  return `closeloop ${packageJson().version}`;
}

/**
 * `--config FILE` is taken by every command: it is removed from the arguments here and passed on as
 * CLOSELOOP_CONFIG (config.ts reads it), resolved against the current directory. Undefined: a usage error.
 */
export function takeConfigOption(argv: string[]): string[] | undefined {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    let file: string | undefined;
    if (arg.startsWith('--config=')) file = arg.slice('--config='.length);
    else if (arg === '--config') {
      file = argv[++i];
      if (file?.startsWith('-')) file = undefined;
    } else {
      out.push(arg);
      continue;
    }
    if (!file) {
      console.error('Option --config needs a file: closeloop COMMAND --config FILE (JSON or .env).');
      return undefined;
    }
    process.env.CLOSELOOP_CONFIG = resolve(file);
  }
  return out;
}

function findCommand(name: string): Promise<Command> | undefined {
  return commands.find((c) => c.name === name)?.load();
}

function unknownCommand(name: string): number {
  const guess = closest(
    name,
    commands.map((c) => c.name),
  );
  console.error(`Unknown command "${name}".${guess ? ` Did you mean "${guess}"?` : ''}\n\n${mainHelp()}`);
  return 2;
}

export async function main(argv: string[]): Promise<number> {
  // V8's code cache for the modules a command loads, kept in the OS temp folder (node-compile-cache):
  // goals list on PostgreSQL took 0.38–0.43 s of CPU without it, 0.33–0.39 s with it (6 runs each).
  // NODE_DISABLE_COMPILE_CACHE=1 turns it off.
  enableCompileCache?.();
  resolveDrizzleFast();
  const args = takeConfigOption(argv);
  if (!args) return 2;
  const [name, ...rest] = args;
  if (!name || name === '--help' || name === '-h') {
    console.log(mainHelp());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    console.log(version());
    return 0;
  }
  if (name === 'help') {
    const [topic] = rest;
    if (!topic) {
      console.log(mainHelp());
      return 0;
    }
    const command = findCommand(topic);
    if (!command) return unknownCommand(topic);
    console.log(helpText(await command));
    return 0;
  }
  const loading = findCommand(name);
  if (!loading) return unknownCommand(name);
  try {
    const command = await loading;
    const args = parseCommandArgs(command, rest);
    if (args.values.help) {
      console.log(helpText(command));
      return 0;
    }
    return await command.run(args);
  } catch (err) {
    const known = explain(err);
    if (!known) throw err;
    console.error(known.message);
    return known.exitCode;
  }
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
