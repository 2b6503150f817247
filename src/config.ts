import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigFileError, findDataDirConfig, readConfigFile } from './config-file.ts';
import { chooseDataDir, type DataDirChoice, type DataDirInputs, defaultDataDirInputs } from './data-dir.ts';
import { parseCidr } from './ingest/sources/address-policy.ts';
import { productionApiBaseUrl, productionTokenUrl } from './msads/wire.ts';

const envSchema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'a PostgreSQL connection string like postgres://user:password@host:5432/db')
    .optional(),
  /** Unset: this checkout's ./.closeloop, else the user data folder (data-dir.ts has the rules). */
  CLOSELOOP_DATA_DIR: z.string().min(1).optional(),
  /** A configuration file (JSON or dotenv) read instead of the data folder's own; `--config FILE` sets it. */
  CLOSELOOP_CONFIG: z.string().min(1).optional(),
  PORT: z.coerce.number().int().min(1).max(65_535).default(8787),
  HOST: z.string().min(1).default('127.0.0.1'),
  CLOSELOOP_MAX_UPLOAD_MB: z.coerce.number().positive().max(1024).default(64),
  CLOSELOOP_CUSTOMER_ID: z.string().min(1).default('default'),
  /** A bearer token Prometheus sends to GET /metrics (an API key works too); at least 16 characters. */
  CLOSELOOP_METRICS_TOKEN: z
    .string()
    .min(16, 'at least 16 characters (generate one with: openssl rand -hex 16)')
    .optional(),
  /** Signs in to the dashboard (besides any API key); unset: API keys only. */
  CLOSELOOP_ADMIN_PASSWORD: z
    .string()
    .min(12, 'at least 12 characters (generate one with: openssl rand -base64 18)')
    .optional(),
  /**
   * Scheduled sources on non-public addresses (loopback, private, link-local …): refused by default
   * (server-side request forgery); 1 allows all, a comma-separated CIDR list allows those networks.
   */
  CLOSELOOP_ALLOW_PRIVATE_SOURCES: z
    .string()
    .transform((v, ctx): boolean | string[] => {
      if (/^(1|true|yes)$/i.test(v.trim())) return true;
      if (/^(0|false|no)$/i.test(v.trim())) return false;
      const cidrs = v
        .split(',')
        .map((c) => c.trim())
        .filter(Boolean);
      const bad = cidrs.filter((c) => parseCidr(c) === undefined);
      if (cidrs.length === 0 || bad.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: `1 (allow every address) or a comma-separated list of networks like 10.0.0.0/8,fd00::/8${bad.length ? `; cannot read ${bad.map((b) => JSON.stringify(b)).join(', ')}` : ''}`,
        });
        return z.NEVER;
      }
      return cidrs;
    })
    .default(false),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /** 32 random bytes, base64 or hex; encrypts stored secrets. Without it: a key file in the data folder. */
  CLOSELOOP_SECRET_KEY: z
    .string()
    .refine(
      (v) => /^[0-9a-f]{64}$/i.test(v) || Buffer.from(v, 'base64').length === 32,
      '32 bytes as 64 hex digits or base64 (generate one with: openssl rand -base64 32)',
    )
    .optional(),
  MSADS_API_BASE_URL: z.url('a URL like https://campaign.api.bingads.microsoft.com').optional(),
  MSADS_OAUTH_TOKEN_URL: z
    .url('a URL like https://login.microsoftonline.com/common/oauth2/v2.0/token')
    .optional(),
  MSADS_CLIENT_ID: z.string().min(1).optional(),
  MSADS_CLIENT_SECRET: z.string().min(1).optional(),
  MSADS_REFRESH_TOKEN: z.string().min(1).optional(),
  MSADS_DEVELOPER_TOKEN: z.string().min(1).optional(),
  MSADS_CUSTOMER_ID: z.string().regex(/^\d+$/, 'the numeric customer (manager) id').optional(),
  MSADS_ACCOUNT_ID: z.string().regex(/^\d+$/, 'the numeric ad account id').optional(),
  /** Calls per sliding minute per account, all processes together (Microsoft does not publish its limit). */
  MSADS_CALLS_PER_MINUTE: z.coerce.number().int().min(1).max(10_000).default(60),
  /** Requests in flight per account per process ("1–2 per customer" is Microsoft's advice). */
  MSADS_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(2),
  MSADS_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(60_000),
  SUBMIT_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(10),
  SUBMIT_BACKOFF_BASE_MS: z.coerce.number().int().min(10).default(2000),
  SUBMIT_BACKOFF_CAP_MS: z.coerce
    .number()
    .int()
    .min(10)
    .default(15 * 60_000),
  /** A claim older than this is presumed dead (its process crashed) and its rows are sent again. */
  SUBMIT_CLAIM_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(5 * 60_000),
  /** How often the submitter looks for due rows when the queue is empty. */
  SUBMIT_POLL_MS: z.coerce.number().int().min(10).default(2000),
  /**
   * How long the dry run's emulator waits after creating a goal before it takes conversions. Microsoft
   * waits 2 hours (5615); the dry run waits 0 by default, so a first try shows accepted rows at once.
   */
  CLOSELOOP_DRY_RUN_GOAL_DELAY: z
    .string()
    .transform((v, ctx) => {
      const ms = parseDelay(v);
      if (ms === undefined || ms > maxDryRunGoalDelayMs) {
        ctx.addIssue({
          code: 'custom',
          message: "a delay from 0 (goals ready at once) to 2h (Microsoft's rule), e.g. 0, 90s, 15m, 2h",
        });
        return z.NEVER;
      }
      return ms;
    })
    .default(0),
});

