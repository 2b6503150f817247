import { randomBytes } from 'node:crypto';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { onError } from '../../src/http/problem.ts';
import { accountRoutes } from '../../src/http/routes/accounts.ts';
import { createSecrets } from '../../src/secrets.ts';
import { registerAccount } from '../../src/services/accounts.ts';
import { throttledReason } from '../../src/submit/answer.ts';
import { pauseAccount } from '../../src/submit/schedule.ts';
import { testApp } from '../helpers/app.ts';
import { testClock, testContext } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { addAccount } from '../helpers/submit.ts';

let database: Database;
let app: Hono;
const clock = testClock('2025-06-01T10:00:00Z');
const secrets = createSecrets(randomBytes(32));

beforeAll(async () => {
  database = await createTestDatabase();
  const ctx = testContext(database, clock.now);
  app = new Hono();
  app.onError(onError(() => {}));
  app.route('/accounts', accountRoutes(ctx));
});
afterAll(() => database.close());

describe('GET /accounts', () => {
  it('lists accounts and shows one, by either id, without a secret', async () => {
    const account = await registerAccount({
      ctx: testContext(database, clock.now),
      secrets,
      input: {
        name: 'Acme',
        msCustomerId: '123',
        msAccountId: '456',
        developerToken: 'DEV-SECRET',
        clientId: 'app',
        clientSecret: 'CLIENT-SECRET',
        refreshToken: 'REFRESH-SECRET',
      },
    });
    const list = await app.request('/accounts');
    expect(list.status).toBe(200);
    const text = await list.text();
    expect(JSON.parse(text)).toEqual({
      accounts: [
        expect.objectContaining({ id: account.id, name: 'Acme', hasRefreshToken: true, dryRun: false }),
      ],
    });
    for (const secret of ['SECRET', 'v1:', 'Enc']) expect(text).not.toContain(secret);

    for (const id of [account.id, '456']) {
      const one = await app.request(`/accounts/${id}`);
      expect(one.status).toBe(200);
      expect(await one.json()).toMatchObject({
        id: account.id,
        msAccountId: '456',
        autoTaggingWarning: 'not checked yet',
      });
    }
    const missing = await app.request('/accounts/nope');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
    expect((await missing.json()).detail).toContain('No account "nope"');
  });
});

describe('POST /api/v1/accounts/:id/resume', () => {
  it('lifts a pause and answers the account; a throttling pause only with force; 404 for no account', async () => {
    const { call } = await testApp(database, clock.now);
    const account = await addAccount(database, { name: 'Paused <b>', msAccountId: '789', isDefault: false });
    const pause = (reason: string) =>
      pauseAccount(database, {
        accountId: account.id,
        until: new Date(clock.now().getTime() + 15 * 60_000),
        reason,
        now: clock.now(),
      });
    await pause('105 InvalidCredentials: Authentication failed.');

    const res = await call('/api/v1/accounts/789/resume', { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      id: account.id,
      pausedUntil: null,
      pauseReason: null,
      resumed: true,
      message:
        'Account "Paused <b>" (dry run) resumed: its queued rows are sent on the next pass (the pause was: 105 InvalidCredentials: Authentication failed.).',
    });
    const again = await call(`/api/v1/accounts/${account.id}/resume`, { method: 'POST', json: {} });
    expect(await again.json()).toMatchObject({
      resumed: false,
      message: 'Account "Paused <b>" (dry run) was not paused.',
    });

    await pause(`${throttledReason} (429)`);
    const throttled = await call(`/api/v1/accounts/${account.id}/resume`, { method: 'POST' });
    expect(throttled.status).toBe(409);
    expect(throttled.headers.get('content-type')).toBe('application/problem+json');
    expect((await throttled.json()).detail).toContain('Microsoft throttled it and asked closeloop to wait');
    const bad = await call(`/api/v1/accounts/${account.id}/resume`, {
      method: 'POST',
      json: { force: 'yes' },
    });
    expect(bad.status).toBe(422);
    expect((await bad.json()).detail).toContain('force must be true or false');
    const forced = await call(`/api/v1/accounts/${account.id}/resume`, {
      method: 'POST',
      json: { force: true },
    });
    expect(forced.status).toBe(200);
    expect(await forced.json()).toMatchObject({ resumed: true, pausedUntil: null });

    const missing = await call('/api/v1/accounts/424242/resume', { method: 'POST' });
    expect(missing.status).toBe(404);
    expect((await missing.json()).detail).toContain('No account "424242"');
  });
});
