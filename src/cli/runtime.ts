import { type Config, ConfigError, loadConfig } from '../config.ts';
import { type Database, openDatabase } from '../db/client.ts';
import { AppError } from '../errors.ts';
import type { ServiceContext } from '../services/context.ts';

/** A CLI failure: the message is printed as is, and the process exits with `exitCode`. */
export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.exitCode = exitCode;
  }
}

/**
 * Open the configured database for one command and close it afterwards, whatever happens: PGlite keeps
 * the process alive until closed, and a clean close spares the next start a recovery.
 */
export async function withDatabase<T>(fn: (ctx: ServiceContext, config: Config) => Promise<T>): Promise<T> {
  const config = loadCliConfig();
  const database = await openDatabase(config.database);
  const stop = closeOnSignal(database);
  try {
    return await fn({ database, customerId: config.customerId, now: () => new Date() }, config);
  } finally {
    stop();
    await database.close();
  }
}

export function loadCliConfig(): Config {
  try {
    return loadConfig();
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

/** Domain errors become CLI errors with their message. */
export function explain(err: unknown): CliError | undefined {
  if (err instanceof CliError) return err;
  if (err instanceof AppError) return new CliError(err.message, err.code === 'validation_failed' ? 2 : 1);
  return undefined;
}
