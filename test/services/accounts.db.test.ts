import { randomBytes } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.ts';
import type { Database } from '../../src/db/client.ts';
import { accounts, goals } from '../../src/db/schema/index.ts';
import { sha256Hex } from '../../src/domain/identifiers.ts';
import { AppError } from '../../src/errors.ts';
import { createSecrets } from '../../src/secrets.ts';
import {
  accountView,
  defaultAccount,
  getAccount,
  listAccounts,
  registerAccount,
  storeRefreshToken,
  syncEnvAccount,
} from '../../src/services/accounts.ts';
import { testClock, testContext } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';

let database: Database;
const clock = testClock('2025-06-01T10:00:00Z');
const secrets = createSecrets(randomBytes(32));
const ctx = () => testContext(database, clock.now);

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.close());
beforeEach(async () => {
  await database.query(sql`delete from goals`);
  await database.query(sql`delete from accounts`);
});

/** msads() : no MSADS_* account; msads({ … }): one, with these changes. */
function msads(envAccount?: Partial<NonNullable<Config['msads']['envAccount']>>): Pick<Config, 'msads'> {
  return {
    msads: {
      apiBaseUrl: 'https://campaign.api.bingads.microsoft.com',
      tokenUrl: 'https://login.microsoftonline.com/common/oauth2/v2.0/token',
      envAccount: envAccount && {
        customerId: '111222333',
        accountId: '444555666',
        developerToken: 'DEV-TOKEN-1',
        clientId: 'client-1',
        clientSecret: 'client-secret-1',
        refreshToken: undefined,
        ...envAccount,
      },
    },
  };
}

async function row(id: string) {
  const [r] = await database.db.select().from(accounts).where(eq(accounts.id, id));
  return r!;
}

const registration = {
  name: 'Acme US',
  msCustomerId: '900800700',
  msAccountId: '600500400',
  developerToken: 'DEV-TOKEN-2',
  clientId: 'client-2',
  clientSecret: 'client-secret-2',
};

async function expectAppError(p: Promise<unknown>, code: string, message: RegExp | string) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe(code);
  expect((err as AppError).message).toMatch(message);
  return err as AppError;
}

