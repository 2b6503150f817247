import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hubspotSignatureV3, hubspotSignedUri, verifyHubspotSignatureV3 } from './webhook-signature.ts';

const secret = 'yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy';
const body =
  '[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"deal.propertyChange","objectId":123}]';
const uri = 'https://closeloop.example.com/webhooks/hubspot/abc?x=1';
const now = new Date('2026-06-01T12:00:00Z');
const timestamp = String(now.getTime() - 1000);

const sign = (over: Partial<{ method: string; uri: string; body: string; timestamp: string }> = {}) =>
  hubspotSignatureV3({ clientSecret: secret, method: 'POST', uri, body, timestamp, ...over });
const check = (over: Partial<Parameters<typeof verifyHubspotSignatureV3>[0]> = {}) =>
  verifyHubspotSignatureV3({
    clientSecret: secret,
    method: 'POST',
    uri,
    body,
    signature: sign(),
    timestamp,
    now,
    ...over,
  });

describe('HubSpot signature v3', () => {
  it('is base64(HMAC-SHA256(secret, method + uri + body + timestamp))', () => {
    const expected = createHmac('sha256', secret)
      .update(`POST${uri}${body}${timestamp}`, 'utf8')
      .digest('base64');
    expect(sign()).toBe(expected);
    expect(check()).toEqual({ ok: true });
  });

  it('signs the URI with HubSpot’s listed escapes decoded', () => {
    expect(hubspotSignedUri('https://h/p%3Fa%3Ab%2Fc%40d%21%24%27%28%29%2a%2C%3B?q=%20')).toBe(
      "https://h/p?a:b/c@d!$'()*,;?q=%20",
    );
    const encoded = 'https://closeloop.example.com/webhooks/hubspot/abc%3Fx=1';
    expect(
      check({
        uri: encoded,
        signature: sign({ uri: 'https://closeloop.example.com/webhooks/hubspot/abc?x=1' }),
      }),
    ).toEqual({ ok: true });
  });

  it('rejects a changed body, method, URI, timestamp or secret', () => {
    expect(check({ body: `${body} ` }).ok).toBe(false);
    expect(check({ method: 'PUT' }).ok).toBe(false);
    expect(check({ uri: 'http://closeloop.example.com/webhooks/hubspot/abc?x=1' }).ok).toBe(false);
    expect(check({ timestamp: String(Number(timestamp) + 1) }).ok).toBe(false);
    expect(check({ clientSecret: 'other' }).ok).toBe(false);
  });

  it('checks the raw bytes: the same JSON re-serialized does not pass', () => {
    const reserialized = JSON.stringify(JSON.parse(body), null, 1);
    expect(check({ body: reserialized }).ok).toBe(false);
    expect(check({ body: new TextEncoder().encode(body) })).toEqual({ ok: true });
  });

  it('rejects timestamps outside the 5-minute window, missing headers and malformed signatures', () => {
    const old = String(now.getTime() - 5 * 60_000 - 1);
    expect(check({ timestamp: old, signature: sign({ timestamp: old }) })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('5 minutes'),
    });
    const edge = String(now.getTime() - 5 * 60_000);
    expect(check({ timestamp: edge, signature: sign({ timestamp: edge }) })).toEqual({ ok: true });
    const future = String(now.getTime() + 10 * 60_000);
    expect(check({ timestamp: future, signature: sign({ timestamp: future }) }).ok).toBe(false);
    expect(check({ signature: undefined })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('missing'),
    });
    expect(check({ timestamp: undefined }).ok).toBe(false);
    expect(check({ timestamp: '2026-06-01' }).ok).toBe(false);
    expect(check({ signature: 'short' }).ok).toBe(false);
  });
});
