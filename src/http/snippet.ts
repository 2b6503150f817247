import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Context, Hono } from 'hono';
import { contentHash } from '../../web-snippet/budget.ts';
import { parseClickId } from '../domain/identifiers.ts';
import { AppError } from '../errors.ts';
import { readBody, utf8Text } from './body.ts';
import { problem } from './problem.ts';

/*
 * The web snippet's two faces on the service:
 * - GET /snippet.js and /snippet.mjs (and /snippet.<hash>.js|.mjs): the built files, read once at start.
 * - POST /msclkid: the same-origin mode (`data-endpoint`). Safari keeps a cookie written by a script for
 *   7 days at most (24 hours after a link decorated by a known tracker), but a cookie set by an HTTP
 *   response of the site's own server for as long as it asks. Mounted under the site's origin by a
 *   reverse proxy, this route turns the snippet's click ID into such a cookie.
 */

export interface SnippetRoutesOptions {
  /** Folder with closeloop.js and closeloop.mjs from `npm run build:snippet`. @default <repo>/web-snippet/dist */
  distDir?: string;
  /**
   * Longest cookie POST /msclkid sets, in days; also its lifetime when the snippet sends none. Microsoft
   * imports offline conversions up to 90 days after the click. @default 90
   */
  cookieDays?: number;
}

interface SnippetFile {
  body: Uint8Array;
  /** As in dist/manifest.json: names the immutable URL /snippet.<hash>.js. */
  hash: string;
  contentType: string;
}

const defaultDistDir = fileURLToPath(new URL('../../web-snippet/dist/', import.meta.url));

