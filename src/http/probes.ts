import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { migrationsFolder } from '../db/client.ts';
import { checkDatabase } from '../db/health.ts';
import type { ServiceContext } from '../services/context.ts';
import { problem } from './problem.ts';

/**
 * The probes of load balancers, orchestrators and systemd:
 * - `/healthz`: the process answers (no database, nothing else; a liveness probe must not restart a
 *   process because PostgreSQL is down).
 * - `/readyz`: the process can do its work: the database answers, every migration this code needs is
 *   applied, and the target is reachable (or it is a dry run). 503 with each failed check otherwise.
 * - `/health`: the original check (database only), kept as it was for existing monitors.
 */

export interface ProbeDeps {
  ctx: ServiceContext;
  target: 'emulator' | 'microsoft';
  /** How long a database check may take before it counts as failed. */
  timeoutMs: number;
  /** Seconds a client may wait before asking again after a 503. */
  retryAfterSeconds: number;
  /** Whether Microsoft's API host answers; absent: not checked (reported as such). */
  probeTarget?: () => Promise<CheckResult>;
}

export type CheckResult = { ok: true; detail?: string } | { ok: false; detail: string };

export function probeRoutes({ ctx, target, timeoutMs, retryAfterSeconds, probeTarget }: ProbeDeps) {
  const state = { database: ctx.database.kind, target, dryRun: target === 'emulator' };
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/health', async (c) => {
    const health = await checkDatabase(ctx.database, timeoutMs);
    if (health.ok) return c.json({ ok: true, ...state });
    c.header('retry-after', String(retryAfterSeconds));
    return problem(
      c,
      'database_unavailable',
      `The database is unavailable: ${health.reason}. ${databaseAdvice(ctx)}`,
      { ok: false, ...state },
    );
  });
  app.get('/readyz', async (c) => {
    const database = await checkDatabase(ctx.database, timeoutMs);
    const checks: Record<string, CheckResult> = {
      database: database.ok
        ? { ok: true }
        : { ok: false, detail: `${database.reason}. ${databaseAdvice(ctx)}` },
      // Without a database, whether migrations are applied cannot be known: that check says so.
      migrations: database.ok
        ? await checkMigrations(ctx)
        : { ok: false, detail: 'not checked: the database is unavailable' },
      target:
        target === 'emulator'
          ? { ok: true, detail: 'dry run: the built-in emulator, nothing reaches Microsoft' }
          : probeTarget
            ? await probeTarget()
            : { ok: true, detail: 'not checked' },
    };
    const failed = Object.entries(checks).filter(([, r]) => !r.ok);
    if (failed.length === 0) return c.json({ ok: true, ...state, checks });
    c.header('retry-after', String(retryAfterSeconds));
    return problem(
      c,
      'service_unavailable',
      `Not ready: ${failed.map(([name, r]) => `${name}: ${r.detail}`).join('; ')}.`,
      { ok: false, ...state, checks },
    );
  });
  return app;
}

function databaseAdvice(ctx: ServiceContext): string {
  return ctx.database.kind === 'postgres'
    ? 'Check that PostgreSQL (DATABASE_URL) is running and reachable.'
    : 'Check the disk and permissions of the data folder (CLOSELOOP_DATA_DIR) and the server log.';
}

/** The newest migration this code ships (drizzle's journal: `when` is what it stores as created_at). */
let shipped: { tag: string; when: number } | undefined;
function newestShippedMigration(): { tag: string; when: number } {
  if (!shipped) {
    const journal = JSON.parse(readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as {
      entries: { tag: string; when: number }[];
    };
    const last = journal.entries[journal.entries.length - 1];
    shipped = last ? { tag: last.tag, when: last.when } : { tag: '(none)', when: 0 };
  }
  return shipped;
}

/**
 * Whether the database has every migration this code ships: drizzle records each applied one in
 * drizzle.__drizzle_migrations with its journal time. A database behind the code (a process started
 * on a database that another version has not migrated, a failed migration) is not ready; one ahead of
 * it (a newer version migrated it during a rolling deploy) is, since migrations only add.
 */
export async function checkMigrations(ctx: ServiceContext): Promise<CheckResult> {
  const expected = newestShippedMigration();
  let applied: number;
  try {
    const rows = await ctx.database.query<{ last: string | number | null }>(
      sql`select max(created_at) as last from drizzle.__drizzle_migrations`,
    );
    applied = Number(rows[0]?.last ?? 0);
  } catch (err) {
    return { ok: false, detail: `the migrations table cannot be read (${(err as Error).message})` };
  }
  if (applied >= expected.when) return { ok: true, detail: `up to ${expected.tag}` };
  return {
    ok: false,
    detail: `the database lacks migrations up to ${expected.tag}: restart closeloop (it migrates at start) or check its log for a failed migration`,
  };
}

/**
 * A `probeTarget` for Microsoft's Campaign Management host: any HTTP answer means it is reachable (an
 * unauthenticated GET is refused, which is fine); a network error or no answer within `timeoutMs` is
 * not. The answer is kept for `cacheMs`, so a probe every second sends one request a minute.
 */
export function reachability(
  baseUrl: string,
  { timeoutMs = 3000, cacheMs = 60_000, fetch: send = fetch, now = Date.now } = {},
): () => Promise<CheckResult> {
  let last: { at: number; result: CheckResult } | undefined;
  return async () => {
    if (last && now() - last.at < cacheMs) return last.result;
    let result: CheckResult;
    try {
      const response = await send(new Request(baseUrl, { signal: AbortSignal.timeout(timeoutMs) }));
      await response.body?.cancel();
      result = { ok: true, detail: `${baseUrl} answered HTTP ${response.status}` };
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError';
      result = {
        ok: false,
        detail: `${baseUrl} ${timedOut ? `did not answer within ${timeoutMs} ms` : `cannot be reached (${(err as Error).message})`}: check the network and MSADS_API_BASE_URL`,
      };
    }
    last = { at: now(), result };
    return result;
  };
}
