import { AsyncLocalStorage } from 'node:async_hooks';

const levels = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof levels;

export interface Logger {
  debug(msg: string, data?: unknown): void;
  info(msg: string, data?: unknown): void;
  warn(msg: string, data?: unknown): void;
  error(msg: string, data?: unknown): void;
}

/** What every log line written inside it carries: the request id of the HTTP request being served. */
export interface LogContext {
  requestId: string;
}

/**
 * The log context of the code running now. The HTTP service enters one per request (src/http/request-id.ts),
 * so every line logged while serving it, by any module, carries its `requestId` without being handed it.
 */
export const logContext = new AsyncLocalStorage<LogContext>();

/**
 * One line of JSON per event on stderr, so stdout stays free for CLI output. Everything logged goes
 * through `redact`: errors are described with their cause, and row values never reach the log.
 */
export function createLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = (l) => process.stderr.write(l),
): Logger {
  const at = (name: Exclude<LogLevel, 'silent'>) => (msg: string, data?: unknown) => {
    if (levels[name] < levels[level]) return;
    const extra =
      data instanceof Error
        ? describeError(data)
        : data !== null && typeof data === 'object'
          ? redact(data)
          : data === undefined
            ? {}
            : { data: redact(data) };
    const scope = logContext.getStore();
    write(
      `${JSON.stringify({ time: new Date().toISOString(), level: name, msg, ...(scope ? { requestId: scope.requestId } : {}), ...(extra as object) })}\n`,
    );
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

// A failed statement of a 100,000-row upload carried 80,000 parameters (click IDs, hashed emails) in
// drizzle's message "Failed query: …\nparams: …": one 3.7 MB log line of personal data, and no cause.
// So parameters are dropped wherever they appear, SQL is cut to its start, and any text to 2,000 chars.
const maxText = 2000;
const maxSql = 300;
const maxDepth = 5;
const maxItems = 50;
const parameterKeys = new Set(['params', 'parameters', 'args']);

/** A text made safe to log: no statement parameters, SQL cut short, at most 2,000 characters. */
export function safeText(text: string): string {
  const cut = text
    .replace(
      /Failed query: ([\s\S]*?)(?=\nparams: |$)/,
      (_, query: string) => `Failed query: ${clip(query, maxSql)}`,
    )
    .replace(/\nparams: [^\n]*?(?=: caused by |\n|$)/g, '\nparams: (left out of the log)');
  return clip(cut, maxText);
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

/**
 * What a log line says about an error: its message and cause chain, the PostgreSQL code, constraint
 * and table, the start of the failed statement, the system error (ECONNREFUSED …) — never its parameters
 * (postgres.js and PGlite attach them to the error, drizzle writes them into the message).
 */
export function describeError(
  err: unknown,
  { stack = true }: { stack?: boolean } = {},
): Record<string, unknown> {
  return describe(err, 0, stack);
}

function describe(err: unknown, depth: number, stack: boolean): Record<string, unknown> {
  if (!(err instanceof Error))
    return { error: typeof err === 'string' ? safeText(err) : redact(err, depth + 1) };
  const e = err as Error & Record<string, unknown>;
  const query = typeof e.query === 'string' ? e.query : undefined;
  const message = query && e.message.startsWith('Failed query: ') ? 'Failed query' : safeText(e.message);
  const out: Record<string, unknown> = { error: message };
  if (e.name && e.name !== 'Error') out.errorName = e.name;
  for (const [key, names] of errorFields) {
    const value = names.map((n) => e[n]).find((v) => typeof v === 'string' || typeof v === 'number');
    if (value !== undefined) out[key] = typeof value === 'string' ? clip(value, 200) : value;
  }
  if (query) out.query = clip(query.replace(/\s+/g, ' ').trim(), maxSql);
  if (err instanceof AggregateError && depth < maxDepth)
    out.errors = err.errors.slice(0, 3).map((x) => describe(x, depth + 1, false));
  if (e.cause !== undefined && depth < maxDepth) out.cause = describe(e.cause, depth + 1, false);
  if (stack && e.stack) out.stack = safeStack(e, message);
  return out;
}

/** Fields of PostgreSQL errors (postgres.js and PGlite spell some differently) and of system errors. */
const errorFields: [string, string[]][] = [
  ['code', ['code']],
  ['severity', ['severity']],
  ['constraint', ['constraint', 'constraint_name']],
  ['table', ['table', 'table_name']],
  ['column', ['column', 'column_name']],
  ['schema', ['schema', 'schema_name']],
  ['routine', ['routine']],
  ['hint', ['hint']],
  ['errno', ['errno']],
  ['syscall', ['syscall']],
  ['address', ['address']],
  ['port', ['port']],
];

/** An error's stack made safe to print (its message, parameters included, heads a V8 stack). */
export function errorStack(err: unknown): string | undefined {
  return err instanceof Error && err.stack ? safeStack(err, safeText(err.message)) : undefined;
}

/** The stack's frames under a safe first line (V8 repeats the whole message, parameters included, on top). */
function safeStack(e: Error, message: string): string {
  const frames = (e.stack ?? '').split('\n').filter((l) => l.startsWith('    at '));
  return [`${e.name}: ${message}`, ...frames.slice(0, 15)].join('\n');
}

/** Any value made safe to log: errors described, texts cleaned, statement parameters dropped. */
export function redact(value: unknown, depth = 0): unknown {
  if (value instanceof Error) return describe(value, depth, false);
  if (typeof value === 'string') return safeText(value);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return value;
  if (depth >= maxDepth) return '(nested too deep for the log)';
  if (Array.isArray(value)) {
    const items = value.slice(0, maxItems).map((v) => redact(v, depth + 1));
    return value.length > maxItems ? [...items, `(${value.length - maxItems} more)`] : items;
  }
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      parameterKeys.has(k)
        ? `(${Array.isArray(v) ? `${v.length} values` : 'values'} left out of the log)`
        : redact(v, depth + 1),
    ]),
  );
}