/** Microsoft takes conversions for a goal 2 hours after creating it; the dry run never waits longer. */
const maxDryRunGoalDelayMs = 2 * 60 * 60 * 1000;

/** "0", "90s", "15m", "2h" → milliseconds; undefined when unreadable. */
function parseDelay(text: string): number | undefined {
  const m = /^\s*(\d+)\s*(s|m|h)?\s*$/i.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? (n === 0 ? 's' : '')).toLowerCase();
  const ms = { s: 1000, m: 60_000, h: 3_600_000 }[unit];
  return ms === undefined ? undefined : n * ms;
}

export interface Config {
  database: { kind: 'postgres'; url: string } | { kind: 'pglite'; dataDir: string };
  port: number;
  host: string;
  maxUploadBytes: number;
  /** Scheduled sources on non-public addresses: false (refused), true (all allowed) or the networks allowed. */
  allowPrivateSources: boolean | string[];
  customerId: string;
  /** The dashboard's admin password (CLOSELOOP_ADMIN_PASSWORD); undefined: sign in with an API key only. */
  adminPassword: string | undefined;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  /** Encryption key for stored secrets (32 bytes); undefined: use or create the key file in the data folder. */
  secretKey: Buffer | undefined;
  /** The bearer token GET /metrics takes besides API keys (CLOSELOOP_METRICS_TOKEN). */
  metricsToken: string | undefined;
  /** The data folder (PGlite lives there when DATABASE_URL is unset; the secret key file always). */
  dataDir: string;
  /** Why that folder: CLOSELOOP_DATA_DIR, this checkout, or the user data folder. */
  dataDirChoice: DataDirChoice;
  /** The configuration file read, if any (values as written; the environment wins over them). */
  configFile: { path: string; values: Record<string, string> } | undefined;
  msads: MsadsConfig;
  submit: SubmitConfig;
  /**
   * How long the dry run's built-in emulator takes, after creating a goal, to accept conversions for
   * it (Microsoft: 2 hours). Real accounts always wait Microsoft's 2 hours. @default 0
   */
  dryRunGoalDelayMs: number;
}

export interface MsadsConfig {
  apiBaseUrl: string;
  tokenUrl: string;
  /** The account configured by MSADS_* variables; undefined: none (dry run unless accounts are registered). */
  envAccount:
    | {
        customerId: string;
        accountId: string;
        developerToken: string;
        clientId: string;
        clientSecret: string | undefined;
        refreshToken: string | undefined;
      }
    | undefined;
}