describe('syncEnvAccount', () => {
  it('without MSADS_* and without accounts: ensures one default dry-run account, once', async () => {
    const first = await syncEnvAccount({ ctx: ctx(), config: msads(), secrets });
    const second = await syncEnvAccount({ ctx: ctx(), config: msads(), secrets });
    expect(second!.id).toBe(first!.id);
    const list = await listAccounts({ ctx: ctx() });
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      name: 'Dry run (built-in emulator)',
      target: 'emulator',
      dryRun: true,
      origin: 'dry-run',
      isDefault: true,
      msCustomerId: '1000',
      msAccountId: '2000',
    });
  });

  it('upserts the MSADS_* account with encrypted secrets and makes it the default over the dry run', async () => {
    await syncEnvAccount({ ctx: ctx(), config: msads(), secrets });
    const env = await syncEnvAccount({ ctx: ctx(), config: msads({ refreshToken: 'RT-env-1' }), secrets });
    expect(env).toMatchObject({
      name: 'Microsoft Advertising 444555666',
      origin: 'env',
      target: 'microsoft',
      isDefault: true,
      msCustomerId: '111222333',
      msAccountId: '444555666',
      clientId: 'client-1',
      apiBaseUrl: null,
      oauthTokenUrl: null,
      refreshTokenEnvHash: sha256Hex('RT-env-1'),
    });
    expect(env!.developerTokenEnc).not.toContain('DEV-TOKEN');
    expect(secrets.decrypt(env!.developerTokenEnc!)).toBe('DEV-TOKEN-1');
    expect(secrets.decrypt(env!.clientSecretEnc!)).toBe('client-secret-1');
    expect(secrets.decrypt(env!.refreshTokenEnc!)).toBe('RT-env-1');
    // The dry run had nothing pointing at it: it is gone.
    const list = await listAccounts({ ctx: ctx() });
    expect(list.map((a) => a.origin)).toEqual(['env']);
    expect((await defaultAccount({ ctx: ctx() }))!.id).toBe(env!.id);
  });

  it('keeps a rotated refresh token when MSADS_REFRESH_TOKEN is unchanged; a new one replaces it', async () => {
    const env = (await syncEnvAccount({ ctx: ctx(), config: msads({ refreshToken: 'RT-env-1' }), secrets }))!;
    // A refresh rotated the token and stored an access token.
    await database.db
      .update(accounts)
      .set({
        refreshTokenEnc: secrets.encrypt('RT-rotated'),
        accessTokenEnc: secrets.encrypt('AT-1'),
        accessTokenExpiresAt: new Date('2025-06-01T11:00:00Z'),
        authStatus: 'ok',
      })
      .where(eq(accounts.id, env.id));
    await syncEnvAccount({ ctx: ctx(), config: msads({ refreshToken: 'RT-env-1' }), secrets });
    expect(secrets.decrypt((await row(env.id)).refreshTokenEnc!)).toBe('RT-rotated');
    expect((await row(env.id)).accessTokenEnc).not.toBeNull();
    // Same without MSADS_REFRESH_TOKEN at all.
    await syncEnvAccount({ ctx: ctx(), config: msads({}), secrets });
    expect(secrets.decrypt((await row(env.id)).refreshTokenEnc!)).toBe('RT-rotated');
    // A different env token is a new consent: it wins, and the old access token goes.
    await database.db
      .update(accounts)
      .set({ authStatus: 'reconsent_needed', authError: 'AADSTS70000: revoked' })
      .where(eq(accounts.id, env.id));
    await syncEnvAccount({ ctx: ctx(), config: msads({ refreshToken: 'RT-env-2' }), secrets });
    const after = await row(env.id);
    expect(secrets.decrypt(after.refreshTokenEnc!)).toBe('RT-env-2');
    expect(after).toMatchObject({
      refreshTokenEnvHash: sha256Hex('RT-env-2'),
      accessTokenEnc: null,
      accessTokenExpiresAt: null,
      authStatus: 'unknown',
      authError: null,
    });
  });

  it('updates changed credentials in place and keeps the id', async () => {
    const env = (await syncEnvAccount({ ctx: ctx(), config: msads({}), secrets }))!;
    const again = await syncEnvAccount({
      ctx: ctx(),
      config: msads({ developerToken: 'DEV-TOKEN-NEW', clientSecret: undefined, clientId: 'client-new' }),
      secrets,
    });
    expect(again!.id).toBe(env.id);
    expect(again!.clientId).toBe('client-new');
    expect(again!.clientSecretEnc).toBeNull();
    expect(secrets.decrypt(again!.developerTokenEnc!)).toBe('DEV-TOKEN-NEW');
  });

  it('a changed MSADS_ACCOUNT_ID: the old account stays, registered, and the new one is the default', async () => {
    const old = (await syncEnvAccount({ ctx: ctx(), config: msads({}), secrets }))!;
    const next = (await syncEnvAccount({ ctx: ctx(), config: msads({ accountId: '777888999' }), secrets }))!;
    expect(next.id).not.toBe(old.id);
    expect(next.isDefault).toBe(true);
    expect(await row(old.id)).toMatchObject({ origin: 'database', isDefault: false });
  });

  it('does not take the default from an account registered as the default', async () => {
    const registered = await registerAccount({ ctx: ctx(), secrets, input: registration });
    expect(registered.isDefault).toBe(true);
    const env = await syncEnvAccount({ ctx: ctx(), config: msads({}), secrets });
    expect(env!.isDefault).toBe(false);
    expect((await defaultAccount({ ctx: ctx() }))!.id).toBe(registered.id);
  });

  it('a dry-run account that goals point at stays, but is no longer the default', async () => {
    const dry = (await syncEnvAccount({ ctx: ctx(), config: msads(), secrets }))!;
    await database.db.insert(goals).values({ name: 'Purchase', accountId: dry.id });
    const env = await syncEnvAccount({ ctx: ctx(), config: msads({}), secrets });
    expect(env!.isDefault).toBe(true);
    expect(await row(dry.id)).toMatchObject({ origin: 'dry-run', isDefault: false });
    // Later starts keep it that way.
    await syncEnvAccount({ ctx: ctx(), config: msads({}), secrets });
    expect((await defaultAccount({ ctx: ctx() }))!.id).toBe(env!.id);
  });

  it('without MSADS_* but with a registered account: no dry run', async () => {
    await syncEnvAccount({ ctx: ctx(), config: msads(), secrets });
    const registered = await registerAccount({ ctx: ctx(), secrets, input: registration });
    expect(registered.isDefault).toBe(true);
    expect(await syncEnvAccount({ ctx: ctx(), config: msads(), secrets })).toBeUndefined();
    expect((await listAccounts({ ctx: ctx() })).map((a) => a.name)).toEqual(['Acme US']);
  });

  it('several processes starting at once end with one account', async () => {
    await Promise.all(
      Array.from({ length: 4 }, () =>
        syncEnvAccount({ ctx: ctx(), config: msads({ refreshToken: 'RT' }), secrets }),
      ),
    );
    expect(await listAccounts({ ctx: ctx() })).toHaveLength(1);
  });
});

