import { resolve } from 'node:path';
import { z } from 'zod';

const envSchema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'a PostgreSQL connection string like postgres://user:password@host:5432/db')
    .optional(),
  CLOSELOOP_DATA_DIR: z.string().min(1).default('./.closeloop'),
  PORT: z.coerce.number().int().min(1).max(65_535).default(8787),
  HOST: z.string().min(1).default('127.0.0.1'),
  CLOSELOOP_MAX_UPLOAD_MB: z.coerce.number().positive().max(1024).default(64),
  CLOSELOOP_CUSTOMER_ID: z.string().min(1).default('default'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
});

export interface Config {
  database: { kind: 'postgres'; url: string } | { kind: 'pglite'; dataDir: string };
  port: number;
  host: string;
  maxUploadBytes: number;
  customerId: string;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parse the environment once, at start. A bad variable stops the process with a message naming it. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(
    Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== '')),
  );
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (i) => `  ${i.path.join('.')}: ${i.message} (got ${JSON.stringify(env[String(i.path[0])])})`,
    );
    throw new ConfigError(`Invalid environment:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return {
    database: e.DATABASE_URL
      ? { kind: 'postgres', url: e.DATABASE_URL }
      : { kind: 'pglite', dataDir: resolve(e.CLOSELOOP_DATA_DIR) },
    port: e.PORT,
    host: e.HOST,
    maxUploadBytes: Math.round(e.CLOSELOOP_MAX_UPLOAD_MB * 1024 * 1024),
    customerId: e.CLOSELOOP_CUSTOMER_ID,
    logLevel: e.LOG_LEVEL,
  };
}
