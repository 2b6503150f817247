import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDiagnostics } from '../../src/cli/commands/diagnostics.ts';
import type { Database } from '../../src/db/client.ts';
import { createApp } from '../../src/http/app.ts';
import { createLogger } from '../../src/log.ts';
import { createMsadsClient, type MsadsClient } from '../../src/msads/client.ts';
import { createEmulator } from '../../src/msads/emulator/index.ts';
import { staticToken } from '../../src/msads/oauth.ts';
import { createApiKey } from '../../src/services/api-keys.ts';
import { testClock, testContext } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';

const clock = testClock('2026-06-03T12:00:00Z');
const emulator = createEmulator({ now: clock.now, auth: 'open', seed: 1 });
let database: Database;
let app: ReturnType<typeof createApp>;
let auth: Record<string, string>;
let client: MsadsClient;
const click = (c: string) => c.repeat(32);

beforeAll(async () => {
  database = await createTestDatabase();
  const ctx = testContext(database, clock.now);
  client = createMsadsClient({
    baseUrl: 'http://emulator',
    developerToken: 'dry-run',
    customerId: '1',
    accountId: '2',
    tokens: staticToken('t'),
    fetch: emulator.fetch,
  });
  app = createApp({
    ctx,
    log: createLogger('silent'),
    maxUploadBytes: 1024 * 1024,
    target: 'emulator',
    clientFor: () => client,
  });
  const { key } = await createApiKey({ ctx, name: 'test' });
  auth = { authorization: `Bearer ${key}` };
  await database.query(
    sql`insert into accounts (name, target, origin, is_default, ms_customer_id, ms_account_id)
        values ('Dry run', 'emulator', 'dry-run', true, '1', '2')`,
  );
  for (const name of ['Purchase', 'Lead']) {
    const created = emulator.addGoal({
      customerId: '1',
      accountId: '2',
      name,
      createdAt: new Date('2026-05-01T00:00:00Z'),
    });
    await app.request('/api/v1/goals', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    });
    await database.query(sql`update goals set msads_goal_id = ${created.id} where name = ${name}`);
  }
  emulator.addClick(click('a'), new Date('2026-06-01T00:00:00Z'));
  const conversion = (c: string, name = 'Purchase') => ({
    MicrosoftClickId: click(c),
    ConversionName: name,
    ConversionTime: '2026-06-02T10:00:00Z',
  });
  // Yesterday: one counted, one click Microsoft has no record of. Today: the first again (a duplicate).
  clock.set('2026-06-02T12:00:00Z');
  await client.applyOfflineConversions([conversion('a'), conversion('b')]);
  clock.set('2026-06-03T12:00:00Z');
  await client.applyOfflineConversions([conversion('a')]);
});
afterAll(() => database.close());

describe('GET /api/v1/diagnostics', () => {
  it("answers Microsoft's figures per goal and day, with each reason explained", async () => {
    const res = await app.request('/api/v1/diagnostics?days=3', { headers: auth });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ from: '2026-06-01', to: '2026-06-03', notes: [] });
    const purchase = body.goals.find((g: { goal: string }) => g.goal === 'Purchase');
    expect(purchase).toMatchObject({ account: '2', counted: 1, unattributed: 2 });
    expect(purchase.days).toEqual([
      {
        date: '2026-06-02',
        counted: 1,
        unattributed: 1,
        reasons: [expect.objectContaining({ reason: 'NoMatchingClickFound', count: 1 })],
      },
      {
        date: '2026-06-03',
        counted: 0,
        unattributed: 1,
        reasons: [expect.objectContaining({ reason: 'DuplicateConversionKey', count: 1 })],
      },
    ]);
    expect(purchase.reasons[0].explain).toMatch(/click/i);
    expect(body.accounts).toEqual([
      expect.objectContaining({ account: '2', dryRun: true, days: expect.any(Array) }),
    ]);

    const text = formatDiagnostics(body);
    expect(text).toContain('Dry run');
    expect(text).toMatch(/Purchase \(Microsoft goal \d+, account 2\): 1 counted, 2 not attributed/);
    expect(text).toMatch(/^ {2}2026-06-02\s+1\s+1\s+NoMatchingClickFound 1$/m);
  });

  it('one goal by name; an unknown goal is a 404; days out of range a 400', async () => {
    const one = await (await app.request('/api/v1/diagnostics?goal=Lead', { headers: auth })).json();
    expect(one.goals.map((g: { goal: string }) => g.goal)).toEqual(['Lead']);
    expect(one.goals[0]).toMatchObject({ counted: 0, unattributed: 0, days: [] });
    expect((await app.request('/api/v1/diagnostics?goal=Nope', { headers: auth })).status).toBe(404);
    const bad = await app.request('/api/v1/diagnostics?days=91', { headers: auth });
    expect(bad.status).toBe(400);
    expect((await bad.json()).detail).toContain('days: must be a whole number from 1 to 90');
    expect((await app.request('/api/v1/diagnostics')).status).toBe(401);
  });

  it('Microsoft refusing the call is a 503 that says what it answered', async () => {
    emulator.injectFault({ kind: 'apiFault', status: 400, code: 105, operation: 'any' });
    const res = await app.request('/api/v1/diagnostics', { headers: auth });
    emulator.clearFaults();
    expect(res.status).toBe(503);
    expect((await res.json()).detail).toContain('Microsoft Advertising answered 105');
  });
});
