import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.ts';
import { createEmulator, type Emulator } from '../../src/msads/emulator/index.ts';
import { createAccountTokens } from '../../src/msads/oauth.ts';
import { createSecrets, loadSecretKey } from '../../src/secrets.ts';
import { type CliResult, cliEnvironment, cliTestTimeoutMs, runCli, startCli } from '../helpers/cli.ts';
import { testDbKind } from '../helpers/db.ts';

let emulator: Emulator;
let server: ServerType;
let env: Record<string, string>;
let cleanup: () => Promise<void>;
const clientId = 'closeloop-cli-test';

beforeAll(async () => {
  emulator = createEmulator();
  server = serve({ fetch: emulator.app.fetch, port: 0, hostname: '127.0.0.1' });
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const db = await cliEnvironment();
  cleanup = db.cleanup;
  env = {
    // On PostgreSQL too: the key file and the pending consent live in a data folder of the test's own.
    CLOSELOOP_DATA_DIR: mkdtempSync(join(tmpdir(), 'closeloop-auth-')),
    ...db.env,
    MSADS_CUSTOMER_ID: '1234567',
    MSADS_ACCOUNT_ID: '7654321',
    MSADS_DEVELOPER_TOKEN: 'DEV-TOKEN',
    MSADS_CLIENT_ID: clientId,
    MSADS_OAUTH_TOKEN_URL: `${base}/common/oauth2/v2.0/token`,
    MSADS_API_BASE_URL: base,
  };
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await cleanup();
});

/**
 * Run the CLI; `answer` gets the consent URL it prints and returns what to type at the prompt
 * (undefined: close stdin without typing).
 */
async function login(
  args: string[],
  answer: (consentUrl: string) => Promise<string | undefined>,
  extraEnv: Record<string, string> = {},
): Promise<CliResult & { consentUrl: string }> {
  const child = startCli(['auth', 'login', ...args], { ...env, ...extraEnv });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const closed = once(child, 'close');
  const consentUrl = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      stdout += d;
      const line = /^(https?:\/\/\S+)$/m.exec(stdout);
      if (line) resolve(line[1]!);
    });
    child.on('close', () => reject(new Error(`no consent URL; stderr: ${stderr}`)));
  });
  const typed = await answer(consentUrl);
  child.stdin!.end(typed === undefined ? undefined : `${typed}\n`);
  const [code] = await closed;
  return { code: code as number | null, stdout, stderr, consentUrl };
}

/** What the browser does: consent (the emulator's user accepts at once) and follow the redirect. */
async function consent(consentUrl: string): Promise<URL> {
  const res = await fetch(consentUrl, { redirect: 'manual' });
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location')!);
}

const tokenRequests = () =>
  emulator.requests.filter(
    (r) =>
      r.path.endsWith('/oauth2/v2.0/token') &&
      (r.body as Record<string, string>).grant_type === 'authorization_code',
  );

async function listAccounts() {
  const list = await runCli(['accounts', 'list', '--json'], env);
  expect(list.code).toBe(0);
  return JSON.parse(list.stdout) as Record<string, unknown>[];
}

