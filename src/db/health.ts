import type { Database } from './client.ts';
import { ping } from './client.ts';
import { unavailability } from './errors.ts';

export type DatabaseHealth = { ok: true } | { ok: false; reason: string };

/**
 * Whether the database answers a trivial statement within `timeoutMs`. A PostgreSQL that stopped
 * answering (a paused server, a dropped network) would otherwise hold the check until the driver's
 * connect timeout (10 s) or for ever; a health check must answer while the load balancer still waits.
 */
export async function checkDatabase(database: Database, timeoutMs: number): Promise<DatabaseHealth> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<DatabaseHealth>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, reason: `the database did not answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
  });
  const answer = database.query(ping).then(
    (): DatabaseHealth => ({ ok: true }),
    (err: unknown): DatabaseHealth => {
      const found = unavailability(err);
      return {
        ok: false,
        reason: found ? `${found.reason} (${found.code})` : `the check failed: ${(err as Error).message}`,
      };
    },
  );
  try {
    return await Promise.race([answer, late]);
  } finally {
    clearTimeout(timer);
  }
}