describe('registerAccount', () => {
  it('stores the account with its secrets encrypted; the view has none of them', async () => {
    await syncEnvAccount({ ctx: ctx(), config: msads(), secrets });
    const a = await registerAccount({
      ctx: ctx(),
      secrets,
      input: {
        ...registration,
        refreshToken: 'RT-registered',
        apiBaseUrl: 'https://campaign.api.sandbox.bingads.microsoft.com/',
        oauthTokenUrl: 'https://login.windows-ppe.net/consumers/oauth2/v2.0/token',
        callsPerMinute: 30,
      },
    });
    expect(a).toMatchObject({
      origin: 'database',
      target: 'microsoft',
      isDefault: true,
      apiBaseUrl: 'https://campaign.api.sandbox.bingads.microsoft.com',
      callsPerMinute: 30,
    });
    expect(secrets.decrypt(a.refreshTokenEnc!)).toBe('RT-registered');
    expect(secrets.decrypt(a.clientSecretEnc!)).toBe('client-secret-2');
    expect(secrets.decrypt(a.developerTokenEnc!)).toBe('DEV-TOKEN-2');

    const views = await listAccounts({ ctx: ctx() });
    expect(views).toHaveLength(1);
    expect(views[0]).toEqual({
      id: a.id,
      name: 'Acme US',
      target: 'microsoft',
      dryRun: false,
      origin: 'database',
      isDefault: true,
      msCustomerId: '900800700',
      msAccountId: '600500400',
      authStatus: 'unknown',
      authError: null,
      hasRefreshToken: true,
      autoTagging: null,
      autoTaggingCheckedAt: null,
      autoTaggingWarning: 'not checked yet',
      pausedUntil: null,
      pauseReason: null,
      callsPerMinute: 30,
    });
    const text = JSON.stringify(views);
    for (const secret of ['RT-registered', 'client-secret-2', 'DEV-TOKEN-2', 'v1:'])
      expect(text).not.toContain(secret);
  });

  it('a second account is not the default unless asked', async () => {
    const first = await registerAccount({ ctx: ctx(), secrets, input: registration });
    const second = await registerAccount({
      ctx: ctx(),
      secrets,
      input: { ...registration, name: 'Acme EU', msAccountId: '600500401' },
    });
    expect(second.isDefault).toBe(false);
    const third = await registerAccount({
      ctx: ctx(),
      secrets,
      input: { ...registration, name: 'Acme UK', msAccountId: '600500402', makeDefault: true },
    });
    expect(third.isDefault).toBe(true);
    expect((await row(first.id)).isDefault).toBe(false);
    expect((await listAccounts({ ctx: ctx() })).map((a) => a.name)).toEqual([
      'Acme UK',
      'Acme EU',
      'Acme US',
    ]);
  });

  it('refuses an account id that is already there', async () => {
    await registerAccount({ ctx: ctx(), secrets, input: registration });
    await expectAppError(
      registerAccount({ ctx: ctx(), secrets, input: { ...registration, name: 'Again' } }),
      'conflict',
      'Microsoft account 600500400 is already registered',
    );
    await syncEnvAccount({ ctx: ctx(), config: msads({}), secrets });
    await expectAppError(
      registerAccount({ ctx: ctx(), secrets, input: { ...registration, msAccountId: '444555666' } }),
      'conflict',
      /444555666 is already registered/,
    );
  });

  it('names every field that is wrong', async () => {
    const err = await expectAppError(
      registerAccount({
        ctx: ctx(),
        secrets,
        input: {
          name: ' ',
          msCustomerId: '12-34',
          msAccountId: 'abc',
          clientId: 'c',
          apiBaseUrl: 'not a url',
          callsPerMinute: 0,
        },
      }),
      'validation_failed',
      /^Invalid account: /,
    );
    expect(err.message).toContain('name: name must not be empty');
    expect(err.message).toContain(
      "msCustomerId: msCustomerId (the customer / manager account id) must be Microsoft's numeric id",
    );
    expect(err.message).toContain(
      "msAccountId: msAccountId (the ad account id) must be Microsoft's numeric id",
    );
    expect(err.message).toContain('developerToken: developerToken is required');
    expect(err.message).toContain('apiBaseUrl: apiBaseUrl must be a URL');
    expect(err.message).toContain('callsPerMinute: callsPerMinute must be at least 1');
    expect(err.details).toMatchObject({
      problems: expect.arrayContaining([{ field: 'msAccountId', message: expect.any(String) }]),
    });
  });
});

