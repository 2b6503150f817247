import { AppError } from '../../errors.ts';

/** Why a source could not be read, as a stable word for scripts; the message says it in a user's words. */
export type SourceFailure =
  | 'bad_url'
  | 'dns'
  | 'refused'
  | 'timeout'
  | 'unreachable'
  | 'tls'
  | 'private_address'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'login_failed'
  | 'host_key_changed'
  | 'too_large'
  | 'truncated'
  | 'too_many_redirects'
  | 'http_error'
  | 'protocol';

/** A source that could not be read: what went wrong, where, and what to do. */
export class SourceError extends AppError {
  override name = 'SourceError';
  readonly failure: SourceFailure;
  constructor(failure: SourceFailure, message: string) {
    super('validation_failed', message, { failure });
    this.failure = failure;
  }
}

/** A network error of node (DNS, refused, reset, timeout, TLS) as a SourceError naming `where`. */
export function networkError(err: unknown, where: string): SourceError {
  if (err instanceof SourceError) return err;
  const e = err as NodeJS.ErrnoException & { level?: string };
  const code = e?.code ?? '';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NODATA' || code === 'EAI_NONAME')
    return new SourceError(
      'dns',
      `${where}: the host name does not resolve (DNS ${code}). Check the spelling of the host in the URL.`,
    );
  if (code === 'ECONNREFUSED')
    return new SourceError(
      'refused',
      `${where}: the connection was refused (nothing listens on that port). Check the host and port in the URL.`,
    );
  if (code === 'ETIMEDOUT' || code === 'ESOCKETTIMEDOUT')
    return new SourceError('timeout', `${where}: the server did not answer in time. Check that it is up.`);
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH')
    return new SourceError('unreachable', `${where}: the host cannot be reached from here (${code}).`);
  if (code === 'ECONNRESET' || code === 'EPIPE')
    return new SourceError(
      'truncated',
      `${where}: the server closed the connection before the file arrived whole (${code}). Try again later.`,
    );
  if (/CERT|SELF_SIGNED|TLS|SSL|ERR_SSL/i.test(code) || e?.level === 'tls')
    return new SourceError(
      'tls',
      `${where}: the secure connection failed (${code || e.message}). The server's certificate must be valid for its host name.`,
    );
  return new SourceError('protocol', `${where}: ${e?.message ?? String(err)}`);
}

/** "1.5 MB" for a byte count, for messages. */
export function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toLocaleString('en-US', { maximumFractionDigits: 1 })} MB`;
}

export function tooLarge(where: string, maxBytes: number): SourceError {
  return new SourceError(
    'too_large',
    `${where}: the file is larger than the upload limit of ${megabytes(maxBytes)}. Split it, or raise CLOSELOOP_MAX_UPLOAD_MB where closeloop runs.`,
  );
}
