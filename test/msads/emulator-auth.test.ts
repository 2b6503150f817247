import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createEmulator } from '../../src/msads/emulator/index.ts';
import { oauthScope, paths } from '../../src/msads/wire.ts';
import { apiHeaders, conversion, customerId, setup, testClock } from './emulator-helpers.ts';

const tokenPath = '/common/oauth2/v2.0/token';

function form(fields: Record<string, string>) {
  return {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  };
}

type Emu = ReturnType<typeof createEmulator>;

async function refresh(emulator: Emu, refreshToken: string, extra: Record<string, string> = {}) {
  const res = await emulator.app.request(
    tokenPath,
    form({
      grant_type: 'refresh_token',
      client_id: 'app',
      refresh_token: refreshToken,
      scope: oauthScope,
      ...extra,
    }),
  );
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function applyWith(
  emulator: Emu,
  token: string | undefined,
  headers: Record<string, string | undefined> = {},
) {
  const merged = Object.fromEntries(
    Object.entries({ ...apiHeaders, Authorization: token && `Bearer ${token}`, ...headers }).filter(
      (e): e is [string, string] => e[1] !== undefined,
    ),
  );
  const res = await emulator.app.request(paths.applyOfflineConversions, {
    method: 'POST',
    headers: merged,
    body: JSON.stringify({ OfflineConversions: [conversion()] }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, res };
}

const errorCode = (body: Record<string, unknown>) => (body.Errors as { Code: number }[])[0]!.Code;

describe('emulator: request headers', () => {
  it.each([
    ['no Authorization', { Authorization: undefined }, 401, 105],
    ['a Basic Authorization', { Authorization: 'Basic abc' }, 401, 105],
    ['no DeveloperToken', { DeveloperToken: undefined }, 400, 116],
    ['no CustomerId', { CustomerId: undefined }, 400, 1029],
    ['a non-numeric CustomerId', { CustomerId: 'abc' }, 400, 1490],
    ['no CustomerAccountId', { CustomerAccountId: undefined }, 400, 1030],
    ['a non-numeric CustomerAccountId', { CustomerAccountId: 'acc-1' }, 400, 1102],
  ])('answers %s with HTTP %i and AdApiFaultDetail %i', async (_, headers, status, code) => {
    const { emulator, apply } = setup();
    const res = await apply([conversion()], headers);
    expect(res.status).toBe(status);
    const body = await res.json();
    expect(body).toMatchObject({ Type: 'AdApiFaultDetail', Errors: [{ Code: code }] });
    expect(body.TrackingId).toBe(res.headers.get('TrackingId'));
    expect(emulator.conversions()).toEqual([]);
  });
});

describe('emulator: strict and open authentication', () => {
  it('strict: refuses unknown tokens (105), takes tokens from its token endpoint until they expire (109)', async () => {
    const clock = testClock();
    const emulator = createEmulator({ now: clock.now, accessTokenTtlSeconds: 600 });
    emulator.addGoal({ customerId, name: 'Deal', scope: 'Customer', createdAt: new Date(0) });
    expect(errorCode((await applyWith(emulator, 'made-up')).body)).toBe(105);

    const granted = await refresh(emulator, emulator.issueRefreshToken({ clientId: 'app' }));
    expect(granted.status).toBe(200);
    expect(granted.body).toMatchObject({ token_type: 'Bearer', expires_in: 600, scope: oauthScope });
    const access = granted.body.access_token as string;
    expect((await applyWith(emulator, access)).status).toBe(200);

    clock.advance(600_000);
    const expired = await applyWith(emulator, access);
    expect(expired.status).toBe(401);
    expect(expired.body).toMatchObject({
      Type: 'AdApiFaultDetail',
      Errors: [{ Code: 109, ErrorCode: 'AuthenticationTokenExpired' }],
    });
  });

  it('strict: expireAccessTokens makes current tokens answer 109; a refreshed one works', async () => {
    const emulator = createEmulator();
    emulator.addGoal({ customerId, name: 'Deal', scope: 'Customer', createdAt: new Date(0) });
    const rt = emulator.issueRefreshToken();
    const first = (await refresh(emulator, rt)).body.access_token as string;
    emulator.expireAccessTokens();
    expect(errorCode((await applyWith(emulator, first)).body)).toBe(109);
    const second = (await refresh(emulator, rt)).body.access_token as string;
    expect((await applyWith(emulator, second)).status).toBe(200);
  });

  it('open: takes any bearer token; expireAccessTokens expires the ones seen so far', async () => {
    const emulator = createEmulator({ auth: 'open' });
    expect((await applyWith(emulator, 'anything')).status).toBe(200);
    emulator.expireAccessTokens();
    expect(errorCode((await applyWith(emulator, 'anything')).body)).toBe(109);
    expect((await applyWith(emulator, 'another')).status).toBe(200);
    expect(errorCode((await applyWith(emulator, undefined)).body)).toBe(105);
  });
});

describe('emulator: OAuth token endpoint', () => {
  it('rotates the refresh token on every refresh; the old one stays valid by default', async () => {
    const emulator = createEmulator();
    const rt = emulator.issueRefreshToken({ clientId: 'app' });
    const first = await refresh(emulator, rt);
    expect(first.body.refresh_token).toEqual(expect.any(String));
    expect(first.body.refresh_token).not.toBe(rt);
    expect((await refresh(emulator, first.body.refresh_token as string)).status).toBe(200);
    expect((await refresh(emulator, rt)).status).toBe(200);
  });

  it('revokes rotated refresh tokens with revokeRotated, and returns the same one without rotation', async () => {
    const revoking = createEmulator({ revokeRotated: true });
    const rt = revoking.issueRefreshToken();
    expect((await refresh(revoking, rt)).status).toBe(200);
    expect(await refresh(revoking, rt)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });

    const fixed = createEmulator({ rotateRefreshTokens: false });
    const same = fixed.issueRefreshToken();
    expect((await refresh(fixed, same)).body.refresh_token).toBe(same);
  });

  it('answers invalid_grant (AADSTS70000) for unknown, revoked or other-client refresh tokens', async () => {
    const emulator = createEmulator();
    const unknown = await refresh(emulator, 'never-issued');
    expect(unknown).toMatchObject({ status: 400, body: { error: 'invalid_grant', error_codes: [70000] } });
    expect(unknown.body.error_description).toMatch(/^AADSTS70000: /);

    const rt = emulator.issueRefreshToken({ clientId: 'app' });
    expect((await refresh(emulator, rt, { client_id: 'other-app' })).body.error).toBe('invalid_grant');
    emulator.revokeRefreshToken(rt);
    expect(await refresh(emulator, rt)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('open auth adopts a refresh token it never issued (the dry run), but not a revoked one', async () => {
    const emulator = createEmulator({ auth: 'open' });
    expect((await refresh(emulator, 'whatever-is-configured')).status).toBe(200);
    emulator.revokeRefreshToken('whatever-is-configured');
    expect((await refresh(emulator, 'whatever-is-configured')).body.error).toBe('invalid_grant');
  });

  it.each([
    ['client_id', { client_id: '' }, 'invalid_request'],
    ['refresh_token', { refresh_token: '' }, 'invalid_request'],
    ['msads.manage in scope', { scope: 'openid offline_access' }, 'invalid_scope'],
    ['a supported grant_type', { grant_type: 'password' }, 'unsupported_grant_type'],
  ])('needs %s', async (_, fields, error) => {
    const emulator = createEmulator();
    const res = await refresh(emulator, emulator.issueRefreshToken(), fields);
    expect(res).toMatchObject({ status: 400, body: { error } });
  });

  it('walks authorize → consent redirect → code → tokens, and the code works once', async () => {
    const emulator = createEmulator();
    const redirectUri = 'http://localhost:8787/auth/callback';
    const query = new URLSearchParams({
      client_id: 'app',
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: `openid ${oauthScope}`,
      state: 'xyz',
    });
    const consent = await emulator.app.request(`/common/oauth2/v2.0/authorize?${query}`);
    expect(consent.status).toBe(302);
    const location = new URL(consent.headers.get('Location')!);
    expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
    expect(location.searchParams.get('state')).toBe('xyz');
    const code = location.searchParams.get('code')!;

    const redeem = (fields: Record<string, string> = {}) =>
      emulator.app.request(
        tokenPath,
        form({
          grant_type: 'authorization_code',
          client_id: 'app',
          code,
          redirect_uri: redirectUri,
          ...fields,
        }),
      );
    expect((await (await redeem({ redirect_uri: 'http://localhost/other' })).json()).error).toBe(
      'invalid_grant',
    );
    const tokens = await redeem();
    expect(tokens.status).toBe(200);
    const body = await tokens.json();
    expect(body).toMatchObject({ token_type: 'Bearer', refresh_token: expect.any(String) });
    expect((await applyWith(emulator, body.access_token)).status).not.toBe(401);
    expect((await refresh(emulator, body.refresh_token)).status).toBe(200);
    expect(await (await redeem()).json()).toMatchObject({ error: 'invalid_grant', error_codes: [54005] });
  });

  it('checks the PKCE verifier (S256) and the code lifetime', async () => {
    const clock = testClock();
    const emulator = createEmulator({ now: clock.now });
    const verifier = 'a'.repeat(50);
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const authorize = async () => {
      const q = new URLSearchParams({
        client_id: 'app',
        redirect_uri: 'http://localhost/cb',
        response_type: 'code',
        scope: oauthScope,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      const res = await emulator.app.request(`/common/oauth2/v2.0/authorize?${q}`);
      return new URL(res.headers.get('Location')!).searchParams.get('code')!;
    };
    const redeem = async (code: string, codeVerifier: string) =>
      (
        await emulator.app.request(
          tokenPath,
          form({
            grant_type: 'authorization_code',
            client_id: 'app',
            code,
            redirect_uri: 'http://localhost/cb',
            code_verifier: codeVerifier,
          }),
        )
      ).json();
    expect((await redeem(await authorize(), 'wrong')).error).toBe('invalid_grant');
    expect((await redeem(await authorize(), verifier)).access_token).toEqual(expect.any(String));
    const late = await authorize();
    clock.advance(11 * 60_000);
    expect(await redeem(late, verifier)).toMatchObject({ error: 'invalid_grant', error_codes: [70008] });
  });

  it('redirects with an error when the consent asks for the wrong scope', async () => {
    const emulator = createEmulator();
    const q = new URLSearchParams({
      client_id: 'app',
      redirect_uri: 'http://localhost/cb',
      response_type: 'code',
      scope: 'openid',
      state: 's',
    });
    const res = await emulator.app.request(`/common/oauth2/v2.0/authorize?${q}`);
    const location = new URL(res.headers.get('Location')!);
    expect(location.searchParams.get('error')).toBe('invalid_scope');
    expect(location.searchParams.get('state')).toBe('s');
  });
});
