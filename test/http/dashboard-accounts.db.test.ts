import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { createApp } from '../../src/http/app.ts';
import { createLogger } from '../../src/log.ts';
import { createApiKey } from '../../src/services/api-keys.ts';
import { throttledReason } from '../../src/submit/answer.ts';
import { pauseAccount, pauseOf } from '../../src/submit/schedule.ts';
import type { SubmitAccount } from '../../src/submit/submitter.ts';
import { testClock, testContext } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { addAccount } from '../helpers/submit.ts';

/**
 * The accounts page's "Resume now": a paused account's button lifts its pause (a form POST with the
 * session's CSRF token) and the page comes back saying so. A throttling pause has no button.
 */
const clock = testClock('2026-06-15T12:00:00Z');
let database: Database;
let app: ReturnType<typeof createApp>;
let key: string;
let broken: SubmitAccount;
let throttled: SubmitAccount;

beforeAll(async () => {
  database = await createTestDatabase();
  const ctx = testContext(database, clock.now);
  app = createApp({ ctx, log: createLogger('silent'), maxUploadBytes: 1024 * 1024, target: 'emulator' });
  key = (await createApiKey({ ctx, name: 'dashboard' })).key;
  broken = await addAccount(database, { name: '<script>alert(1)</script>', msAccountId: '2000' });
  throttled = await addAccount(database, { name: 'Busy', msAccountId: '3000', isDefault: false });
});
afterAll(() => database.close());

const cookieOf = (res: Response, name: string) =>
  res.headers
    .getSetCookie()
    .find((c) => c.startsWith(`${name}=`))
    ?.split(';')[0];

async function session() {
  const form = await app.request('/dashboard/sign-in');
  const signIn = await app.request('/dashboard/sign-in', {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      cookie: cookieOf(form, 'closeloop_sign_in')!,
    },
    body: new URLSearchParams({
      _csrf: /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!,
      secret: key,
      next: '/dashboard/accounts',
    }).toString(),
  });
  const cookie = cookieOf(signIn, 'closeloop_session')!;
  const page = (path: string) => app.request(path, { headers: { cookie } });
  const post = (path: string, fields: Record<string, string>) =>
    app.request(path, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  return { page, post };
}

const pause = (account: SubmitAccount, reason: string) =>
  pauseAccount(database, {
    accountId: account.id,
    until: new Date(clock.now().getTime() + 15 * 60_000),
    reason,
    now: clock.now(),
  });

describe('the accounts page: Resume now', () => {
  it("lifts an error's pause with the session's token, then says so; a throttling pause has no button", async () => {
    await pause(broken, '105 InvalidCredentials: <b>Authentication</b> failed.');
    await pause(throttled, `${throttledReason} (117); calls resume at 2026-06-15T12:15:00.000Z`);
    const { page, post } = await session();
    const before = await (await page('/dashboard/accounts')).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(before)![1]!;
    const action = `/dashboard/accounts/${broken.id}/resume`;
    expect(before).toContain(`<form method="post" action="${action}">`);
    expect(before).toContain('aria-label="Resume now: &lt;script&gt;alert(1)&lt;/script&gt;"');
    expect(before).toContain('&lt;b&gt;Authentication&lt;/b&gt; failed.');
    expect(before).not.toContain('<script>alert(1)');
    // One button: the throttled account's pause ends by itself.
    expect(before.match(/>Resume now</g)).toHaveLength(1);
    expect(before).toContain('(ends by itself)');

    // Without the session's token nothing happens.
    expect((await post(action, {})).status).toBe(403);
    expect((await post(action, { _csrf: `${csrf}x` })).status).toBe(403);
    expect(await pauseOf(database, broken.id)).not.toBeNull();

    const done = await post(action, { _csrf: csrf });
    expect(done.status).toBe(303);
    const back = done.headers.get('location')!;
    expect(back).toBe(`/dashboard/accounts?${new URLSearchParams({ resumed: broken.name })}`);
    expect(await pauseOf(database, broken.id)).toBeNull();
    const after = await (await page(back)).text();
    expect(after).toContain(
      'Account &quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot; resumed: its queued rows are sent on the next pass.',
    );
    expect(after.match(/>Resume now</g)).toBeNull();

    const again = await post(action, { _csrf: csrf });
    expect(again.headers.get('location')).toMatch(/\?not-paused=/);

    // A throttling pause posted to anyway (the button is not there): the page, saying when it ends.
    const refused = await post(`/dashboard/accounts/${throttled.id}/resume`, { _csrf: csrf });
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain('Microsoft throttled it and asked closeloop to wait');
    expect(await pauseOf(database, throttled.id)).not.toBeNull();
  });
});
