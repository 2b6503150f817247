import { fetchFtp } from './ftp.ts';
import { fetchHttp } from './http.ts';
import { fetchSftp } from './sftp.ts';
import { SourceError } from './source-error.ts';
import type { FetchedFile, FetchLimits, SourceCredentials } from './types.ts';

export const sourceSchemes = ['https:', 'http:', 'sftp:', 'ftp:', 'ftps:'] as const;

/**
 * A source URL as closeloop stores it: one of the five schemes, a host, a path to a file, and no
 * credentials (those are taken apart and stored encrypted). The message of a bad one says what to write.
 */
export function parseSourceUrl(text: string): { url: URL; username?: string; password?: string } {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new SourceError(
      'bad_url',
      `"${text}" is not a URL. Write one like https://example.com/conversions.csv or sftp://files.example.com/out/conversions.csv.`,
    );
  }
  if (!sourceSchemes.includes(url.protocol as never))
    throw new SourceError(
      'bad_url',
      `${url.protocol.replace(/:$/, '')} URLs are not supported: use https, http, sftp, ftp or ftps.`,
    );
  if (!url.hostname) throw new SourceError('bad_url', `"${text}" has no host.`);
  if (
    url.protocol !== 'https:' &&
    url.protocol !== 'http:' &&
    (url.pathname === '' || url.pathname.endsWith('/'))
  )
    throw new SourceError(
      'bad_url',
      `${url.protocol}//${url.host}${url.pathname}: give the path of a file, not a folder.`,
    );
  const username = url.username ? decodeURIComponent(url.username) : undefined;
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  url.username = '';
  url.password = '';
  url.hash = '';
  return { url, ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

/** Download the file at `url` with the protocol its scheme names, within `limits`. */
export function fetchSource(
  url: URL,
  credentials: SourceCredentials,
  limits: FetchLimits,
): Promise<FetchedFile> {
  switch (url.protocol) {
    case 'https:':
    case 'http:':
      return fetchHttp(url, credentials, limits);
    case 'sftp:':
      return fetchSftp(url, credentials, limits);
    case 'ftp:':
    case 'ftps:':
      return fetchFtp(url, credentials, limits);
    default:
      throw new SourceError(
        'bad_url',
        `${url.protocol} URLs are not supported: use https, http, sftp, ftp or ftps.`,
      );
  }
}
