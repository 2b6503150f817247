import type { Database } from '../../src/db/client.ts';
import { type AppDeps, createApp } from '../../src/http/app.ts';
import { createLogger } from '../../src/log.ts';
import { createApiKey } from '../../src/services/api-keys.ts';
import { testContext } from './context.ts';

/** The real app over a test database, with an API key, and a `call` that sends it. */
export async function testApp(database: Database, now: () => Date, extra: Partial<AppDeps> = {}) {
  const ctx = testContext(database, now);
  const app = createApp({
    ctx,
    log: createLogger('silent'),
    maxUploadBytes: 5 * 1024 * 1024,
    target: 'emulator',
    ...extra,
  });
  const { key } = await createApiKey({ ctx, name: 'test' });
  const auth = { authorization: `Bearer ${key}` };
  const call = (path: string, init: RequestInit & { json?: unknown } = {}) => {
    const { json, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (!headers.has('authorization')) headers.set('authorization', auth.authorization);
    if (json !== undefined) headers.set('content-type', 'application/json');
    return app.request(path, {
      ...rest,
      headers,
      ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
    });
  };
  return { app, ctx, key, call };
}
