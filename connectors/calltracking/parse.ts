/**
 * Helpers every call-tracking adapter shares: reading a provider's request (query, JSON, form or XML),
 * strict numbers, callers and the click ID from a landing URL. Times are in call-times.ts, the mapping of
 * a provider's parameter names onto a NormalizedCall in call-mapping.ts. Pure: no clock, no network, no
 * database.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { AdapterResult, NormalizedCall, ProviderRequest } from './types.ts';

/** Bad input: the message says what is wrong, where (which field) and what was expected. */
export class CallInputError extends Error {
  override name = 'CallInputError';
}

/** Runs an adapter's body and turns a CallInputError into `{ ok: false, reason }` (anything else is a bug and throws). */
export function adapterResult(read: () => NormalizedCall[]): AdapterResult {
  try {
    return { ok: true, calls: read() };
  } catch (error) {
    if (error instanceof CallInputError) return { ok: false, reason: error.message };
    throw error;
  }
}

/** A request's values by parameter name; JSON bodies keep their nesting (read with `valueAt`). */
export type Values = Record<string, unknown>;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The request's values: the query string for GET; for POST the body (JSON, form or XML, by Content-Type,
 * else by its first character) over the query string's parameters (templated providers may put some
 * parameters in the URL and the rest in the body).
 */
export function readValues(request: ProviderRequest): Values {
  const query: Values = { ...request.query };
  if (request.method === 'GET' || request.body.length === 0) {
    if (Object.keys(query).length === 0)
      throw new CallInputError('empty request: no query parameters and no body');
    return query;
  }
  let text: string;
  try {
    text = utf8.decode(request.body);
  } catch {
    throw new CallInputError('body is not UTF-8 text');
  }
  const trimmed = text.trim();
  if (trimmed === '') return readValues({ ...request, body: new Uint8Array() });
  const type = (request.headers['content-type'] ?? '').toLowerCase();
  const kind = type.includes('json')
    ? 'json'
    : type.includes('xml')
      ? 'xml'
      : type.includes('x-www-form-urlencoded')
        ? 'form'
        : trimmed.startsWith('{') || trimmed.startsWith('[')
          ? 'json'
          : trimmed.startsWith('<')
            ? 'xml'
            : 'form';
  const body = kind === 'json' ? parseJson(trimmed) : kind === 'xml' ? parseXml(trimmed) : parseForm(trimmed);
  return { ...query, ...body };
}

