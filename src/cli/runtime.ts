import { type Config, ConfigError, loadConfig } from '../config.ts';
import { type Database, openDatabase } from '../db/client.ts';
import type { ServiceContext } from '../services/context.ts';
import { CliError } from './cli-error.ts';

// Kept here too: commands import them from the runtime.
export { CliError, explain } from './cli-error.ts';

/**
 * Open the configured database for one command and close it afterwards, whatever happens: PGlite keeps
 * the process alive until closed, and a clean close spares the next start a recovery. On PGlite the
 * command goes through the process that owns the data folder (`closeloop serve`, or another command),
 * or owns it itself while it runs.
 */
export async function withDatabase<T>(fn: (ctx: ServiceContext, config: Config) => Promise<T>): Promise<T> {
  const config = loadCliConfig();
  const database = await openDatabase(
    config.database.kind === 'pglite'
      ? {
          ...config.database,
          sharing: { label: commandLabel(), role: 'command', notify: (m) => console.error(m) },
        }
      : config.database,
  );
  const stop = closeOnSignal(database);
  try {
    return await fn({ database, customerId: config.customerId, now: () => new Date() }, config);
  } catch (err) {
    throw ownerLost(database, err) ?? err;
  } finally {
    stop();
    await database.close();
  }
}

/**
 * "closeloop import", "closeloop keys create": how other processes name this one while it owns a data
 * folder or is connected through its owner. The command's words only: its arguments may be secrets.
 */
export function commandLabel(argv: string[] = process.argv.slice(2)): string {
  const words: string[] = [];
  for (const word of argv.slice(0, 2)) {
    if (!/^[a-z][a-z-]*$/.test(word)) break;
    words.push(word);
  }
  return ['closeloop', ...words].join(' ');
}

/** postgres.js's codes for a connection that went away. */
const lostConnection = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'ECONNRESET',
  'EPIPE',
]);

/**
 * The owner of the data folder stopped (or was killed) while this command went through it, or ended the
 * command's session because its own database failed (a FATAL error from it, see pglite-server.ts).
 */
function ownerLost(database: Database, err: unknown): CliError | undefined {
  if (!database.owner) return undefined;
  const owner = `${database.owner.command} (pid ${database.owner.pid}), which owns the data folder and served this command,`;
  const after = 'What the command had committed is kept, the rest was rolled back: run it again.';
  // drizzle wraps postgres.js's error in its own (`cause`).
  type Cause = { code?: unknown; severity?: unknown; message?: unknown; cause?: unknown };
  for (let e = err as Cause | undefined, depth = 0; e && depth < 5; e = e.cause as Cause, depth++) {
    if (typeof e.code === 'string' && lostConnection.has(e.code))
      return new CliError(`${owner} went away during it (${e.code}). ${after}`, 1);
    if (e.severity === 'FATAL') return new CliError(`${owner} ended it: ${String(e.message)}. ${after}`, 1);
  }
  return undefined;
}

export function loadCliConfig(): Config {
  try {
    const config = loadConfig();
    // Settings that only some parts read from the environment themselves (a connector's token variable,
    // for one) come from the file too; the environment still wins.
    for (const [key, value] of Object.entries(config.configFile?.values ?? {}))
      if (!process.env[key]) process.env[key] = value;
    return config;
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, 2);
    throw err;
  }
}

/** Ctrl-C during a command: close the database (committed rows are kept), then exit 130. */
function closeOnSignal(database: Database): () => void {
  const handler = (signal: NodeJS.Signals) => {
    process.stderr.write(`\n${signal}: stopping; everything committed so far is kept.\n`);
    database.close().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
