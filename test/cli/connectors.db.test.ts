import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnvironment, cliTestTimeoutMs, runCli } from '../helpers/cli.ts';

let env: Record<string, string>;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const db = await cliEnvironment();
  cleanup = db.cleanup;
  env = {
    CLOSELOOP_DATA_DIR: mkdtempSync(join(tmpdir(), 'closeloop-connectors-')),
    CLOSELOOP_SECRET_KEY: 'b'.repeat(64),
    HS_TOKEN: 'pat-na1-top-secret',
    // The connector below is on 127.0.0.1 (the address policy's own tests are further down).
    CLOSELOOP_ALLOW_PRIVATE_SOURCES: '1',
    ...db.env,
  };
});
afterAll(() => cleanup());

// Thirteen commands that open the database, one after the other: on PGlite each opens the data folder
// (5–40 s apiece on a loaded machine, see cliTestTimeoutMs).
describe('closeloop connectors', { timeout: 6 * cliTestTimeoutMs }, () => {
  it('add with clear errors, list without secrets, sync and runs, interval, remove', async () => {
    expect(
      (await runCli(['goals', 'add', '--name', 'Won deal', '--value', '1', '--currency', 'USD'], env)).code,
    ).toBe(0);

    const kind = await runCli(['connectors', 'add', 'hubspt', '--name', 'x'], env);
    expect(kind.code).toBe(2);
    expect(kind.stderr).toContain(
      'Unknown kind "hubspt"; did you mean "hubspot"?. closeloop connects to: salesforce, hubspot.',
    );

    const missing = await runCli(
      ['connectors', 'add', 'salesforce', '--name', 'sf', '--goal', 'Won deal'],
      env,
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(
      'connectors add salesforce needs --login-url, --client-id, --client-secret-env, --refresh-token-env',
    );

    const hubspot = [
      'connectors',
      'add',
      'hubspot',
      '--name',
      'hs',
      '--token-env',
      'HS_TOKEN',
      '--base-url',
      'http://127.0.0.1:9',
    ];
    const noEnv = await runCli(
      [...hubspot.slice(0, 5), '--goal', 'Won deal', '--token-env', 'NOT_SET_ANYWHERE'],
      env,
    );
    expect(noEnv.code).toBe(2);
    expect(noEnv.stderr).toContain(
      '--token-env names the environment variable NOT_SET_ANYWHERE, which is not set or empty',
    );

    const typo = await runCli([...hubspot, '--goal', 'Won dael'], env);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain('No goal "Won dael"; did you mean "Won deal"?');

    // Without CLOSELOOP_ALLOW_PRIVATE_SOURCES a base URL on a non-public address is refused at once.
    const { CLOSELOOP_ALLOW_PRIVATE_SOURCES: _, ...closed } = env;
    const ssrf = await runCli([...hubspot, '--goal', 'Won deal'], closed);
    expect(ssrf.code).toBe(2);
    expect(ssrf.stderr).toMatch(
      /The base URL http:\/\/127\.0\.0\.1:9: 127\.0\.0\.1 is a loopback address.*CLOSELOOP_ALLOW_PRIVATE_SOURCES/,
    );

    const added = await runCli(
      [
        ...hubspot,
        '--goal',
        'Won deal',
        '--won-stage',
        'closedwon',
        '--won-stage',
        'signed',
        '--every',
        '5',
        '--currency',
        'eur',
      ],
      env,
    );
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toContain('Added connector "hs" (hubspot,');

    const list = await runCli(['connectors', 'list', '--json'], env);
    expect(list.stdout).not.toContain('top-secret');
    expect(JSON.parse(list.stdout)).toEqual([
      expect.objectContaining({
        name: 'hs',
        kind: 'hubspot',
        intervalMinutes: 5,
        settings: {
          baseUrl: 'http://127.0.0.1:9',
          clickIdProperty: 'msclkid',
          wonStages: ['closedwon', 'signed'],
          currency: 'EUR',
        },
        secretsSet: ['token'],
      }),
    ]);

    // Nothing listens on port 9: the sync fails, says why, and is recorded.
    const sync = await runCli(['connectors', 'sync', 'hs', '--json'], env);
    expect(sync.code).toBe(1);
    expect(JSON.parse(sync.stdout)).toMatchObject({
      status: 'failed',
      mode: 'backfill',
      counts: { dealsRead: 0 },
    });
    const text = await runCli(['connectors', 'sync', 'hs'], env);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(
      /^Sync failed: "hs" \(hubspot, backfill\) in [\d.]+ s: 0 deals read, 0 conversions, 0 restates, 0 retracts, 0 unchanged, 0 skipped\.$/m,
    );
    expect(text.stdout).toContain('What was read before it is kept; the next sync resumes.');
    // A connector saved while private addresses were allowed: refused at its sync once they are not.
    const refused = await runCli(['connectors', 'sync', 'hs'], closed);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/private_address: .*127\.0\.0\.1 is a loopback address/);
    const runs = await runCli(['connectors', 'runs', 'hs'], env);
    expect(runs.stdout.trim().split('\n')).toHaveLength(3);
    expect(runs.stdout).toContain('failed');

    const every = await runCli(['connectors', 'every', 'hs', '30'], env);
    expect(every.stdout).toContain('Connector "hs" syncs every 30 minutes');
    expect((await runCli(['connectors', 'every', 'hs', '0'], env)).stderr).toContain(
      'MINUTES must be a whole number from 1 to 10080',
    );

    const unknown = await runCli(['connectors', 'sync', 'nope'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No connector "nope". Connectors: hs.');

    expect((await runCli(['connectors', 'remove', 'hs'], env)).stdout).toContain('Removed connector "hs"');
    expect((await runCli(['connectors', 'list'], env)).stdout).toContain('No connectors yet.');
  });
});
