import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnvironment, cliTestTimeoutMs, runCli } from '../helpers/cli.ts';

let env: Record<string, string>;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ env, cleanup } = await cliEnvironment());
  env = { ...env, CLOSELOOP_PUBLIC_URL: 'https://calls.example.com' };
});
afterAll(() => cleanup());

// Seven and eight processes per test: on PGlite each opens the data folder (seconds on a busy machine).
describe('closeloop webhooks', { timeout: 2 * cliTestTimeoutMs }, () => {
  it('adds sources (CTM with its secret, generic with a token URL), lists them, shows events, removes one', async () => {
    expect((await runCli(['goals', 'add', '--name', 'Phone call'], env)).code).toBe(0);
    const ctm = await runCli(
      [
        'webhooks',
        'add',
        'calltrackingmetrics',
        '--name',
        'CTM',
        '--goal',
        'Phone call',
        '--min-duration',
        '60',
        '--secret-env',
        'CTM_SECRET',
        '--json',
      ],
      { ...env, CTM_SECRET: 'ctm-secret-value' },
    );
    expect(ctm.stderr).toBe('');
    expect(ctm.code).toBe(0);
    const ctmOut = JSON.parse(ctm.stdout);
    expect(Object.keys(ctmOut).sort()).toEqual(['id', 'path', 'url']);
    expect(ctmOut.path).toBe(`/webhooks/calltrackingmetrics/${ctmOut.id}`);
    // CTM signs: no token in its URL.
    expect(ctmOut.url).toBe(`https://calls.example.com${ctmOut.path}`);

    const generic = await runCli(
      [
        'webhooks',
        'add',
        'generic',
        '--name',
        'Ringba',
        '--goal',
        'Phone call',
        '--value',
        '50',
        '--currency',
        'USD',
        '--field',
        'callId=call.uuid',
      ],
      env,
    );
    expect(generic.code).toBe(0);
    expect(generic.stdout).toContain('Created webhook source "Ringba"');
    expect(generic.stdout).toMatch(
      /https:\/\/calls\.example\.com\/webhooks\/generic\/[0-9a-f-]{36}\?token=[\w-]{32}/,
    );

    const list = await runCli(['webhooks', 'list', '--json'], env);
    const sources = JSON.parse(list.stdout);
    expect(sources.map((s: { name: string }) => s.name)).toEqual(['CTM', 'Ringba']);
    expect(list.stdout).not.toContain('ctm-secret-value');
    expect(sources[1]).toMatchObject({
      fields: { providerCallId: 'call.uuid' },
      value: { fixed: '50.000', currency: 'USD' },
    });
    // The URL again, then a new token: the old URL is gone; CTM signs and has no token to rotate.
    const again = await runCli(['webhooks', 'url', 'Ringba'], env);
    expect(again.code).toBe(0);
    expect(generic.stdout).toContain(again.stdout.trim());
    const rotated = await runCli(['webhooks', 'url', 'Ringba', '--rotate', '--json'], env);
    expect(rotated.code).toBe(0);
    const fresh = JSON.parse(rotated.stdout);
    expect(fresh.url).toMatch(/\?token=[\w-]{32}$/);
    expect(fresh.url).not.toBe(again.stdout.trim());
    const signs = await runCli(['webhooks', 'url', 'CTM', '--rotate'], env);
    expect(signs.code).toBe(1);
    expect(signs.stderr).toContain('signs its webhooks with the account secret');
    const events = await runCli(['webhooks', 'events', 'ctm'], env);
    expect(events.code).toBe(0);
    expect(events.stdout).toContain('No events yet for "CTM"');

    const removed = await runCli(['webhooks', 'remove', 'Ringba'], env);
    expect(removed.code).toBe(0);
    const after = await runCli(['webhooks', 'list'], env);
    expect(after.stdout).toContain(`CTM  calltrackingmetrics → Phone call  ${ctmOut.path}`);
    expect(after.stdout).not.toContain('Ringba');
  });

  it('clear errors: unknown provider listing them, unknown goal with did-you-mean, missing env var, CTM without secret', async () => {
    const provider = await runCli(
      ['webhooks', 'add', 'calltrackingmetric', '--name', 'x', '--goal', 'Phone call'],
      env,
    );
    expect(provider.code).toBe(2);
    expect(provider.stderr).toContain(
      'Unknown call-tracking provider "calltrackingmetric". Did you mean "calltrackingmetrics"?',
    );
    expect(provider.stderr).toContain('Providers: ');
    expect(provider.stderr).toContain('generic');
    const goal = await runCli(['webhooks', 'add', 'generic', '--name', 'x', '--goal', 'phone call'], env);
    expect(goal.code).toBe(1);
    expect(goal.stderr).toContain('No goal "phone call"; did you mean "Phone call"?');
    const missing = await runCli(
      [
        'webhooks',
        'add',
        'calltrackingmetrics',
        '--name',
        'x',
        '--goal',
        'Phone call',
        '--secret-env',
        'NOT_SET_ANYWHERE',
      ],
      env,
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('the environment variable NOT_SET_ANYWHERE is not set');
    const noSecret = await runCli(
      ['webhooks', 'add', 'calltrackingmetrics', '--name', 'x', '--goal', 'Phone call'],
      env,
    );
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toContain('--secret-env');
    const badField = await runCli(
      ['webhooks', 'add', 'generic', '--name', 'x', '--goal', 'Phone call', '--field', 'nope=x'],
      env,
    );
    expect(badField.stderr).toContain('"nope" is not a call field');
    const unknownSource = await runCli(['webhooks', 'events', 'CMT'], env);
    expect(unknownSource.code).toBe(1);
    expect(unknownSource.stderr).toContain('No webhook source "CMT". Did you mean "CTM"?');
  });
});
