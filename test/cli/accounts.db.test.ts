import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.ts';
import { ts } from '../../src/db/sql.ts';
import { throttledReason } from '../../src/submit/answer.ts';
import { cliEnvironment, cliTestTimeoutMs, runCli } from '../helpers/cli.ts';

let env: Record<string, string>;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const db = await cliEnvironment();
  cleanup = db.cleanup;
  env = {
    CLOSELOOP_DATA_DIR: mkdtempSync(join(tmpdir(), 'closeloop-accounts-')),
    CLOSELOOP_SECRET_KEY: 'a'.repeat(64),
    ...db.env,
  };
});
afterAll(() => cleanup());

describe('closeloop accounts', { timeout: cliTestTimeoutMs }, () => {
  it('lists the dry run, registers an account with secrets from the environment, lists it', async () => {
    const dry = await runCli(['accounts', 'list'], env);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^\s+NAME\s+TARGET\s+CUSTOMER\/ACCOUNT\s+AUTH\s+AUTO-TAGGING\s+ID$/m);
    expect(dry.stdout).toMatch(/^\*\s+Dry run \(built-in emulator\)\s+DRY RUN\s/m);

    const missing = await runCli(['accounts', 'add', '--name', 'Acme'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(
      'accounts add needs --customer-id, --account-id, --client-id, --developer-token-env',
    );

    const args = [
      'accounts',
      'add',
      '--name',
      'Acme US',
      '--customer-id',
      '123456789',
      '--account-id',
      '987654321',
      '--client-id',
      'app-1',
      '--developer-token-env',
      'ACME_DEV_TOKEN',
      '--client-secret-env',
      'ACME_SECRET',
    ];
    const unset = await runCli(args, env);
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain(
      '--developer-token-env names the environment variable ACME_DEV_TOKEN, which is not set',
    );

    const secretEnv = { ...env, ACME_DEV_TOKEN: 'DEV-SECRET-VALUE', ACME_SECRET: 'CLIENT-SECRET-VALUE' };
    const added = await runCli(args, secretEnv);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(
      /Registered account "Acme US" \([0-9a-f-]{36}\), Microsoft account 987654321, the default\./,
    );
    expect(added.stdout).toContain('Next, sign in for it: closeloop auth login --account 987654321');

    const again = await runCli(args, secretEnv);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('Microsoft account 987654321 is already registered');

    const bad = await runCli(
      [...args.slice(0, 6), '--account-id', 'x12', ...args.slice(8), '--calls-per-minute', 'many'],
      secretEnv,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      "msAccountId: msAccountId (the ad account id) must be Microsoft's numeric id",
    );
    expect(bad.stderr).toContain('callsPerMinute');

    const table = await runCli(['accounts', 'list'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(
      /^\*\s+Acme US\s+microsoft\s+123456789\/987654321\s+unknown\s+not checked\s/m,
    );
    expect(table.stdout).toContain('Sign-in needed: closeloop auth login --account 987654321');
    // The dry run had nothing pointing at it, so it made way for the real account.
    expect(table.stdout).not.toContain('Dry run (built-in emulator)');

    const json = await runCli(['accounts', 'list', '--json'], env);
    const list = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ name: 'Acme US', dryRun: false, hasRefreshToken: false });
    expect(json.stdout).not.toContain('SECRET-VALUE');
    expect(json.stdout).not.toContain('v1:');
  }, 90_000);

  it('resume lifts the pause of the default account, a throttling one only with --force', async () => {
    // Pause the account registered above as the submitter would, between two commands.
    const pause = async (reason: string) => {
      const database = await openDatabase(
        env.DATABASE_URL
          ? { kind: 'postgres', url: env.DATABASE_URL }
          : { kind: 'pglite', dataDir: env.CLOSELOOP_DATA_DIR! },
      );
      try {
        await database.query(sql`
          update accounts set paused_until = ${ts(new Date(Date.now() + 15 * 60_000))}, pause_reason = ${reason}
           where ms_account_id = '987654321'`);
      } finally {
        await database.close();
      }
    };
    await pause('105 InvalidCredentials: Authentication failed.');
    const resumed = await runCli(['accounts', 'resume'], env);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout.trim()).toBe(
      'Account "Acme US" (Microsoft 987654321) resumed: its queued rows are sent on the next pass (the pause was: 105 InvalidCredentials: Authentication failed.).',
    );

    await pause(`${throttledReason} (117); calls resume soon`);
    const refused = await runCli(['accounts', 'resume', '--account', '987654321'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Microsoft throttled it and asked closeloop to wait');
    expect(refused.stderr).toContain('resume with --force');
    const forced = await runCli(['accounts', 'resume', '--force', '--json'], env);
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ name: 'Acme US', resumed: true, pausedUntil: null });

    const unknown = await runCli(['accounts', 'resume', '--account', '5'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('No account "5"');
  }, 90_000);
});