export interface SubmitConfig {
  callsPerMinute: number;
  concurrency: number;
  timeoutMs: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  claimTimeoutMs: number;
  pollMs: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Variables whose value is a secret: an error names them and says what they take, never what they hold. */
const secretVariables = new Set([
  'CLOSELOOP_SECRET_KEY',
  'CLOSELOOP_METRICS_TOKEN',
  'CLOSELOOP_ADMIN_PASSWORD',
  'MSADS_CLIENT_SECRET',
  'MSADS_REFRESH_TOKEN',
  'MSADS_DEVELOPER_TOKEN',
]);
/** Variables holding URLs, which may carry a password (postgres://user:password@host/db). */
const urlVariables = new Set(['DATABASE_URL', 'MSADS_API_BASE_URL', 'MSADS_OAUTH_TOKEN_URL']);

/**
 * A bad value as an error message may show it: a secret by its length only, a URL without its password
 * (or anything in its query that looks like one), anything else as JSON, clipped. Error messages end up
 * in terminals, CI logs and support tickets.
 */
export function shownValue(name: string, value: string): string {
  if (secretVariables.has(name)) return `a value of ${value.length} characters, not shown`;
  if (urlVariables.has(name)) return JSON.stringify(clip(redactUrl(value)));
  return JSON.stringify(clip(value));
}

/**
 * `value` with the password before its last @ masked (user:password@host, with or without a scheme,
 * whatever characters the password holds) and the values of password-like query parameters.
 */
export function redactUrl(value: string): string {
  const scheme = value.indexOf('://');
  const start = scheme === -1 ? 0 : scheme + 3;
  const at = value.lastIndexOf('@');
  let shown = value;
  if (at >= start) {
    const userInfo = value.slice(start, at);
    const colon = userInfo.indexOf(':');
    shown = `${value.slice(0, start)}${colon === -1 ? userInfo : `${userInfo.slice(0, colon)}:***`}${value.slice(at)}`;
  }
  return shown.replace(/([?&][^=&#]*(?:pass|secret|token|key)[^=&#]*=)[^&#]*/gi, '$1***');
}

function nonEmpty(values: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined && v !== '')) as Record<
    string,
    string
  >;
}

function clip(text: string): string {
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}

/**
 * Parse the configuration once, at start: the environment, over the settings of a configuration file
 * (the one CLOSELOOP_CONFIG or --config names, else the data folder's closeloop.config.json or .env).
 * A bad value stops the process with a message naming it, and the file it came from.
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  where: Partial<Pick<DataDirInputs, 'cwd' | 'platform' | 'home'>> = {},
): Config {
  const fromEnv = nonEmpty(env);
  const inputs = { ...defaultDataDirInputs(undefined, env), ...where };
  let file: Config['configFile'];
  let dataDirChoice: DataDirChoice;
  try {
    if (fromEnv.CLOSELOOP_CONFIG) file = readConfigFile(resolve(inputs.cwd, fromEnv.CLOSELOOP_CONFIG));
    const configured = fromEnv.CLOSELOOP_DATA_DIR ?? nonEmpty(file?.values ?? {}).CLOSELOOP_DATA_DIR;
    dataDirChoice = chooseDataDir({ ...inputs, configured });
    const own = file ? undefined : findDataDirConfig(dataDirChoice.dir);
    if (own) {
      file = readConfigFile(own);
      if (file.values.CLOSELOOP_DATA_DIR || file.values.CLOSELOOP_CONFIG)
        throw new ConfigFileError(
          `Configuration file ${own}: ${file.values.CLOSELOOP_DATA_DIR ? 'CLOSELOOP_DATA_DIR' : 'CLOSELOOP_CONFIG'} cannot be set in the data folder's own file (it is read from that folder). Set it in the environment or in a file given with --config.`,
        );
    }
  } catch (err) {
    if (err instanceof ConfigFileError) throw new ConfigError(err.message);
    throw err;
  }
  const fromFile = nonEmpty(file?.values ?? {});
  const parsed = envSchema.safeParse({ ...fromFile, ...fromEnv });
  if (!parsed.success) {
    let anyInFile = false;
    const lines = parsed.error.issues.map((i) => {
      const name = String(i.path[0]);
      const inFile = fromEnv[name] === undefined && fromFile[name] !== undefined;
      anyInFile ||= inFile;
      const value = (inFile ? fromFile[name] : fromEnv[name]) ?? '';
      return `  ${name}${inFile ? ` (in ${file?.path})` : ''}: ${i.message} (got ${shownValue(name, value)})`;
    });
    throw new ConfigError(
      `${anyInFile ? 'Invalid configuration' : 'Invalid environment'}:\n${lines.join('\n')}`,
    );
  }
  const e = parsed.data;
  const msadsVars = [
    'MSADS_CUSTOMER_ID',
    'MSADS_ACCOUNT_ID',
    'MSADS_DEVELOPER_TOKEN',
    'MSADS_CLIENT_ID',
  ] as const;
  const given = msadsVars.filter((k) => e[k] !== undefined);
  if (given.length > 0 && given.length < msadsVars.length)
    throw new ConfigError(
      `Invalid environment:\n  ${msadsVars.filter((k) => e[k] === undefined).join(', ')}: needed too, because ${given.join(', ')} ${given.length === 1 ? 'is' : 'are'} set (an account needs all four; MSADS_REFRESH_TOKEN can come later from \`closeloop auth login\`)`,
    );
  const secret = e.CLOSELOOP_SECRET_KEY;
  return {
    database: e.DATABASE_URL
      ? { kind: 'postgres', url: e.DATABASE_URL }
      : { kind: 'pglite', dataDir: dataDirChoice.dir },
    port: e.PORT,
    host: e.HOST,
    maxUploadBytes: Math.round(e.CLOSELOOP_MAX_UPLOAD_MB * 1024 * 1024),
    allowPrivateSources: e.CLOSELOOP_ALLOW_PRIVATE_SOURCES,
    customerId: e.CLOSELOOP_CUSTOMER_ID,
    adminPassword: e.CLOSELOOP_ADMIN_PASSWORD,
    logLevel: e.LOG_LEVEL,
    metricsToken: e.CLOSELOOP_METRICS_TOKEN,
    secretKey: secret
      ? /^[0-9a-f]{64}$/i.test(secret)
        ? Buffer.from(secret, 'hex')
        : Buffer.from(secret, 'base64')
      : undefined,
    dataDir: dataDirChoice.dir,
    dataDirChoice,
    configFile: file,
    msads: {
      apiBaseUrl: (e.MSADS_API_BASE_URL ?? productionApiBaseUrl).replace(/\/+$/, ''),
      tokenUrl: e.MSADS_OAUTH_TOKEN_URL ?? productionTokenUrl,
      envAccount:
        e.MSADS_CUSTOMER_ID && e.MSADS_ACCOUNT_ID && e.MSADS_DEVELOPER_TOKEN && e.MSADS_CLIENT_ID
          ? {
              customerId: e.MSADS_CUSTOMER_ID,
              accountId: e.MSADS_ACCOUNT_ID,
              developerToken: e.MSADS_DEVELOPER_TOKEN,
              clientId: e.MSADS_CLIENT_ID,
              clientSecret: e.MSADS_CLIENT_SECRET,
              refreshToken: e.MSADS_REFRESH_TOKEN,
            }
          : undefined,
    },
    submit: {
      callsPerMinute: e.MSADS_CALLS_PER_MINUTE,
      concurrency: e.MSADS_CONCURRENCY,
      timeoutMs: e.MSADS_TIMEOUT_MS,
      maxAttempts: e.SUBMIT_MAX_ATTEMPTS,
      backoffBaseMs: e.SUBMIT_BACKOFF_BASE_MS,
      backoffCapMs: e.SUBMIT_BACKOFF_CAP_MS,
      claimTimeoutMs: e.SUBMIT_CLAIM_TIMEOUT_MS,
      pollMs: e.SUBMIT_POLL_MS,
    },
    dryRunGoalDelayMs: e.CLOSELOOP_DRY_RUN_GOAL_DELAY,
  };
}
