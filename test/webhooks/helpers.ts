import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { signCtm } from '../../connectors/calltracking/calltrackingmetrics.ts';
import type { Database } from '../../src/db/client.ts';
import { createApp } from '../../src/http/app.ts';
import { createLogger } from '../../src/log.ts';
import { createSecrets } from '../../src/secrets.ts';
import { createApiKey } from '../../src/services/api-keys.ts';
import { createWebhookSource, webhookEndpoint } from '../../src/services/webhook-sources.ts';
import { testContext } from '../helpers/context.ts';

/** A well-formed click ID (32 hex characters) from a seed. */
export const clickId = (seed: string | number) =>
  Buffer.from(String(seed).padEnd(16, '.')).toString('hex').slice(0, 32).padEnd(32, '0');

/** The app with webhooks mounted over a test database, an API key, and a way to add sources. */
export async function webhookApp(database: Database, now: () => Date) {
  const ctx = testContext(database, now);
  const secrets = createSecrets(randomBytes(32));
  const app = createApp({
    ctx,
    log: createLogger('silent'),
    maxUploadBytes: 5 * 1024 * 1024,
    target: 'emulator',
    webhooks: { secrets, publicUrl: 'https://calls.example.com' },
  });
  const { key } = await createApiKey({ ctx, name: 'test' });
  const api = (path: string, init: RequestInit & { json?: unknown } = {}) => {
    const { json, ...rest } = init;
    const headers = new Headers(rest.headers);
    headers.set('authorization', `Bearer ${key}`);
    if (json !== undefined) headers.set('content-type', 'application/json');
    return app.request(path, {
      ...rest,
      headers,
      ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
    });
  };
  const addSource = async (input: Record<string, unknown>) => {
    const source = await createWebhookSource({ ctx, secrets, input });
    return { source, ...webhookEndpoint(source, secrets, 'https://calls.example.com') };
  };
  return { app, ctx, secrets, api, addSource };
}

/** A CTM delivery signed with `secret` at `now` (X-CTM-Time in epoch seconds). */
export function signedCtm(secret: string, body: string, now: Date, headers: Record<string, string> = {}) {
  const time = String(Math.floor(now.getTime() / 1000));
  return {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-ctm-time': time,
      'x-ctm-signature': signCtm(secret, time, body),
      ...headers,
    },
    body,
  };
}

export async function eventCount(database: Database): Promise<number> {
  const [row] = await database.query<{ n: number }>(sql`select count(*)::int as n from webhook_events`);
  return Number(row!.n);
}

export async function events(database: Database) {
  return database.query<{
    id: number;
    provider_call_id: string | null;
    state: string;
    outcome: string | null;
    reason: string | null;
    conversion_id: number | null;
    adjustment_id: number | null;
    value: string | null;
  }>(
    sql`select id, provider_call_id, state, outcome, reason, conversion_id, adjustment_id, value from webhook_events order by id`,
  );
}