describe('views and lookups', () => {
  it('explains auto-tagging, finds accounts by either id, and stores a new consent', async () => {
    const a = await registerAccount({ ctx: ctx(), secrets, input: registration });
    await database.db
      .update(accounts)
      .set({
        autoTagging: false,
        autoTaggingCheckedAt: new Date('2025-06-01T09:00:00Z'),
        authStatus: 'reconsent_needed',
        authError: 'AADSTS700082: The refresh token has expired',
      })
      .where(eq(accounts.id, a.id));
    const view = accountView(await getAccount({ ctx: ctx(), id: '600500400' }));
    expect(view.autoTagging).toBe(false);
    expect(view.autoTaggingCheckedAt).toBe('2025-06-01T09:00:00.000Z');
    expect(view.autoTaggingWarning).toBe(
      `MSCLKID auto-tagging is off: Microsoft does not add msclkid to ad clicks, so there are no click IDs to send. Turn it on: closeloop accounts auto-tagging --enable (or POST /api/v1/accounts/${a.id}/auto-tagging)`,
    );
    expect(view.hasRefreshToken).toBe(false);
    expect((await getAccount({ ctx: ctx(), id: a.id })).id).toBe(a.id);
    await expectAppError(getAccount({ ctx: ctx(), id: 'nope' }), 'not_found', /No account "nope"/);
    await expectAppError(getAccount({ ctx: ctx(), id: '1' }), 'not_found', /closeloop accounts list/);

    await database.db.update(accounts).set({ autoTagging: true }).where(eq(accounts.id, a.id));
    const stored = await storeRefreshToken({
      ctx: ctx(),
      secrets,
      accountId: a.id,
      refreshToken: 'RT-consent',
      accessToken: { token: 'AT-consent', expiresAt: new Date('2025-06-01T11:00:00Z') },
    });
    expect(stored).toMatchObject({ authStatus: 'ok', authError: null });
    expect(secrets.decrypt(stored.refreshTokenEnc!)).toBe('RT-consent');
    expect(secrets.decrypt(stored.accessTokenEnc!)).toBe('AT-consent');
    expect(accountView(stored)).toMatchObject({
      hasRefreshToken: true,
      autoTaggingWarning: null,
      authStatus: 'ok',
    });
  });
});
