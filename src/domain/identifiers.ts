import { createHash } from 'node:crypto';
import { quote } from './quote.ts';
import { type FieldResult, fail, ok } from './result.ts';

/*
 * The identifiers that tie a conversion to a click: the Microsoft Click ID and, for enhanced
 * conversions, SHA-256 hashes of the customer's email and phone (reference/msads-api.md §1, §10).
 * Plaintext email addresses and phone numbers are personal data: messages about them say what is
 * wrong without repeating the value.
 */

// Microsoft's offline conversion help describes the MSCLKID as 32 hexadecimal characters (DESIGN.md,
// "Rules from Microsoft's offline conversion documentation"), like f894f652ea334e739002f7167ab8f8e3 in
// Microsoft's bulk example (msads-api.md §9); the API reference itself documents no format (§1).
// Anything else is a copy-paste mistake worth catching before upload.
const clickIdPattern = /^[0-9a-fA-F]{32}$/;
const sha256Pattern = /^[0-9a-fA-F]{64}$/;

/** Reads a Microsoft Click ID (MSCLKID): 32 hexadecimal characters, returned in lower case. */
export function parseClickId(text: string): FieldResult<string> {
  const trimmed = text.trim();
  if (clickIdPattern.test(trimmed)) return ok(trimmed.toLowerCase());

  if (trimmed === '') {
    return fail(
      'MISSING_CLICK_ID',
      'The Microsoft Click ID is empty; enter the 32-character MSCLKID captured from the ad click.',
    );
  }
  // The UET cookie _uetmsclkid stores "_uet" followed by the click ID.
  if (/^_uet/i.test(trimmed)) {
    const rest = trimmed.replace(/^_uet(?:msclkid=)?/i, '');
    const hint = clickIdPattern.test(rest) ? `: ${rest.toLowerCase()}` : '';
    return fail(
      'INVALID_CLICK_ID',
      `The Microsoft Click ID ${quote(trimmed)} starts with _uet, the prefix of the UET cookie; remove the _uet prefix and keep the 32 characters after it${hint}.`,
    );
  }
  const fromUrl = /[?&#]?msclkid=([^&#\s]*)/i.exec(trimmed);
  if (fromUrl) {
    const value = decodeSafely(fromUrl[1]!);
    const hint = clickIdPattern.test(value) ? ` (${value.toLowerCase()})` : '';
    return fail(
      'INVALID_CLICK_ID',
      `The Microsoft Click ID ${quote(trimmed)} is a URL or query string; put only the value of its msclkid parameter${hint}.`,
    );
  }
  const unhyphenated = trimmed.replaceAll('-', '').replace(/^\{(.*)\}$/, '$1');
  if (unhyphenated !== trimmed && clickIdPattern.test(unhyphenated)) {
    return fail(
      'INVALID_CLICK_ID',
      `The Microsoft Click ID ${quote(trimmed)} is written as a GUID with hyphens or braces; remove them: ${unhyphenated.toLowerCase()}.`,
    );
  }
  const length = Array.from(trimmed).length;
  const bad = /[^0-9a-fA-F]/.exec(trimmed);
  const detail = bad ? `, including ${quote(bad[0])}, which is not a hexadecimal digit` : '';
  return fail(
    'INVALID_CLICK_ID',
    `The Microsoft Click ID must be 32 hexadecimal characters (0-9, a-f); received ${quote(trimmed)} (${length} characters${detail}).`,
  );
}

/** Reads a hashed email: a SHA-256 digest as 64 hex characters, returned in lower case. */
export function parseHashedEmail(text: string): FieldResult<string> {
  return parseSha256(text, 'INVALID_HASHED_EMAIL', 'email address', 'Email');
}

/** Reads a hashed phone number: a SHA-256 digest as 64 hex characters, returned in lower case. */
export function parseHashedPhone(text: string): FieldResult<string> {
  return parseSha256(text, 'INVALID_HASHED_PHONE', 'phone number', 'Phone');
}

function parseSha256(
  text: string,
  code: 'INVALID_HASHED_EMAIL' | 'INVALID_HASHED_PHONE',
  what: string,
  plainColumn: string,
): FieldResult<string> {
  const trimmed = text.trim();
  if (sha256Pattern.test(trimmed)) return ok(trimmed.toLowerCase());

  const field = `The hashed ${what}`;
  const expected = 'a SHA-256 hash written as 64 hexadecimal characters';
  // The value may be a plain email or phone: never repeat it in the message.
  const plain = looksLikeEmail(trimmed)
    ? 'email address'
    : looksLikePhone(trimmed)
      ? 'phone number'
      : undefined;
  if (plain) {
    return fail(
      code,
      `${field} looks like a plain ${plain}, not a hash; put it in the ${plainColumn} column instead so closeloop hashes it.`,
    );
  }
  const length = Array.from(trimmed).length;
  if (trimmed === '') return fail(code, `${field} is empty; enter ${expected}.`);
  if (/^[0-9a-fA-F]{40}$/.test(trimmed))
    return fail(code, `${field} looks like a SHA-1 hash (40 characters); Microsoft needs ${expected}.`);
  if (/^[0-9a-fA-F]{32}$/.test(trimmed))
    return fail(code, `${field} looks like an MD5 hash (32 characters); Microsoft needs ${expected}.`);
  if (/^[A-Za-z0-9+/]{43}=$/.test(trimmed)) {
    return fail(code, `${field} looks like a Base64-encoded SHA-256 hash; Microsoft needs ${expected}.`);
  }
  if (/^[0-9a-fA-F]*$/.test(trimmed)) {
    return fail(
      code,
      `${field} has ${length} hexadecimal characters; it must be ${expected}. Check that it was not cut off.`,
    );
  }
  return fail(
    code,
    `${field} contains characters other than 0-9 and a-f (${length} characters); it must be ${expected}.`,
  );
}

function looksLikeEmail(text: string): boolean {
  return /^[^@\s]+@[^@\s]+$/.test(text);
}

function looksLikePhone(text: string): boolean {
  return (
    /^\+?[\d\s().-]{7,}$/.test(text) && (text.match(/\d/g)?.length ?? 0) >= 7 && !sha256Pattern.test(text)
  );
}

/**
 * Normalizes a plain email (trim, lower case) and returns its SHA-256 as lowercase hex, the form
 * Microsoft's customer lists require (msads-api.md §10; Microsoft's example hashes "test@contoso.com").
 * Gmail dots and +tags are kept: Microsoft documents no such rule.
 */
export function hashEmail(text: string): FieldResult<string> {
  const email = text.trim().toLowerCase();
  const problem = emailProblem(email);
  if (problem) return fail('INVALID_EMAIL', `The email address ${problem}.`);
  return ok(sha256Hex(email));
}

/** What is wrong with a trimmed, lower-cased email address, worded without repeating it. */
function emailProblem(email: string): string | undefined {
  const fix = 'enter one address such as name@example.com, or leave the cell empty';
  if (email === '') return `is empty; ${fix}`;
  if (email.startsWith('mailto:')) return 'starts with mailto:; remove the mailto: prefix';
  if (/\s/.test(email)) return `contains a space; ${fix}`;
  const at = email.split('@');
  if (at.length === 1) return `has no @; ${fix}`;
  if (at.length > 2) return `has more than one @; ${fix}`;
  const [local, domain] = at as [string, string];
  if (local === '') return `has nothing before the @; ${fix}`;
  if (domain === '') return `has nothing after the @; ${fix}`;
  if (!domain.includes('.')) return `has no dot in the domain after the @; ${fix}`;
  if (domain.startsWith('.') || domain.endsWith('.') || domain.includes('..')) {
    return `has a misplaced dot in the domain after the @; ${fix}`;
  }
  if (/[<>(),;:"[\]\\]/.test(email)) {
    return `contains a character that email addresses do not use (such as < > , ; or a quote); ${fix}`;
  }
  return undefined;
}

/**
 * Whether the phone hash covers the leading `+` of the E.164 number. Microsoft says only that the
 * number is hashed "according to E.164" (PHP SDK comments); whether the `+` is part of the hash input
 * is unverified (reference/msads-api.md §10, §11). E.164 as written includes the `+`, so we hash it.
 */
export const phoneHashIncludesPlus = true;

/**
 * Normalizes a phone number to E.164 (+, country code, 8 to 15 digits in all) and returns its SHA-256
 * as lowercase hex. We cannot guess a country, so a number without a country code is refused.
 */
export function hashPhone(text: string): FieldResult<string> {
  const normalized = normalizePhone(text);
  if (!normalized.ok) return normalized;
  const input = phoneHashIncludesPlus ? normalized.value : normalized.value.slice(1);
  return ok(sha256Hex(input));
}

/** Plain phone number → E.164 (`+` and digits). Exported for tests and for showing the normalized form. */
export function normalizePhone(text: string): FieldResult<string> {
  let phone = text.trim().replace(/^tel:/i, '');
  // "+44 (0)20 7946 0000": the (0) is the national trunk prefix, dropped when dialling internationally.
  phone = phone.replace(/^(\+\d{1,3})\s*\(0\)/, '$1');
  phone = phone.replace(/[\s\u00a0.()\-/]/g, '');
  if (phone.startsWith('00')) phone = `+${phone.slice(2)}`;

  const invalid = (problem: string) => fail<string>('INVALID_PHONE', `The phone number ${problem}.`);
  if (phone === '')
    return invalid('is empty; enter it with its country code, e.g. +1 206 555 0100, or leave the cell empty');
  if (/[a-z]/i.test(phone))
    return invalid('contains letters; write only the number with its country code (no extension)');
  if (!/^\+?\d+$/.test(phone)) {
    return invalid(
      'contains characters other than digits, spaces, dashes, dots, parentheses and a leading +',
    );
  }
  if (!phone.startsWith('+')) {
    return invalid(
      'has no country code; add the country code, e.g. +1 for the US or +44 for the UK (a leading 00 also works)',
    );
  }
  const digits = phone.length - 1;
  if (phone[1] === '0')
    return invalid('has a country code starting with 0; country codes start with 1 to 9 (e.g. +1, +44)');
  if (digits < 8 || digits > 15) {
    return invalid(`has ${digits} digits; a number with its country code has 8 to 15 digits (E.164)`);
  }
  return ok(phone);
}

/** SHA-256 as 64 lowercase hex characters (Microsoft's hashed identifiers; stored key and token digests). */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function decodeSafely(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** closeloop's ids as the database stores them (UUIDs). */
export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A UUID as the database stores ids: lets a lookup take an id or a name without a failing cast. */
export function isUuid(text: string): boolean {
  return uuidPattern.test(text);
}
