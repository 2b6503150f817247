import { type AddressInfo, createServer } from 'node:net';
import { serve } from '@hono/node-server';
import { beforeEach, describe, expect, it } from 'vitest';
import { createMsadsClient, MsadsError, unwrap } from '../../src/msads/client.ts';
import { createEmulator, type Emulator } from '../../src/msads/emulator/index.ts';

let emulator: Emulator;
let refreshes = 0;
const tokens = {
  accessToken: async (opts?: { forceRefresh?: boolean }) => {
    if (opts?.forceRefresh) refreshes++;
    return `token-${refreshes}`;
  },
};

beforeEach(() => {
  emulator = createEmulator({ auth: 'open' });
  emulator.addGoal({
    customerId: '1000',
    accountId: '2000',
    name: 'Sale',
    createdAt: new Date(Date.now() - 86_400_000),
  });
  refreshes = 0;
});

const client = (overrides: Partial<Parameters<typeof createMsadsClient>[0]> = {}) =>
  createMsadsClient({
    baseUrl: 'http://emulator.test/',
    developerToken: 'dev',
    customerId: '1000',
    accountId: '2000',
    tokens,
    fetch: emulator.fetch,
    timeoutMs: 2000,
    ...overrides,
  });

const item = {
  MicrosoftClickId: '0123456789abcdef0123456789abcdef',
  ConversionName: 'Sale',
  ConversionTime: new Date(Date.now() - 3600_000).toISOString().replace(/\.\d+Z$/, 'Z'),
};

