import { randomBytes } from 'node:crypto';

/*
 * The emulator's Microsoft identity platform state: refresh tokens it issued (and which are revoked),
 * access tokens with their expiry, and authorization codes waiting to be redeemed (msads-api.md §6).
 */

/** Authorization codes of the Microsoft identity platform live about 10 minutes. */
export const codeLifetimeMs = 10 * 60 * 1000;

export interface RefreshTokenState {
  clientId: string | undefined;
  revoked: boolean;
}

export interface AuthorizationCode {
  clientId: string;
  redirectUri: string;
  scope: string;
  codeChallenge: string | undefined;
  codeChallengeMethod: 'S256' | 'plain';
  expiresAtMs: number;
  redeemed: boolean;
}

export interface TokenStore {
  readonly accessTokenTtlSeconds: number;
  readonly rotateRefreshTokens: boolean;
  readonly revokeRotated: boolean;
  /** 0 when the Authorization header is accepted, else the code to answer: 105 or 109. */
  check(authorization: string | undefined, nowMs: number): 0 | 105 | 109;
  issueAccessToken(nowMs: number): string;
  issueRefreshToken(clientId: string | undefined): string;
  /** The state of a refresh token; in open mode a token never seen before is adopted as valid. */
  refreshToken(token: string): RefreshTokenState | undefined;
  revokeRefreshToken(token: string): void;
  expireAccessTokens(): void;
  issueCode(code: Omit<AuthorizationCode, 'expiresAtMs' | 'redeemed'>, nowMs: number): string;
  code(code: string): AuthorizationCode | undefined;
  reset(): void;
}

const token = (prefix: string) => `${prefix}${randomBytes(24).toString('base64url')}`;

export function createTokenStore(options: {
  auth: 'open' | 'strict';
  accessTokenTtlSeconds: number;
  rotateRefreshTokens: boolean;
  revokeRotated: boolean;
}): TokenStore {
  /** Access token → expiry (ms). In open mode unknown tokens are added, never expiring, when first seen. */
  const access = new Map<string, number>();
  const refresh = new Map<string, RefreshTokenState>();
  const codes = new Map<string, AuthorizationCode>();
  return {
    accessTokenTtlSeconds: options.accessTokenTtlSeconds,
    rotateRefreshTokens: options.rotateRefreshTokens,
    revokeRotated: options.revokeRotated,
    check(authorization, nowMs) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
      if (!m) return 105;
      const bearer = m[1]!;
      const expiresAtMs = access.get(bearer);
      if (expiresAtMs === undefined) {
        if (options.auth === 'strict') return 105;
        // Remembered, so that expireAccessTokens() can expire it too.
        access.set(bearer, Number.POSITIVE_INFINITY);
        return 0;
      }
      return expiresAtMs <= nowMs ? 109 : 0;
    },
    issueAccessToken(nowMs) {
      const t = token('emu-at.');
      access.set(t, nowMs + options.accessTokenTtlSeconds * 1000);
      return t;
    },
    issueRefreshToken(clientId) {
      const t = token('emu-rt.');
      refresh.set(t, { clientId, revoked: false });
      return t;
    },
    refreshToken(t) {
      let state = refresh.get(t);
      if (!state && options.auth === 'open') {
        // The dry run works with whatever MSADS_REFRESH_TOKEN is configured.
        state = { clientId: undefined, revoked: false };
        refresh.set(t, state);
      }
      return state;
    },
    revokeRefreshToken(t) {
      const state = refresh.get(t);
      if (state) state.revoked = true;
    },
    expireAccessTokens() {
      for (const t of access.keys()) access.set(t, Number.NEGATIVE_INFINITY);
    },
    issueCode(code, nowMs) {
      const c = token('emu-code.');
      codes.set(c, { ...code, expiresAtMs: nowMs + codeLifetimeMs, redeemed: false });
      return c;
    },
    code: (c) => codes.get(c),
    reset() {
      access.clear();
      refresh.clear();
      codes.clear();
    },
  };
}
