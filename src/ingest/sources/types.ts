import type { AddressPolicy } from './address-policy.ts';

/** Who the source is read as: a user name with a password or an SSH private key (SFTP). */
export interface SourceCredentials {
  username?: string | undefined;
  password?: string | undefined;
  /** An OpenSSH or PEM private key, for SFTP. */
  privateKey?: string | undefined;
}

export interface FetchLimits {
  /** Which addresses may be connected to (the SSRF guard). */
  policy: AddressPolicy;
  /** The file may have at most this many bytes (the upload limit); counted as it streams. */
  maxBytes: number;
  /** Connecting, and then every pause in the transfer, may take at most this long. @default 30_000 */
  timeoutMs?: number;
  /** The whole download may take at most this long. @default 300_000 */
  totalTimeoutMs?: number;
  /** Redirects followed (HTTP). @default 5 */
  maxRedirects?: number;
  /** Certificates to trust besides the system's (tests' self-signed servers; an intranet's own CA). */
  ca?: string | Buffer | undefined;
  /** SFTP: the SHA-256 fingerprint of the host key seen before; another key is refused. */
  hostKey?: string | undefined;
}

export interface FetchedFile {
  bytes: Buffer;
  /** The last segment of the URL's path (the upload's file name). */
  filename: string;
  /** SFTP: the SHA-256 fingerprint of the server's host key (base64), kept to detect a changed server. */
  hostKey?: string;
}

export const defaultTimeoutMs = 30_000;
export const defaultTotalTimeoutMs = 300_000;
export const defaultMaxRedirects = 5;

/** The file name an upload from `url` gets: its last path segment, or the host. */
export function urlFilename(url: URL): string {
  const last = url.pathname.split('/').filter(Boolean).pop();
  try {
    return last ? decodeURIComponent(last) : url.hostname;
  } catch {
    return last ?? url.hostname;
  }
}

/** The URL as messages show it: no user name or password. */
export function shownUrl(url: URL): string {
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}
