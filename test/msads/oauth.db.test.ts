import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { accounts } from '../../src/db/schema/index.ts';
import { createLogger } from '../../src/log.ts';
import { createEmulator } from '../../src/msads/emulator/index.ts';
import type { Emulator } from '../../src/msads/emulator/types.ts';
import {
  createAccountTokens,
  ReconsentNeededError,
  staticToken,
  TokenRefreshError,
} from '../../src/msads/oauth.ts';
import { createSecrets } from '../../src/secrets.ts';
import { registerAccount } from '../../src/services/accounts.ts';
import { testClock, testContext } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';

let database: Database;
let emulator: Emulator;
let server: ServerType;
let tokenUrl: string;
const clock = testClock('2025-06-01T10:00:00Z');
const secrets = createSecrets(randomBytes(32));
const logLines: string[] = [];
const log = createLogger('debug', (l) => logLines.push(l));
const clientId = 'closeloop-test-client';

beforeAll(async () => {
  database = await createTestDatabase();
  // Rotated refresh tokens are revoked: a client that kept using the old one would get invalid_grant.
  emulator = createEmulator({ now: clock.now, rotateRefreshTokens: true, revokeRotated: true });
  server = serve({ fetch: emulator.app.fetch, port: 0, hostname: '127.0.0.1' });
  await once(server, 'listening');
  tokenUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/common/oauth2/v2.0/token`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await database.close();
});
beforeEach(async () => {
  await database.query(sql`delete from accounts`);
  clock.set('2025-06-01T10:00:00Z');
  logLines.length = 0;
});

/** Refresh-token grants the emulator has answered so far. */
const refreshes = () =>
  emulator.requests.filter(
    (r) =>
      r.path.endsWith('/oauth2/v2.0/token') &&
      (r.body as Record<string, string>).grant_type === 'refresh_token',
  );

/** An account with a refresh token issued by the emulator; `null`: without one. */
async function account(refreshToken: string | null = emulator.issueRefreshToken({ clientId })) {
  const a = await registerAccount({
    ctx: testContext(database, clock.now),
    secrets,
    input: {
      name: 'Acme',
      msCustomerId: '111',
      msAccountId: String(Math.floor(Math.random() * 1e9)),
      developerToken: 'DEV',
      clientId,
      clientSecret: 'web-app-secret',
      oauthTokenUrl: tokenUrl,
      ...(refreshToken ? { refreshToken } : {}),
    },
  });
  return { id: a.id, refreshToken };
}

async function row(id: string) {
  const [r] = await database.db.select().from(accounts).where(eq(accounts.id, id));
  return r!;
}

const tokensFor = (accountId: string, o: { fetch?: typeof fetch } = {}) =>
  createAccountTokens({ database, secrets, accountId, now: clock.now, log, ...o });

describe('createAccountTokens', () => {
  it('refreshes once, stores the token encrypted, and reuses it from memory and from the database', async () => {
    const { id, refreshToken } = await account();
    const before = refreshes().length;
    const tokens = tokensFor(id);
    const token = await tokens.accessToken();
    expect(token).toMatch(/^emu-at\./);
    expect(await tokens.accessToken()).toBe(token);
    expect(refreshes().length - before).toBe(1);

    const request = refreshes().at(-1)!;
    expect(request.body).toMatchObject({
      grant_type: 'refresh_token',
      client_id: clientId,
      client_secret: '…',
      refresh_token: refreshToken,
      scope: 'https://ads.microsoft.com/msads.manage offline_access',
    });
    expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');

    const stored = await row(id);
    expect(stored.accessTokenEnc).not.toContain(token);
    expect(secrets.decrypt(stored.accessTokenEnc!)).toBe(token);
    expect(stored.accessTokenExpiresAt!.toISOString()).toBe('2025-06-01T11:00:00.000Z');
    expect(stored).toMatchObject({ authStatus: 'ok', authError: null });

    // Another process: the stored token is good for 60 minutes, no refresh.
    expect(await tokensFor(id).accessToken()).toBe(token);
    expect(refreshes().length - before).toBe(1);
    expect(logLines.join('')).not.toMatch(/emu-(at|rt)\./);
  });

  it('persists a rotated refresh token, encrypted, and uses it next time', async () => {
    const { id, refreshToken } = await account();
    const tokens = tokensFor(id);
    await tokens.accessToken();
    const rotated = (refreshes().at(-1)!.response as { refresh_token: string }).refresh_token;
    expect(rotated).not.toBe(refreshToken);
    const stored = await row(id);
    expect(stored.refreshTokenEnc).not.toContain(rotated);
    expect(stored.refreshTokenEnc).toMatch(/^v1:/);
    expect(secrets.decrypt(stored.refreshTokenEnc!)).toBe(rotated);

    // The old one is revoked at the emulator: the next refresh works only with the rotated one.
    await tokens.accessToken({ forceRefresh: true });
    expect((refreshes().at(-1)!.body as Record<string, string>).refresh_token).toBe(rotated);
    expect((await row(id)).authStatus).toBe('ok');
  });

  it('refreshes within 5 minutes of expiry, as the clock moves', async () => {
    const { id } = await account();
    const tokens = tokensFor(id);
    const before = refreshes().length;
    const first = await tokens.accessToken();
    clock.advance(54 * 60_000); // 6 minutes left
    expect(await tokens.accessToken()).toBe(first);
    expect(refreshes().length - before).toBe(1);
    clock.advance(2 * 60_000); // 4 minutes left
    const second = await tokens.accessToken();
    expect(second).not.toBe(first);
    expect(refreshes().length - before).toBe(2);
    expect((await row(id)).accessTokenExpiresAt!.toISOString()).toBe('2025-06-01T11:56:00.000Z');
  });

  it('forceRefresh replaces a token Microsoft refused; a second process refused the same token takes the new one', async () => {
    const { id } = await account();
    const a = tokensFor(id);
    const b = tokensFor(id);
    const t1 = await a.accessToken();
    expect(await b.accessToken()).toBe(t1);
    const before = refreshes().length;
    // Both get 109 for t1.
    const t2 = await a.accessToken({ forceRefresh: true });
    expect(t2).not.toBe(t1);
    expect(await b.accessToken({ forceRefresh: true })).toBe(t2);
    expect(refreshes().length - before).toBe(1);
  });

  it('callers in one process share one refresh', async () => {
    const { id } = await account();
    const tokens = tokensFor(id);
    const before = refreshes().length;
    const all = await Promise.all(Array.from({ length: 5 }, () => tokens.accessToken()));
    expect(new Set(all).size).toBe(1);
    expect(refreshes().length - before).toBe(1);
  });

  it('two token sources refreshing at once on one database: exactly one refresh', async () => {
    const { id } = await account();
    const before = refreshes().length;
    const sources = Array.from({ length: 4 }, () => tokensFor(id));
    const all = await Promise.all(sources.map((s) => s.accessToken()));
    expect(new Set(all).size).toBe(1);
    expect(refreshes().length - before).toBe(1);
  });

  it('a slow refresh does not hold up the call schedule kept on the same account row', async () => {
    const { id } = await account();
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    let started: () => void = () => {};
    const inFlight = new Promise<void>((r) => {
      started = r;
    });
    const slowFetch: typeof fetch = async (input, init) => {
      started();
      await held;
      return fetch(input, init);
    };
    const order: string[] = [];
    const refresh = tokensFor(id, { fetch: slowFetch })
      .accessToken()
      .then((token) => {
        order.push('refreshed');
        return token;
      });
    await inFlight;
    const { reserveSlot } = await import('../../src/submit/schedule.ts');
    // The token endpoint answers only after this: a slot that waited for the refresh would never come
    // (the test then times out), one that does not comes first.
    await reserveSlot(database, { accountId: id, callsPerMinute: 60, now: new Date() });
    order.push('slot reserved');
    release();
    expect(await refresh).toMatch(/^emu-at\./);
    expect(order).toEqual(['slot reserved', 'refreshed']);
  }, 10_000);

  it('invalid_grant: reconsent_needed is recorded, and the dead token is not sent again', async () => {
    const { id, refreshToken } = await account();
    emulator.revokeRefreshToken(refreshToken!);
    const tokens = tokensFor(id);
    const before = refreshes().length;
    const err = await tokens.accessToken().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReconsentNeededError);
    expect(err).toMatchObject({ code: 'reconsent_needed', retryable: false, accountId: id });
    expect((err as Error).message).toContain(`Run \`closeloop auth login --account ${id}\``);
    const stored = await row(id);
    expect(stored.authStatus).toBe('reconsent_needed');
    expect(stored.authError).toMatch(/^AADSTS70000: The refresh token has been revoked/);
    expect(stored.accessTokenEnc).toBeNull();
    await expect(tokensFor(id).accessToken()).rejects.toBeInstanceOf(ReconsentNeededError);
    expect(refreshes().length - before).toBe(1);
    expect(logLines.join('')).not.toContain(refreshToken);
  });

  it('without a refresh token: reconsent_needed, no call', async () => {
    const { id } = await account(null);
    const before = refreshes().length;
    await expect(tokensFor(id).accessToken()).rejects.toThrow(/no refresh token is stored/);
    expect(await row(id)).toMatchObject({ authStatus: 'reconsent_needed' });
    expect(refreshes().length).toBe(before);
  });

  it('an unreachable token endpoint is retryable and changes nothing stored', async () => {
    const { id } = await account();
    const closed = serve({ fetch: () => new Response(), port: 0, hostname: '127.0.0.1' });
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await database.db
      .update(accounts)
      .set({ oauthTokenUrl: `http://127.0.0.1:${port}/common/oauth2/v2.0/token` })
      .where(eq(accounts.id, id));
    const before = await row(id);
    const err = await tokensFor(id)
      .accessToken()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenRefreshError);
    expect(err).toMatchObject({ retryable: true, accountId: id });
    expect((err as Error).message).toMatch(/could not be reached.*retryable/);
    expect(await row(id)).toEqual(before);
  });

  it('a refresh token of another client: reconsent_needed with the reason Microsoft gave', async () => {
    const { id } = await account();
    await database.db.update(accounts).set({ clientId: 'other-client' }).where(eq(accounts.id, id));
    const err = await tokensFor(id)
      .accessToken()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReconsentNeededError);
    expect((await row(id)).authError).toMatch(/different client_id/);
  });
});

describe('staticToken', () => {
  it('always gives the same token', async () => {
    const tokens = staticToken('dry-run');
    expect(await tokens.accessToken()).toBe('dry-run');
    expect(await tokens.accessToken({ forceRefresh: true })).toBe('dry-run');
  });
});