function parseJson(text: string): Values {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CallInputError(`malformed JSON body: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new CallInputError('JSON body must be an object with the call\'s fields, e.g. {"call_id": "…"}');
  }
  return parsed as Values;
}

function parseForm(text: string): Values {
  if (!/^[^=&\s]+=/.test(text)) {
    throw new CallInputError('body is neither JSON, XML nor a form (name=value&…); set the Content-Type');
  }
  const values: Values = {};
  for (const [name, value] of new URLSearchParams(text)) if (!(name in values)) values[name] = value;
  return values;
}

const xmlParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

/** An XML body's root element's children (and attributes) as values: `<call><id>1</id>…</call>`. */
function parseXml(text: string): Values {
  // A call needs no DTD, and entity definitions are how XML bodies blow up (billion laughs): refuse them.
  if (/<!DOCTYPE/i.test(text))
    throw new CallInputError('XML body must not declare a DOCTYPE (remove the <!DOCTYPE …> line)');
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    throw new CallInputError(`malformed XML body at line ${line}, column ${col}: ${msg}`);
  }
  const document = xmlParser.parse(text) as Values;
  const roots = Object.keys(document);
  const root = roots.length === 1 ? document[roots[0]!] : undefined;
  if (root === null || typeof root !== 'object' || Array.isArray(root)) {
    throw new CallInputError(
      "XML body must have one root element holding the call's fields, e.g. <call><id>…</id></call>",
    );
  }
  return root as Values;
}

/** The value at `path`: an exact key first (form names may contain dots), else a dotted path into nested JSON. */
export function valueAt(values: Values, path: string): unknown {
  if (path in values) return values[path];
  let current: unknown = values;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = (current as Values)[part];
  }
  return current;
}

/** A scalar as trimmed text; absent, null or blank → null. An object or list where one value belongs is an error. */
export function text(raw: unknown, field: string): string | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw === 'string') return raw.trim() === '' ? null : raw.trim();
  if (typeof raw === 'number' || typeof raw === 'boolean' || typeof raw === 'bigint') return String(raw);
  throw new CallInputError(
    `field "${field}": expected one value, got ${Array.isArray(raw) ? 'a list' : 'an object'}`,
  );
}

/**
 * Seconds as a whole number: 185, "185", "185.4" (rounded) or "00:03:05" / "3:05" (h:mm:ss, m:ss); absent → null.
 * Never Number('') === 0: a blank is "not reported", and "abc" or "-5" is an error naming the field.
 */
export function seconds(raw: unknown, field: string): number | null {
  const value = text(raw, field);
  if (value === null) return null;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value));
  const clock = /^(?:(\d+):)?(\d{1,2}):(\d{2})$/.exec(value);
  if (clock) return Number(clock[1] ?? 0) * 3600 + Number(clock[2]) * 60 + Number(clock[3]);
  throw new CallInputError(`field "${field}": expected seconds (e.g. 185 or 00:03:05), got "${value}"`);
}

/** A decimal amount exactly as written ("1250.5"); a comma or a currency sign is an error that says so. */
export function decimal(raw: unknown, field: string): string | null {
  const value = text(raw, field);
  if (value === null) return null;
  if (/^-?\d+(\.\d+)?$/.test(value)) return value;
  if (/^-?\d+,\d+$/.test(value)) {
    throw new CallInputError(
      `field "${field}": "${value}" uses a comma; write the decimal with a period (e.g. 12.50)`,
    );
  }
  throw new CallInputError(`field "${field}": expected a number such as 12.50, got "${value}"`);
}

/** An ISO 4217 code, upper-cased. */
export function currencyCode(raw: unknown, field: string): string | null {
  const value = text(raw, field);
  if (value === null) return null;
  if (/^[A-Za-z]{3}$/.test(value)) return value.toUpperCase();
  throw new CallInputError(
    `field "${field}": expected a three-letter currency code such as USD, got "${value}"`,
  );
}

const yes = new Set(['1', 'true', 'yes', 'y', 'answered', 'completed', 'connected', 'bridge', 'bridged']);
const no = new Set([
  '0',
  'false',
  'no',
  'n',
  'missed',
  'abandoned',
  'busy',
  'failed',
  'no answer',
  'no-answer',
  'noanswer',
  'unanswered',
]);

/** A yes/no a provider writes as 1/0, true/false, yes/no or a call status (answered, missed…); anything else → null. */
export function flag(raw: unknown, field: string): boolean | null {
  const value = text(raw, field)?.toLowerCase();
  if (value === undefined) return null;
  if (yes.has(value)) return true;
  if (no.has(value)) return false;
  return null;
}

/** A caller in E.164 ("+447700900123", "+1 (866) 555-1234", "0044…"); withheld or not E.164 → null. */
export function e164(raw: unknown, field: string): string | null {
  const value = text(raw, field);
  if (value === null) return null;
  const compact = value.replace(/[\s().-]/g, '');
  if (/^\+[1-9]\d{5,14}$/.test(compact)) return compact;
  if (/^00[1-9]\d{5,14}$/.test(compact)) return `+${compact.slice(2)}`;
  return null;
}

/**
 * The `msclkid` query parameter of a landing URL, its name matched case-insensitively (MSCLKID=…);
 * null when the URL has none or is not a URL. Relative URLs ("/?msclkid=…") are read too.
 */
export function msclkidFromUrl(url: string | null): string | null {
  if (url === null) return null;
  let parsed: URL;
  try {
    parsed = new URL(url, 'http://landing.invalid/');
  } catch {
    return null;
  }
  for (const [name, value] of parsed.searchParams) {
    if (name.toLowerCase() === 'msclkid' && value.trim() !== '') return value.trim();
  }
  return null;
}

/** A fixture's landing URL: the site's page with the click ID in its query, as Microsoft appends it. */
export function landingUrlFor(site: string, msclkid: string | null): string {
  return msclkid === null ? `${site}/contact` : `${site}/contact?utm_source=bing&msclkid=${msclkid}`;
}
