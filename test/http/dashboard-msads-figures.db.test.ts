import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { createApp } from '../../src/http/app.ts';
import { createLogger } from '../../src/log.ts';
import { createApiKey } from '../../src/services/api-keys.ts';
import { compareWithMicrosoft } from '../../src/services/msads-comparison.ts';
import type { SubmitAccount } from '../../src/submit/submitter.ts';
import { testContext } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { addAccount, addGoal, emulatorClient } from '../helpers/submit.ts';

/**
 * Microsoft's own figures on the overview when Microsoft cannot be asked: the overview says why and
 * shows the rest; nothing throws. (The figures themselves, from the emulator, are checked by the
 * browser test.)
 */
let database: Database;
let account: SubmitAccount;
const down = async (): Promise<Response> => {
  throw new TypeError('fetch failed: connect ECONNREFUSED 127.0.0.1:9');
};

beforeAll(async () => {
  database = await createTestDatabase();
  await addGoal(database, { name: 'Purchase' });
  account = await addAccount(database, { name: 'Main' });
});
afterAll(() => database?.close());

describe("Microsoft's figures beside ours", () => {
  it('answers with the reason, not an exception, when Microsoft does not answer or cannot be reached', async () => {
    const ctx = testContext(database, () => new Date());
    const failed = await compareWithMicrosoft({
      ctx,
      clientFor: () => emulatorClient(down, account),
      days: 7,
    });
    expect(failed.ok).toBe(false);
    expect(!failed.ok && failed.reason).toMatch(/ECONNREFUSED|reach|fetch/i);
    expect(await compareWithMicrosoft({ ctx, clientFor: undefined, days: 7 })).toEqual({
      ok: false,
      reason: 'This process cannot reach Microsoft Advertising.',
    });
  });

  it('the overview page shows that reason and the rest of the page (200)', async () => {
    const ctx = testContext(database, () => new Date());
    const app = createApp({
      ctx,
      log: createLogger('silent'),
      maxUploadBytes: 1024 * 1024,
      target: 'emulator',
      clientFor: () => emulatorClient(down, account),
    });
    const { key } = await createApiKey({ ctx, name: 'dashboard' });
    const form = await app.request('http://localhost/dashboard/sign-in');
    const signInCookie = form.headers
      .getSetCookie()
      .find((c) => c.startsWith('closeloop_sign_in='))!
      .split(';')[0]!;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
    const signedIn = await app.request('http://localhost/dashboard/sign-in', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: signInCookie },
      body: new URLSearchParams({ _csrf: csrf, secret: key, next: '/dashboard' }).toString(),
    });
    const session = signedIn.headers
      .getSetCookie()
      .find((c) => c.startsWith('closeloop_session='))!
      .split(';')[0]!;
    const res = await app.request('http://localhost/dashboard', { headers: { cookie: session } });
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain('Why fewer conversions?');
    expect(body).toMatch(/role="alert">Microsoft&#39;s figures are not available: [^<]*ECONNREFUSED/);
  });
});
