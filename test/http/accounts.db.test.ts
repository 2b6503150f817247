import { randomBytes } from 'node:crypto';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { onError } from '../../src/http/problem.ts';
import { accountRoutes } from '../../src/http/routes/accounts.ts';
import { createSecrets } from '../../src/secrets.ts';
import { registerAccount } from '../../src/services/accounts.ts';
import { testClock, testContext } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';

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