describe('the Microsoft Advertising client', () => {
  it('sends the documented headers and returns PartialErrors with the TrackingId', async () => {
    const result = await client().applyOfflineConversions([item, { ...item, ConversionName: 'Unknown' }]);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.trackingId).toMatch(/[0-9a-f-]{36}/);
    expect(result.body.PartialErrors).toEqual([expect.objectContaining({ Code: 5606, Index: 1 })]);
    const headers = emulator.requests[0]?.headers ?? {};
    expect(headers).toMatchObject({
      developertoken: 'dev',
      customerid: '1000',
      customeraccountid: '2000',
      'content-type': 'application/json',
    });
    expect(headers.authorization).toMatch(/^Bearer /);
  });

  it.each([
    ['http500', 'transient', undefined],
    ['error0', 'transient', 0],
    ['5612', 'transient', 5612],
    ['117', 'throttle', 117],
  ] as const)('classifies an injected %s as %s', async (kind, cls, code) => {
    emulator.injectFault({ kind });
    const result = await client().applyOfflineConversions([item]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.fault.class).toBe(cls);
    expect(result.fault.code).toBe(code);
    expect(result.fault.trackingId).toBeTruthy();
  });

  it.each([
    [
      { kind: 'http404html' },
      'unrecognized',
      /^the API answered 404 text\/html from http:\/\/emulator\.test\/CampaignManagement\/v13\/OfflineConversions\/Apply, which is not Microsoft Advertising's answer: check MSADS_API_BASE_URL/,
    ],
    [
      { kind: 'empty200' },
      'transient',
      /answered 200 application\/json .* cannot read; .*The body was empty/,
    ],
    [
      { kind: 'garbage200' },
      'transient',
      /answered 200 application\/json .* cannot read; .*It began: "\{"PartialErrors"/,
    ],
    [{ kind: 'apiFault', code: 4321 }, 'unrecognized', /code closeloop does not know/],
    [{ kind: 'apiFault', code: 5601 }, 'too_large', /halves the batch/],
    [{ kind: 'apiFault', code: 113 }, 'split', /halves the batch until the row it cannot read is alone/],
  ] as const)('classifies %o as %s, saying what came back', async (fault, cls, message) => {
    emulator.injectFault(fault);
    const result = await client().applyOfflineConversions([item]);
    expect(!result.ok && result.fault.class).toBe(cls);
    expect(!result.ok && result.fault.message).toMatch(message);
    expect(emulator.stats().accepted).toBe(0);
  });

  it.each([
    [413, 'text/plain', 'too_large'],
    [502, 'text/html', 'transient'],
    [403, 'text/html', 'unrecognized'],
    [429, 'text/plain', 'throttle'],
  ] as const)(
    'classifies a bare %i %s from something that is not Microsoft as %s',
    async (status, type, cls) => {
      const fetch = async () => new Response('<p>nope</p>', { status, headers: { 'Content-Type': type } });
      const result = await client({ fetch }).applyOfflineConversions([item]);
      expect(!result.ok && result.fault).toMatchObject({
        class: cls,
        name: `HTTP ${status}`,
        httpStatus: status,
      });
    },
  );

  it('refreshes the token and resends once on 109', async () => {
    emulator.injectFault({ kind: '109' });
    const result = await client().applyOfflineConversions([item]);
    expect(result.ok).toBe(true);
    expect(refreshes).toBe(1);
    expect(emulator.stats().accepted).toBe(1);
  });

  it('splits nothing itself but classifies a whole-request refusal (malformed date) as split', async () => {
    const result = await client().applyOfflineConversions([
      { ...item, ConversionTime: '06/01/2017 1:00 PM' },
    ]);
    expect(!result.ok && result.fault).toMatchObject({ class: 'split', code: 113, httpStatus: 400 });
  });

  it('reports an account problem (missing developer token) and says what to fix', async () => {
    const result = await client({ developerToken: '' }).applyOfflineConversions([item]);
    expect(!result.ok && result.fault).toMatchObject({ class: 'account', code: 116 });
    expect(!result.ok && result.fault.message).toContain('MSADS_');
  });

  it('gives up on a call that hangs (transient) and aborts it', async () => {
    emulator.injectFault({ kind: 'timeout', hangMs: 10_000 });
    const started = Date.now();
    const result = await client({ timeoutMs: 200 }).applyOfflineConversions([item]);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(!result.ok && result.fault).toMatchObject({ class: 'transient', name: 'Timeout' });
  });

  it('treats an unreachable host as transient', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const result = await createMsadsClient({
      baseUrl: `http://127.0.0.1:${port}`,
      developerToken: 'dev',
      customerId: '1000',
      accountId: '2000',
      tokens,
    }).applyOfflineConversions([item]);
    expect(!result.ok && result.fault).toMatchObject({ class: 'transient', name: 'NetworkError' });
  });

  it('honours Retry-After on HTTP 429 over a real socket', async () => {
    const server = serve({
      fetch: () => new Response('slow down', { status: 429, headers: { 'Retry-After': '90' } }),
      port: 0,
      hostname: '127.0.0.1',
    });
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as AddressInfo;
    const result = await client({
      baseUrl: `http://127.0.0.1:${port}`,
      fetch: undefined,
    }).applyOfflineConversions([item]);
    server.close();
    expect(!result.ok && result.fault).toMatchObject({
      class: 'throttle',
      retryAfterMs: 90_000,
      httpStatus: 429,
    });
  });

  it('reads and sets MSCLKID auto-tagging, and lists offline goals', async () => {
    const c = client();
    emulator.setAutoTagging('1000', '2000', false);
    expect(unwrap(await c.getAutoTagging())).toBe(false);
    unwrap(await c.setAutoTagging(true));
    expect(unwrap(await c.getAutoTagging())).toBe(true);
    const goals = unwrap(await c.getConversionGoalsByIds());
    expect(goals.ConversionGoals.map((g) => g?.Name)).toEqual(['Sale']);
  });

  it('unwrap throws an MsadsError naming the code and the TrackingId', async () => {
    emulator.injectFault({ kind: 'error0' });
    await expect(async () => unwrap(await client().getAutoTagging())).rejects.toThrow(MsadsError);
    emulator.injectFault({ kind: 'error0' });
    await expect(async () => unwrap(await client().getAutoTagging())).rejects.toThrow(
      /0 InternalError.*TrackingId/,
    );
  });
});
