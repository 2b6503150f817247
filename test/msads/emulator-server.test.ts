import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { serve } from '@hono/node-server';
import { describe, expect, it } from 'vitest';
import { createEmulator } from '../../src/msads/emulator/index.ts';
import { oauthScope, paths } from '../../src/msads/wire.ts';
import { accountId, apiHeaders, clickId, conversion, customerId, setup, t0 } from './emulator-helpers.ts';

const root = join(import.meta.dirname, '../..');

async function control(
  emulator: ReturnType<typeof createEmulator>,
  method: string,
  path: string,
  body?: unknown,
) {
  const res = await emulator.app.request(`/_emulator${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }),
  });
  return { status: res.status, body: await res.json() };
}

describe('emulator: control endpoints', () => {
  it('creates goals, registers clicks, poisons ids, and reports stats and the conversion summary', async () => {
    const { emulator, apply } = setup();
    const created = await control(emulator, 'POST', '/goals', {
      customerId,
      accountId,
      name: 'Lead',
      createdAt: new Date(t0.getTime() - 86_400_000).toISOString(),
    });
    expect(created.status).toBe(201);
    expect(created.body.id).toMatch(/^\d+$/);
    expect(
      (await control(emulator, 'GET', `/goals?customerId=${customerId}`)).body.map(
        (g: { name: string }) => g.name,
      ),
    ).toEqual(['Deal', 'Lead']);
    expect((await control(emulator, 'POST', '/goals', { customerId, accountId, name: 'Lead' })).status).toBe(
      400,
    );

    await control(emulator, 'POST', '/clicks', {
      clickId: clickId(2),
      at: new Date(t0.getTime() - 1000).toISOString(),
    });
    await control(emulator, 'POST', '/poison', { clickId: clickId(3) });
    expect((await apply([conversion({ MicrosoftClickId: clickId(3) })])).status).toBe(400);
    const lead = conversion({ ConversionName: 'Lead' });
    await apply([lead, conversion({ MicrosoftClickId: clickId(2) }), lead]);

    expect((await control(emulator, 'GET', '/stats')).body).toMatchObject({
      calls: 2,
      accepted: 1,
      rejectedItems: 1, // click 2 was registered after the conversion time: 5616
      duplicatesIgnored: 1,
    });
    expect((await control(emulator, 'GET', '/conversions?summary=1')).body).toEqual({
      count: 2,
      uniqueKeys: 1,
      keysReceivedMoreThanOnce: 1,
    });
    expect((await control(emulator, 'GET', '/conversions')).body).toEqual([
      expect.objectContaining({ conversionName: 'Lead', receivedCount: 2 }),
    ]);
    expect((await control(emulator, 'GET', '/adjustments')).body).toEqual([]);
  });

  it('injects and clears faults, and refuses a bad one with 400', async () => {
    const { emulator, apply } = setup();
    expect((await control(emulator, 'POST', '/faults', { kind: 'http500', count: 5 })).status).toBe(200);
    expect((await apply([conversion()])).status).toBe(500);
    expect((await control(emulator, 'DELETE', '/faults')).status).toBe(200);
    expect((await apply([conversion()])).status).toBe(200);
    const bad = await control(emulator, 'POST', '/faults', { kind: 'meteor' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/kind/);
  });

  it('issues refresh tokens, expires access tokens, sets auto-tagging and resets', async () => {
    const emulator = createEmulator();
    const { body } = await control(emulator, 'POST', '/refresh-tokens', { clientId: 'app' });
    const token = await emulator.app.request('/common/oauth2/v2.0/token', {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: 'app',
        refresh_token: body.refresh_token,
        scope: oauthScope,
      }),
    });
    const { access_token } = await token.json();
    const call = () =>
      emulator.app.request(paths.getAccountProperties, {
        method: 'POST',
        headers: { ...apiHeaders, Authorization: `Bearer ${access_token}` },
        body: JSON.stringify({ AccountPropertyNames: ['MSCLKIDAutoTaggingEnabled'] }),
      });
    await control(emulator, 'POST', '/auto-tagging', { customerId, accountId, enabled: true });
    expect((await (await call()).json()).AccountProperties[0].Value).toBe('True');
    await control(emulator, 'POST', '/expire-access-tokens');
    expect((await call()).status).toBe(401);

    expect(emulator.requests.length).toBe(3); // token + 2 API calls; control calls are not recorded
    await control(emulator, 'POST', '/reset');
    expect(emulator.requests).toEqual([]);
    expect(emulator.stats().calls).toBe(0);
    expect((await control(emulator, 'GET', '/requests')).body).toEqual([]);
  });
});

describe('emulator: recording', () => {
  it("'all' keeps method, path, redacted headers, parsed bodies, status and response", async () => {
    const { emulator, apply } = setup();
    await apply([conversion()]);
    await emulator.app.request('/common/oauth2/v2.0/token', {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: 'app', client_secret: 's3cret' }),
    });
    const [api, token] = emulator.requests;
    expect(api).toEqual({
      at: t0,
      method: 'POST',
      path: paths.applyOfflineConversions,
      headers: expect.objectContaining({ authorization: 'Bearer …', developertoken: 'dev-token' }),
      body: { OfflineConversions: [conversion()] },
      status: 200,
      response: { PartialErrors: [] },
    });
    expect(token!.body).toMatchObject({ client_secret: '…', client_id: 'app' });
    expect(token!.status).toBe(400);
  });

  it('keeps only the last N, or none', async () => {
    const lastTwo = setup({ record: 2 });
    for (let i = 0; i < 5; i++) await lastTwo.apply([conversion({ MicrosoftClickId: clickId(i) })]);
    expect(
      lastTwo.emulator.requests.map(
        (r) =>
          (r.body as { OfflineConversions: { MicrosoftClickId: string }[] }).OfflineConversions[0]!
            .MicrosoftClickId,
      ),
    ).toEqual([clickId(3), clickId(4)]);
    expect(lastTwo.emulator.conversions()).toHaveLength(5);

    const none = setup({ record: 'none' });
    await none.apply([conversion()]);
    expect(none.emulator.requests).toEqual([]);
  });
});

describe('emulator: over a real socket', () => {
  it('serves the API on a loopback port and ends a hanging call when the client disconnects', async () => {
    const { emulator } = setup();
    const server = serve({ fetch: emulator.app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise((r) => server.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const res = await fetch(`${base}${paths.applyOfflineConversions}`, {
        method: 'POST',
        headers: apiHeaders,
        body: JSON.stringify({ OfflineConversions: [conversion()] }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('TrackingId')).toMatch(/^[0-9a-f-]{36}$/);
      expect(emulator.conversions()).toHaveLength(1);

      emulator.injectFault({ kind: 'timeout' });
      const aborted = fetch(`${base}${paths.applyOfflineConversions}`, {
        method: 'POST',
        headers: apiHeaders,
        body: JSON.stringify({ OfflineConversions: [conversion({ MicrosoftClickId: clickId(2) })] }),
        signal: AbortSignal.timeout(200),
      });
      await expect(aborted).rejects.toThrow();
      // The server notices the closed connection and ends the 120 s hang: the handler finishes (and the
      // recorder, which runs after it, sees the call) long before the hang would have.
      await expect.poll(() => emulator.requests.length, { timeout: 2000 }).toBe(2);
      expect(emulator.requests[1]!.status).toBe(504);
      expect(emulator.conversions()).toHaveLength(1);
    } finally {
      (server as unknown as { closeAllConnections(): void }).closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('`closeloop emulator --port 0` prints its URL as JSON, serves, and stops on SIGTERM', async () => {
    const child = spawn(
      join(root, 'node_modules/.bin/node'),
      [
        join(root, 'src/cli/main.ts'),
        'emulator',
        '--port',
        '0',
        '--auth',
        'strict',
        '--goal',
        'Deal',
        '--customer-id',
        customerId,
      ],
      { env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const lines = createInterface({ input: child.stdout });
      const first = await new Promise<string>((resolve, reject) => {
        lines.once('line', resolve);
        child.once('exit', (code) => reject(new Error(`emulator exited with ${code}: ${stderr}`)));
      });
      const started = JSON.parse(first) as {
        event: string;
        url: string;
        tokenUrl: string;
        refreshToken: string;
      };
      expect(started.event).toBe('listening');
      expect(started.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(started.url).not.toMatch(/:0$/);
      expect(started.tokenUrl).toBe(`${started.url}/common/oauth2/v2.0/token`);

      const token = await fetch(started.tokenUrl, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          client_id: 'app',
          refresh_token: started.refreshToken,
          scope: oauthScope,
        }),
      });
      const { access_token } = (await token.json()) as { access_token: string };
      const res = await fetch(`${started.url}${paths.applyOfflineConversions}`, {
        method: 'POST',
        headers: { ...apiHeaders, Authorization: `Bearer ${access_token}` },
        // The CLI runs on the real clock.
        body: JSON.stringify({
          OfflineConversions: [
            conversion({ ConversionTime: new Date(Date.now() - 3_600_000).toISOString() }),
          ],
        }),
      });
      expect(await res.json()).toEqual({ PartialErrors: [] }); // the --goal goal is a day old: ready
      const summary = await (await fetch(`${started.url}/_emulator/conversions?summary=1`)).json();
      expect(summary).toEqual({ count: 1, uniqueKeys: 1, keysReceivedMoreThanOnce: 0 });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
  it('`closeloop emulator --fault-kinds` refuses a kind it does not know, naming those it does', async () => {
    const child = spawn(
      join(root, 'node_modules/.bin/node'),
      [
        join(root, 'src/cli/main.ts'),
        'emulator',
        '--port',
        '0',
        '--fault-rate',
        '0.1',
        '--fault-kinds',
        'http500,boom',
      ],
      { env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    expect(await new Promise((resolve) => child.once('exit', resolve))).not.toBe(0);
    expect(stderr).toContain(
      '--fault-kinds takes a comma-separated list of http500, applied500, error0, 5612, timeout; got "http500,boom".',
    );
  });
});
