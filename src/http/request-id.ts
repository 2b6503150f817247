import { randomUUID } from 'node:crypto';
import { createMiddleware } from 'hono/factory';
import { type Logger, logContext } from '../log.ts';

/**
 * A request id for every request: the caller's `x-request-id` when it is a sane one (a proxy or load
 * balancer that set one can follow the request through our log), else a new UUID. It is echoed in the
 * response's `x-request-id`, and every log line written while the request is served carries it (the
 * logger reads it from AsyncLocalStorage, so no module has to pass it on).
 */

export const requestIdHeader = 'x-request-id';

/**
 * What an incoming id may be: 1 to 128 letters, digits and `.`, `_`, `-`, `:` (UUIDs, ULIDs, AWS's
 * "Root=1-…" ids without the `=`). Anything else (a newline that would forge a log line, a 10 KB header)
 * is replaced by a fresh id rather than refused: the request itself is fine.
 */
const saneId = /^[A-Za-z0-9._:-]{1,128}$/;

/** Paths probed every few seconds by load balancers and Prometheus: their access lines are debug-level. */
const probePaths = new Set(['/health', '/healthz', '/readyz', '/metrics']);

export function requestId(log: Logger) {
  return createMiddleware(async function requestIdAndAccessLog(c, next) {
    const incoming = c.req.header(requestIdHeader);
    const id = incoming && saneId.test(incoming) ? incoming : randomUUID();
    c.header(requestIdHeader, id);
    const started = performance.now();
    await logContext.run({ requestId: id }, async () => {
      await next();
      // One access line per request. The path only: a query string can carry secrets (a token in a link).
      const line = {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
      };
      if (probePaths.has(c.req.path) && c.res.status < 400) log.debug('request', line);
      else log.info('request', line);
    });
  });
}