describe('closeloop auth login', { timeout: cliTestTimeoutMs }, () => {
  it(
    'prints the consent URL, takes the whole redirect URL pasted at the prompt, stores the refresh token',
    async () => {
      const before = await listAccounts();
      expect(before).toHaveLength(1);
      expect(before[0]).toMatchObject({ origin: 'env', msAccountId: '7654321', hasRefreshToken: false });

      const result = await login([], async (url) => (await consent(url)).toString());
      expect(result.stderr).toContain('Paste the code (or the whole URL you were redirected to):');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('Signed in: account "Microsoft Advertising 7654321"');

      const url = new URL(result.consentUrl);
      expect(url.pathname).toBe('/common/oauth2/v2.0/authorize');
      expect(Object.fromEntries(url.searchParams)).toMatchObject({
        client_id: clientId,
        response_type: 'code',
        redirect_uri: 'https://login.microsoftonline.com/common/oauth2/nativeclient',
        scope: 'openid profile https://ads.microsoft.com/msads.manage offline_access',
        code_challenge_method: 'S256',
      });
      expect(url.searchParams.get('state')).toMatch(/^[\w-]{20,}$/);
      expect(url.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);

      const exchange = tokenRequests().at(-1)!;
      expect(exchange.status).toBe(200);
      expect(exchange.body).toMatchObject({
        client_id: clientId,
        redirect_uri: 'https://login.microsoftonline.com/common/oauth2/nativeclient',
        code_verifier: expect.stringMatching(/^[\w-]{43}$/),
      });
      const [after] = await listAccounts();
      expect(after).toMatchObject({ authStatus: 'ok', authError: null, hasRefreshToken: true });
      if (testDbKind() === 'postgres') expect(result.stderr).toContain('CLOSELOOP_SECRET_KEY is not set');

      // The stored refresh token works: a token source over the same database refreshes with it.
      const database = await openDatabase(
        env.DATABASE_URL
          ? { kind: 'postgres', url: env.DATABASE_URL }
          : { kind: 'pglite', dataDir: env.CLOSELOOP_DATA_DIR! },
      );
      try {
        const secrets = createSecrets(
          loadSecretKey({ secretKey: undefined, dataDir: env.CLOSELOOP_DATA_DIR! }),
        );
        const issued = exchange.response as { access_token: string; refresh_token: string };
        const tokens = createAccountTokens({
          database,
          secrets,
          accountId: String(after!.id),
          defaultTokenUrl: env.MSADS_OAUTH_TOKEN_URL,
        });
        expect(await tokens.accessToken()).toBe(issued.access_token);
        const refreshed = await tokens.accessToken({ forceRefresh: true });
        expect(refreshed).not.toBe(issued.access_token);
        const refresh = emulator.requests.at(-1)!;
        expect(refresh.body).toMatchObject({
          grant_type: 'refresh_token',
          refresh_token: issued.refresh_token,
        });
      } finally {
        await database.close();
      }
    },
    cliTestTimeoutMs,
  );

  it(
    'consent elsewhere: a run without input keeps the request, a later --code run finishes it',
    async () => {
      const first = await login(['--account', '7654321'], async () => undefined);
      expect(first.code).toBe(1);
      expect(first.stderr).toContain('No code given');
      expect(first.stderr).toMatch(/closeloop auth login --account [0-9a-f-]{36} --code CODE_OR_URL/);
      const code = (await consent(first.consentUrl)).searchParams.get('code')!;

      const second = await runCli(['auth', 'login', '--account', '7654321', '--code', code], env);
      expect(second.stderr).not.toContain('Error');
      expect(second.code).toBe(0);
      expect(second.stdout).toContain('Signed in');
      // The PKCE verifier of the first run came along.
      expect(tokenRequests().at(-1)!.body).toMatchObject({ code, code_verifier: expect.any(String) });

      const again = await runCli(['auth', 'login', '--code', code], env);
      expect(again.code).toBe(2);
      expect(again.stderr).toContain(
        'Microsoft refused the code (AADSTS54005: OAuth2 Authorization code was already redeemed.',
      );
      expect(again.stderr).toContain('run `closeloop auth login` again');
    },
    cliTestTimeoutMs,
  );

  it(
    'explains a redirect URI that differs from the consent request',
    async () => {
      const first = await login(
        ['--redirect-uri', 'http://localhost:8787/oauth/callback'],
        async () => undefined,
      );
      const location = await consent(first.consentUrl);
      expect(location.origin + location.pathname).toBe('http://localhost:8787/oauth/callback');
      const wrong = await runCli(
        ['auth', 'login', '--code', location.toString(), '--redirect-uri', 'http://localhost:9999/elsewhere'],
        env,
      );
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toContain('Microsoft refused the redirect URI http://localhost:9999/elsewhere');
      expect(wrong.stderr).toContain('--redirect-uri');
    },
    cliTestTimeoutMs,
  );

  it(
    'refuses a URL from another consent request, and a declined consent',
    async () => {
      const stale = await login([], async (url) => {
        const location = await consent(url);
        location.searchParams.set('state', 'from-another-request');
        return location.toString();
      });
      expect(stale.code).toBe(2);
      expect(stale.stderr).toContain('belongs to another consent request');
      const declined = await login(
        [],
        async () =>
          'https://login.microsoftonline.com/common/oauth2/nativeclient?error=access_denied&error_description=the+user+declined',
      );
      expect(declined.code).toBe(2);
      expect(declined.stderr).toContain('Microsoft did not grant consent: access_denied: the user declined');
    },
    cliTestTimeoutMs,
  );

  it(
    'has nothing to sign in to in a dry run',
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'closeloop-auth-dry-'));
      const dry = await cliEnvironment();
      try {
        const result = await runCli(['auth', 'login'], { CLOSELOOP_DATA_DIR: dataDir, ...dry.env });
        expect(result.code).toBe(2);
        expect(result.stderr).toContain('only the built-in dry run');
        const list = await runCli(['accounts', 'list'], { CLOSELOOP_DATA_DIR: dataDir, ...dry.env });
        expect(list.code).toBe(0);
        expect(list.stdout).toContain('DRY RUN');
        expect(list.stdout).toContain('Dry run (built-in emulator)');
      } finally {
        await dry.cleanup();
      }
    },
    cliTestTimeoutMs,
  );
});
