import { createHmac, timingSafeEqual } from 'node:crypto';

/*
 * HubSpot's request signature v3 (developers.hubspot.com, "Validating requests", v3):
 * X-HubSpot-Signature-v3 = base64(HMAC-SHA256(key = the app's client secret,
 * UTF-8 of method + requestUri + rawBody + X-HubSpot-Request-Timestamp)). Requests whose timestamp (ms)
 * is more than 5 minutes old are rejected. The URI is the one HubSpot called (scheme, host, path, query),
 * with the URL-encoded characters of HubSpot's table decoded. Pure: the caller passes the clock.
 */

/** HubSpot: "Reject the request if the timestamp is older than 5 minutes." */
export const hubspotSignatureWindowMs = 5 * 60_000;

/** The escapes HubSpot's v3 instructions decode in the request URI before signing. */
const decoded: Record<string, string> = {
  '%3A': ':',
  '%2F': '/',
  '%3F': '?',
  '%40': '@',
  '%21': '!',
  '%24': '$',
  '%27': "'",
  '%28': '(',
  '%29': ')',
  '%2A': '*',
  '%2C': ',',
  '%3B': ';',
};

export function hubspotSignedUri(uri: string): string {
  return uri.replace(/%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (m) => decoded[m.toUpperCase()]!);
}

export function hubspotSignatureV3(input: {
  clientSecret: string;
  method: string;
  uri: string;
  body: Uint8Array | string;
  timestamp: string;
}): string {
  return createHmac('sha256', input.clientSecret)
    .update(input.method.toUpperCase())
    .update(hubspotSignedUri(input.uri))
    .update(input.body)
    .update(input.timestamp)
    .digest('base64');
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/** Check a request's v3 signature over its raw body bytes, in constant time, within the 5-minute window. */
export function verifyHubspotSignatureV3(input: {
  clientSecret: string;
  method: string;
  uri: string;
  body: Uint8Array | string;
  signature: string | undefined;
  timestamp: string | undefined;
  now: Date;
}): SignatureCheck {
  if (!input.signature) return { ok: false, reason: 'the X-HubSpot-Signature-v3 header is missing' };
  if (!input.timestamp || !/^\d{1,15}$/.test(input.timestamp))
    return { ok: false, reason: 'the X-HubSpot-Request-Timestamp header is missing or not milliseconds' };
  const age = input.now.getTime() - Number(input.timestamp);
  // A timestamp from the future beyond the window is as suspect as a stale one.
  if (Math.abs(age) > hubspotSignatureWindowMs)
    return {
      ok: false,
      reason: 'the request timestamp is more than 5 minutes away from now (a replay, or a clock off)',
    };
  const expected = Buffer.from(hubspotSignatureV3({ ...input, timestamp: input.timestamp }), 'base64');
  const given = Buffer.from(input.signature, 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return {
      ok: false,
      reason: 'the signature does not match (wrong client secret, or the body or URL was changed)',
    };
  return { ok: true };
}
