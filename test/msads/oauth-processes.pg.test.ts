import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/client.ts';
import { createEmulator, type Emulator } from '../../src/msads/emulator/index.ts';
import { createAccountTokens } from '../../src/msads/oauth.ts';
import { createSecrets } from '../../src/secrets.ts';
import { registerAccount } from '../../src/services/accounts.ts';
import { testContext } from '../helpers/context.ts';
import { createPostgresDatabaseUrl } from '../helpers/db.ts';

// Two connection pools on one PostgreSQL stand for two processes: only the database can make them
// take turns (an advisory lock per account), not anything in memory.
let first: Database;
let second: Database;
let drop: () => Promise<void>;
let emulator: Emulator;
let server: ServerType;
let tokenUrl: string;
const secrets = createSecrets(randomBytes(32));

beforeAll(async () => {
  const created = await createPostgresDatabaseUrl();
  drop = created.drop;
  first = await openDatabase({ kind: 'postgres', url: created.url, max: 3 });
  second = await openDatabase({ kind: 'postgres', url: created.url, max: 3 });
  // Rotated refresh tokens are revoked: two processes refreshing with the same token would break it.
  emulator = createEmulator({ rotateRefreshTokens: true, revokeRotated: true });
  server = serve({ fetch: emulator.app.fetch, port: 0, hostname: '127.0.0.1' });
  await once(server, 'listening');
  tokenUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/common/oauth2/v2.0/token`;
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await first?.close();
  await second?.close();
  await drop?.();
});

describe('an access token shared by processes', () => {
  it('is refreshed once when two processes need it at the same moment; both use it', async () => {
    const account = await registerAccount({
      ctx: testContext(first, () => new Date()),
      secrets,
      input: {
        name: 'Shared',
        msCustomerId: '111',
        msAccountId: '222',
        developerToken: 'DEV',
        clientId: 'app',
        oauthTokenUrl: tokenUrl,
        refreshToken: emulator.issueRefreshToken({ clientId: 'app' }),
      },
    });
    // A token endpoint that takes its time, so the two would overlap if nothing made them take turns.
    const slow: typeof fetch = async (input, init) => {
      await new Promise((r) => setTimeout(r, 300));
      return fetch(input, init);
    };
    const sources = [first, second, first, second].map((database) =>
      createAccountTokens({ database, secrets, accountId: account.id, fetch: slow }),
    );
    const tokens = await Promise.all(sources.map((s) => s.accessToken()));
    expect(new Set(tokens).size).toBe(1);
    const refreshes = emulator.requests.filter(
      (r) => (r.body as Record<string, string>).grant_type === 'refresh_token',
    );
    expect(refreshes).toHaveLength(1);
  });
});
