import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmulator, type Emulator } from '../../src/msads/emulator/index.ts';
import { cliEnvironment, cliTestTimeoutMs, runCli } from '../helpers/cli.ts';

let env: Record<string, string>;
let cleanup: () => Promise<void>;
let emulator: Emulator;
let server: ServerType;
const dir = mkdtempSync(join(tmpdir(), 'closeloop-submit-'));

beforeAll(async () => {
  emulator = createEmulator({ auth: 'strict' });
  emulator.addGoal({
    customerId: '1000000',
    name: 'Phone sale',
    createdAt: new Date(Date.now() - 86_400_000),
  });
  server = serve({ fetch: emulator.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const base = await cliEnvironment();
  cleanup = base.cleanup;
  env = {
    ...base.env,
    CLOSELOOP_SECRET_KEY: 'b'.repeat(64),
    MSADS_API_BASE_URL: url,
    MSADS_OAUTH_TOKEN_URL: `${url}/common/oauth2/v2.0/token`,
    MSADS_REFRESH_TOKEN: emulator.issueRefreshToken({ clientId: 'app' }),
    MSADS_CLIENT_ID: 'app',
    MSADS_DEVELOPER_TOKEN: 'dev-token',
    MSADS_CUSTOMER_ID: '1000000',
    MSADS_ACCOUNT_ID: '2000000',
  };
});
afterAll(async () => {
  server?.close();
  await cleanup?.();
});

describe('sending from the CLI', { timeout: cliTestTimeoutMs }, () => {
  it('syncs goals, checks auto-tagging, imports a file and submits it once, with the real OAuth flow', async () => {
    const sync = await runCli(['goals', 'sync'], env);
    expect(sync.stderr).toBe('');
    expect(sync.stdout).toContain('1 imported');
    expect(sync.stdout).toContain('+ Phone sale');

    emulator.setAutoTagging('1000000', '2000000', false);
    const off = await runCli(['accounts', 'auto-tagging'], env);
    expect(off.code).toBe(1);
    expect(off.stdout).toContain('OFF');
    expect(off.stdout).toContain('--enable');
    const on = await runCli(['accounts', 'auto-tagging', '--enable'], env);
    expect(on.code).toBe(0);
    expect(on.stdout).toContain(': on.');

    const time = new Date(Date.now() - 86_400_000).toISOString().slice(0, 19).replace('T', ' ');
    const csv = join(dir, 'sales.csv');
    writeFileSync(
      csv,
      `Microsoft Click Id,Conversion Name,Conversion Time,Conversion Value,Conversion Currency
0123456789abcdef0123456789abcdef,Phone sale,${time},12.50,USD
fedcba9876543210fedcba9876543210,Phone sale,${time},,
`,
    );
    const imported = await runCli(['import', csv], env);
    expect(imported.stdout).toContain('2 queued');

    const sent = await runCli(['submit', '--once', '--json', '--progress'], env);
    expect(sent.code).toBe(0);
    expect(sent.stderr).toMatch(/Sending 2 rows, [\d,]+ rows\/s/);
    const report = JSON.parse(sent.stdout);
    expect(report).toMatchObject({ calls: 1, accepted: 2, rejected: 0, failed: 0, dryRun: false });
    expect(emulator.stats().accepted).toBe(2);
    const apply = emulator.requests.find((r) => r.path.endsWith('/OfflineConversions/Apply'));
    expect(apply?.headers.customeraccountid).toBe('2000000');

    const calls = await runCli(['submissions'], env);
    expect(calls.stdout).toMatch(
      /conversions ×2 {2}accepted: 2 accepted, 0 rejected, 0 to retry {2}TrackingId [0-9a-f-]{36}/,
    );
    const bad = await runCli(['submissions', '--limit', '0'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('limit must be 1 to 1000');

    const again = await runCli(['submit', '--once'], env);
    expect(again.stdout).toContain('0 calls');
    const retry = await runCli(['retry'], env);
    expect(retry.stdout).toContain('0 failed rows queued again');
  });

  it('a wrong MSADS_API_BASE_URL: submit --once exits 1 naming the account, the URL and what to fix; nothing is rejected', async () => {
    const own = await cliEnvironment();
    try {
      const good = { ...env, ...own.env };
      expect((await runCli(['goals', 'sync'], good)).code).toBe(0);
      const time = new Date(Date.now() - 86_400_000).toISOString().slice(0, 19).replace('T', ' ');
      const csv = join(dir, 'wrong-url.csv');
      writeFileSync(
        csv,
        `Microsoft Click Id,Conversion Name,Conversion Time
aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,Phone sale,${time}
bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb,Phone sale,${time}
`,
      );
      expect((await runCli(['import', csv], good)).stdout).toContain('2 queued');
      const wrong = { ...good, MSADS_API_BASE_URL: `${env.MSADS_API_BASE_URL}/not-the-api` };
      const sent = await runCli(['submit', '--once', '--json'], wrong);
      expect(sent.code).toBe(1);
      expect(sent.stderr).toMatch(
        /Account "Microsoft Advertising 2000000" is paused until \S+; its rows stay queued\. the API answered 404 application\/json from http:\/\/127\.0\.0\.1:\d+\/not-the-api\/CampaignManagement\/v13\/OfflineConversions\/Apply, which is not Microsoft Advertising's answer: check MSADS_API_BASE_URL/,
      );
      expect(JSON.parse(sent.stdout)).toMatchObject({ calls: 1, rejected: 0, accepted: 0 });
      // The next run makes no call, and still says why.
      const again = await runCli(['submit', '--once'], wrong);
      expect(again.code).toBe(1);
      expect(again.stdout).toContain('0 calls');
      expect(again.stderr).toContain('check MSADS_API_BASE_URL');
      const list = await runCli(['accounts', 'list'], good);
      expect(list.stdout).toMatch(/Paused until \S+: the API answered 404/);
      expect(list.stdout).toContain(
        'Fixed it? Lift the pause now: closeloop accounts resume --account 2000000',
      );
      const calls = await runCli(['submissions'], good);
      expect(calls.stdout).toMatch(/conversions ×2 {2}account_error: 0 accepted, 0 rejected/);
      const status = await runCli(['status'], good);
      expect(status.stdout).toContain(
        'fixed it? lift the pause now: closeloop accounts resume --account 2000000',
      );
      // With the URL fixed, the pause is lifted at once instead of after its 15 minutes.
      const resumed = await runCli(['accounts', 'resume'], good);
      expect(resumed.code).toBe(0);
      expect(resumed.stdout).toContain(
        'Account "Microsoft Advertising 2000000" (Microsoft 2000000) resumed: its queued rows are sent on the next pass (the pause was: the API answered 404',
      );
      const fixed = await runCli(['submit', '--once', '--json'], good);
      expect(fixed.code).toBe(0);
      expect(JSON.parse(fixed.stdout)).toMatchObject({ calls: 1, accepted: 2 });
    } finally {
      await own.cleanup();
    }
  }, 180_000);

  it('an account whose run throws: submit --once exits 1 and says which account and why; the others send', async () => {
    const own = await cliEnvironment();
    try {
      const good = { ...env, ...own.env, OTHER_DEV_TOKEN: 'dev-token', OTHER_REFRESH: 'refresh' };
      // Registered under another secret key: its stored secrets no longer decrypt.
      const added = await runCli(
        [
          'accounts',
          'add',
          '--name',
          'Broken key',
          '--customer-id',
          '1000000',
          '--account-id',
          '3000000',
          '--client-id',
          'app',
          '--developer-token-env',
          'OTHER_DEV_TOKEN',
          '--refresh-token-env',
          'OTHER_REFRESH',
        ],
        { ...good, CLOSELOOP_SECRET_KEY: 'c'.repeat(64) },
      );
      expect(added.code).toBe(0);
      const sent = await runCli(['submit', '--once', '--json'], good);
      expect(sent.code).toBe(1);
      expect(sent.stderr).toMatch(
        /Sending through account "Broken key" failed: cannot decrypt a stored secret: the CLOSELOOP_SECRET_KEY differs/,
      );
      expect(sent.stderr).toContain('LOG_LEVEL=debug');
      expect(JSON.parse(sent.stdout).accountErrors).toEqual([
        { account: 'Broken key', error: expect.stringContaining('CLOSELOOP_SECRET_KEY differs') },
      ]);
      const debug = await runCli(['submit', '--once'], { ...good, LOG_LEVEL: 'debug' });
      expect(debug.code).toBe(1);
      expect(debug.stderr).toMatch(/failed: .*\n\S*Error.*\n\s+at /);
    } finally {
      await own.cleanup();
    }
  }, 180_000);

  it('says what to do when a command is misused', async () => {
    const unknown = await runCli(['accounts', 'auto-tagging', '--account', '999'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('closeloop accounts list');
    const help = await runCli(['submit', '--help'], env);
    expect(help.stdout).toContain('closeloop submit --once');
  });
});
