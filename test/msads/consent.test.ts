import { describe, expect, it } from 'vitest';
import {
  authorizeUrlFor,
  createConsentRequest,
  parseAuthorizationResponse,
  pkceChallenge,
} from '../../src/msads/consent.ts';
import { productionAuthorizeUrl, productionTokenUrl } from '../../src/msads/wire.ts';

describe('consent', () => {
  it('derives the authorize endpoint from the token endpoint', () => {
    expect(authorizeUrlFor(productionTokenUrl)).toBe(productionAuthorizeUrl);
    expect(authorizeUrlFor('https://login.windows-ppe.net/consumers/oauth2/v2.0/token/')).toBe(
      'https://login.windows-ppe.net/consumers/oauth2/v2.0/authorize',
    );
    expect(authorizeUrlFor('https://example.test/oauth/issue')).toBe(productionAuthorizeUrl);
  });

  it('builds a consent URL with a fresh state and an S256 challenge of its verifier', () => {
    const a = createConsentRequest({ tokenUrl: productionTokenUrl, clientId: 'app' });
    const b = createConsentRequest({
      tokenUrl: productionTokenUrl,
      clientId: 'app',
      redirectUri: 'http://localhost/cb',
    });
    expect(a.state).not.toBe(b.state);
    expect(a.codeVerifier).toMatch(/^[\w-]{43}$/);
    const q = new URL(a.url).searchParams;
    expect(q.get('code_challenge')).toBe(pkceChallenge(a.codeVerifier));
    expect(q.get('redirect_uri')).toBe('https://login.microsoftonline.com/common/oauth2/nativeclient');
    expect(new URL(b.url).searchParams.get('redirect_uri')).toBe('http://localhost/cb');
    // RFC 7636 appendix B.
    expect(pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });

  it('takes a bare code or the redirect URL, and checks the state', () => {
    expect(parseAuthorizationResponse('  M.C507_BAY.2.U.abc  ', 's1')).toBe('M.C507_BAY.2.U.abc');
    const url = 'https://login.microsoftonline.com/common/oauth2/nativeclient?code=M.C1&state=s1';
    expect(parseAuthorizationResponse(url, 's1')).toBe('M.C1');
    expect(parseAuthorizationResponse(url, undefined)).toBe('M.C1');
    expect(parseAuthorizationResponse('code=M.C2&state=s1', 's1')).toBe('M.C2');
    expect(() => parseAuthorizationResponse(url, 's2')).toThrow(/another consent request/);
    expect(() =>
      parseAuthorizationResponse('https://login.microsoftonline.com/common/oauth2/nativeclient', 's1'),
    ).toThrow(/no code=/);
    expect(() => parseAuthorizationResponse('  ', 's1')).toThrow(/No code given/);
    expect(() =>
      parseAuthorizationResponse(
        'http://localhost/cb?error=access_denied&error_description=declined',
        undefined,
      ),
    ).toThrow('Microsoft did not grant consent: access_denied: declined.');
  });
});
