import { createInterface } from 'node:readline';
import type { Config } from '../config.ts';
import type { Secrets } from '../secrets.ts';
import { prepareAccounts } from '../services/accounts.ts';
import type { ServiceContext } from '../services/context.ts';
import { withDatabase } from './runtime.ts';

/**
 * `withDatabase` for commands that touch accounts: the secret key loaded (with the shared-PostgreSQL
 * warning when it comes from a per-machine file) and the MSADS_* account synced, as `serve` does.
 */
export function withAccounts<T>(
  fn: (ctx: ServiceContext, config: Config, secrets: Secrets) => Promise<T>,
): Promise<T> {
  return withDatabase(async (ctx, config) => {
    const secrets = await prepareAccounts({ ctx, config, warn: (m) => console.error(`Warning: ${m}`) });
    return fn(ctx, config, secrets);
  });
}

/** One line from stdin after a prompt on stderr; undefined when stdin ends first (nothing piped in). */
export async function promptLine(question: string): Promise<string | undefined> {
  process.stderr.write(question);
  const rl = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY, terminal: false });
  try {
    for await (const line of rl) if (line.trim()) return line.trim();
    return undefined;
  } finally {
    rl.close();
    process.stdin.pause();
  }
}
