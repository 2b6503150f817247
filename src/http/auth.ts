import { createMiddleware } from 'hono/factory';
import { verifyApiKey } from '../services/api-keys.ts';
import type { ServiceContext } from '../services/context.ts';
import { problem } from './problem.ts';

/** Every /api route needs `Authorization: Bearer <key>`; keys are created with `closeloop keys create`. */
export function requireApiKey(ctx: ServiceContext) {
  return createMiddleware(async function apiKeyAuth(c, next) {
    const header = c.req.header('authorization') ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    let detail: string | undefined;
    if (!header)
      detail =
        'This endpoint needs an API key: send "Authorization: Bearer <key>". Create one with `closeloop keys create --name NAME`.';
    else if (!m) detail = 'The Authorization header must be "Bearer <key>".';
    else if (!(await verifyApiKey({ ctx, key: m[1]! })))
      detail =
        'The API key is unknown or was revoked; create a new one with `closeloop keys create --name NAME`.';
    if (detail) {
      // The challenge tells clients which scheme to use (RFC 6750).
      c.header('WWW-Authenticate', 'Bearer realm="closeloop"');
      return problem(c, 'unauthorized', detail);
    }
    await next();
  });
}
