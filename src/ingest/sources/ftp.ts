import { isIP } from 'node:net';
import { Writable } from 'node:stream';
import { checkServerIdentity } from 'node:tls';
import { Client, FTPError } from 'basic-ftp';
import { resolveAllowed } from './guarded-lookup.ts';
import { networkError, SourceError, tooLarge } from './source-error.ts';
import {
  defaultTimeoutMs,
  defaultTotalTimeoutMs,
  type FetchedFile,
  type FetchLimits,
  type SourceCredentials,
  shownUrl,
  urlFilename,
} from './types.ts';

/**
 * Download a file over FTP, or FTPS (explicit TLS, `ftps://`), with basic-ftp. The host is resolved and
 * checked once and the control connection goes to that address; basic-ftp opens data connections to the
 * control connection's address only (a PASV reply naming another host is refused), so the check holds
 * for them too. Without a user name the login is anonymous.
 */
export async function fetchFtp(
  url: URL,
  credentials: SourceCredentials,
  limits: FetchLimits,
): Promise<FetchedFile> {
  const where = shownUrl(url);
  const path = decodeURIComponent(url.pathname);
  const secure = url.protocol === 'ftps:';
  const host = await resolveAllowed(limits.policy, url.hostname, where);
  const client = new Client(limits.timeoutMs ?? defaultTimeoutMs);
  const timer = setTimeout(() => client.close(), limits.totalTimeoutMs ?? defaultTotalTimeoutMs);
  const name = url.hostname.replace(/^\[(.*)\]$/, '$1');
  try {
    try {
      await client.access({
        host,
        port: url.port ? Number(url.port) : 21,
        user: credentials.username ?? 'anonymous',
        password: credentials.password ?? 'anonymous@',
        secure,
        // The certificate is checked against the name in the URL, not the address connected to.
        secureOptions: {
          ...(isIP(name) ? {} : { servername: name }),
          checkServerIdentity: (_host, cert) => checkServerIdentity(name, cert),
          ...(limits.ca ? { ca: limits.ca } : {}),
        },
      });
    } catch (err) {
      throw ftpError(err, where, 'login');
    }
    let size: number | undefined;
    try {
      size = await client.size(path);
    } catch (err) {
      // SIZE is optional in FTP; a 550 is a missing file, anything else is left to the download.
      if (err instanceof FTPError && err.code === 550) throw ftpError(err, where, 'file');
    }
    if (size !== undefined && size > limits.maxBytes) throw tooLarge(where, limits.maxBytes);
    const chunks: Buffer[] = [];
    let total = 0;
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        total += chunk.length;
        if (total > limits.maxBytes) return done(tooLarge(where, limits.maxBytes));
        chunks.push(chunk);
        done();
      },
    });
    try {
      await client.downloadTo(sink, path);
    } catch (err) {
      throw ftpError(err, where, 'file');
    }
    return { bytes: Buffer.concat(chunks), filename: urlFilename(url) };
  } finally {
    clearTimeout(timer);
    client.close();
  }
}

function ftpError(err: unknown, where: string, stage: 'login' | 'file'): SourceError {
  if (err instanceof SourceError) return err;
  if (err instanceof FTPError) {
    if (err.code === 530)
      return new SourceError(
        'login_failed',
        `${where}: login failed: the server refused the user name and password (FTP 530). Check them.`,
      );
    if (err.code === 550 && stage === 'file')
      return new SourceError(
        'not_found',
        `${where}: no such file, or the user may not read it (FTP 550). Check the path.`,
      );
    return new SourceError(
      'protocol',
      `${where}: the FTP server answered ${err.code}: ${err.message.replace(/^\d+\s*/, '')}`,
    );
  }
  const message = (err as Error).message ?? '';
  if (/timeout/i.test(message))
    return new SourceError(
      'timeout',
      `${where}: the FTP server stopped answering. Check that it is up; closeloop tries again later.`,
    );
  return networkError(err, where);
}