/** A cookie value the endpoint writes: never anything the request sent that did not match these. */
const clickTimePattern = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const domainPattern =
  /^\.?([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+)$/;
const allowedFields = new Set(['msclkid', 'days', 'time', 'domain']);
/** The snippet sends ~110 bytes; anything much larger is not the snippet. */
const maxBodyBytes = 512;

function loadFile(distDir: string, name: string, contentType: string): SnippetFile | undefined {
  try {
    const body = readFileSync(join(distDir, name));
    return { body, hash: contentHash(body), contentType };
  } catch {
    return undefined;
  }
}

/**
 * Routes for the web snippet, to mount at the root of the service (paths are relative, so a reverse
 * proxy may put them under any prefix, e.g. /closeloop/). See docs/web-snippet.md.
 */
export function createSnippetRoutes(options: SnippetRoutesOptions = {}): Hono {
  const maxDays = options.cookieDays ?? 90;
  if (!Number.isInteger(maxDays) || maxDays < 1 || maxDays > 400) {
    throw new TypeError(
      `Expected \`cookieDays\` to be an integer from 1 to 400 (browsers cap cookies at 400 days), got \`${maxDays}\``,
    );
  }
  const distDir = options.distDir ?? defaultDistDir;
  const files = {
    js: loadFile(distDir, 'closeloop.js', 'text/javascript; charset=utf-8'),
    mjs: loadFile(distDir, 'closeloop.mjs', 'text/javascript; charset=utf-8'),
  };
  const app = new Hono();

  const serveSnippet = (c: Context, file: SnippetFile | undefined, requestedHash: string | undefined) => {
    if (!file) {
      // The server's folder stays out of a public answer.
      return problem(
        c,
        'service_unavailable',
        'The web snippet is not built: run `npm run build:snippet` where closeloop runs, then restart it.',
      );
    }
    if (requestedHash !== undefined && requestedHash !== file.hash) {
      // An old pinned URL after an upgrade: the current file, under its short-lived name (relative, so
      // that it works under a reverse-proxy prefix too).
      c.header('Cache-Control', 'no-store');
      return c.redirect(`snippet.${c.req.path.endsWith('.mjs') ? 'mjs' : 'js'}`, 302);
    }
    const etag = `"${file.hash}"`;
    c.header('ETag', etag);
    // The hashed URL never changes content; the plain one is revalidated every 5 minutes (a 304 with the
    // ETag), so an upgrade reaches every site within minutes.
    c.header(
      'Cache-Control',
      requestedHash
        ? 'public, max-age=31536000, immutable'
        : 'public, max-age=300, stale-while-revalidate=86400',
    );
    // Any site may load it: with <script crossorigin integrity=…>, as a module import (which is a CORS
    // request), and from pages with Cross-Origin-Embedder-Policy. It carries no credentials.
    c.header('Access-Control-Allow-Origin', '*');
    c.header('Cross-Origin-Resource-Policy', 'cross-origin');
    c.header('X-Content-Type-Options', 'nosniff');
    const ifNoneMatch = c.req.header('If-None-Match')?.split(/\s*,\s*/) ?? [];
    if (ifNoneMatch.includes(etag)) return c.body(null, 304);
    return c.body(file.body as Uint8Array<ArrayBuffer>, 200, { 'Content-Type': file.contentType });
  };

  app.get('/snippet.js', function snippetScript(c) {
    return serveSnippet(c, files.js, undefined);
  });
  app.get('/snippet.mjs', function snippetModule(c) {
    return serveSnippet(c, files.mjs, undefined);
  });
  app.get('/:file{snippet\\.[0-9a-f]{12}\\.m?js}', function hashedSnippet(c) {
    const [, hash, ext] = /^snippet\.([0-9a-f]{12})\.(m?js)$/.exec(c.req.param('file'))!;
    return serveSnippet(c, ext === 'mjs' ? files.mjs : files.js, hash);
  });

  app.post('/msclkid', async function storeClickId(c) {
    c.header('Cache-Control', 'no-store');
    // Same-origin only: the snippet calls with mode 'same-origin'. Another site must not plant a click
    // ID in this site's cookies (attribution fraud). Browsers since 2023 say so in Sec-Fetch-Site; for
    // older ones the Origin must match the host (behind a proxy, X-Forwarded-Host or a forwarded Host).
    // No CORS header is ever sent, so no other origin can read an answer either.
    const fetchSite = c.req.header('Sec-Fetch-Site');
    const originHeader = c.req.header('Origin');
    const origin = parseOrigin(originHeader);
    const host = (c.req.header('X-Forwarded-Host') ?? c.req.header('Host') ?? new URL(c.req.url).host)
      .split(',')[0]!
      .trim()
      .toLowerCase();
    const crossOrigin = fetchSite
      ? fetchSite !== 'same-origin'
      : originHeader === 'null' || (origin !== undefined && host !== '' && origin.host !== host);
    if (crossOrigin) {
      return problem(c, 'forbidden', 'This endpoint only accepts requests from pages of its own origin.');
    }
    // Counted as it streams: a chunked body has no Content-Length to refuse it by.
    let text: string;
    try {
      text = utf8Text(
        await readBody(
          c,
          maxBodyBytes,
          () => new AppError('payload_too_large', `The body must be at most ${maxBodyBytes} bytes.`),
        ),
      );
    } catch (err) {
      // These routes answer for themselves: they are mounted on other apps too.
      if (err instanceof AppError) return problem(c, err.code, err.message);
      throw err;
    }
    const fields = new URLSearchParams(text);
    const keys = [...fields.keys()];
    if (keys.some((key) => !allowedFields.has(key)) || new Set(keys).size !== keys.length) {
      return problem(
        c,
        'bad_request',
        'Send msclkid, and optionally days, time and domain, each at most once.',
      );
    }

    // Exactly what the snippet sends and stores itself (no trimming, case kept): the cookie it replaces
    // must compare equal, or the snippet would take it for a new click.
    const clickId = fields.get('msclkid') ?? '';
    if (!parseClickId(clickId).ok || clickId.trim() !== clickId) {
      return problem(c, 'bad_request', 'msclkid must be 32 hexadecimal characters.');
    }

    const rawDays = fields.get('days');
    let days = maxDays;
    if (rawDays) {
      if (!/^\d{1,3}$/.test(rawDays) || Number(rawDays) < 1) {
        return problem(c, 'bad_request', 'days must be a whole number of days, at least 1.');
      }
      days = Math.min(Number(rawDays), maxDays);
    }

    // The click time is the snippet's clock at capture; one that cannot be a recent click is dropped.
    const rawTime = fields.get('time');
    const time = rawTime && clickTimePattern.test(rawTime) ? Date.parse(rawTime) : Number.NaN;
    const now = Date.now();
    const clickTime = time <= now + 86_400_000 && time >= now - days * 86_400_000 ? rawTime! : undefined;

    const rawDomain = fields.get('domain')?.toLowerCase();
    let domain: string | undefined;
    if (rawDomain) {
      const bare = domainPattern.exec(rawDomain)?.[1];
      const pageHost = origin?.hostname ?? host.replace(/:\d+$/, '');
      if (!bare || (pageHost !== bare && !pageHost.endsWith(`.${bare}`))) {
        return problem(c, 'bad_request', 'domain must be the page host or one of its parent domains.');
      }
      domain = bare;
    }

    // Secure when the page is https: its Origin says so even behind a proxy that terminates TLS.
    const secure =
      origin?.protocol === 'https:' ||
      (!origin && (c.req.header('X-Forwarded-Proto') ?? new URL(c.req.url).protocol).startsWith('https'));
    // The same attributes as the snippet's own cookie, so this one replaces it rather than sit beside it;
    // not HttpOnly, so the snippet can read it to fill forms. Values are written raw like the snippet
    // writes them (hono's setCookie would percent-encode the time's colons): all were validated above.
    const attributes = `; Path=/; SameSite=Lax${domain ? `; Domain=${domain}` : ''}${secure ? '; Secure' : ''}`;
    const maxAge = days * 86_400;
    c.header('Set-Cookie', `msclkid=${clickId}; Max-Age=${maxAge}${attributes}`, { append: true });
    c.header(
      'Set-Cookie',
      `msclkid_time=${clickTime ?? ''}; Max-Age=${clickTime ? maxAge : 0}${attributes}`,
      {
        append: true,
      },
    );
    return c.body(null, 204);
  });
  app.all('/msclkid', function clickIdMethodNotAllowed(c) {
    c.header('Allow', 'POST');
    return problem(c, 'method_not_allowed', 'Send the click ID with POST.');
  });

  return app;
}

function parseOrigin(header: string | undefined): URL | undefined {
  if (!header) return undefined;
  try {
    return new URL(header);
  } catch {
    return undefined;
  }
}
