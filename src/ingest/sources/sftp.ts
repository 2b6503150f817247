import { createHash } from 'node:crypto';
import SftpClient from 'ssh2-sftp-client';
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
 * Download a file over SFTP (ssh2-sftp-client) with a password or a private key. The host is resolved
 * and checked once, and the connection goes to that address. The host key's fingerprint is returned;
 * given the one seen before (`limits.hostKey`), another key is refused as SSH clients refuse a changed
 * known host.
 */
export async function fetchSftp(
  url: URL,
  credentials: SourceCredentials,
  limits: FetchLimits,
): Promise<FetchedFile> {
  const where = shownUrl(url);
  const path = decodeURIComponent(url.pathname);
  if (!credentials.username)
    throw new SourceError(
      'login_failed',
      `${where}: SFTP needs a user name: give --username (or put it in the URL).`,
    );
  const host = await resolveAllowed(limits.policy, url.hostname, where);
  const client = new SftpClient('closeloop');
  let seenKey: string | undefined;
  const timeoutMs = limits.timeoutMs ?? defaultTimeoutMs;
  const timer = setTimeout(
    () => void client.end().catch(() => {}),
    limits.totalTimeoutMs ?? defaultTotalTimeoutMs,
  );
  try {
    try {
      await client.connect({
        host,
        port: url.port ? Number(url.port) : 22,
        username: credentials.username,
        ...(credentials.privateKey ? { privateKey: credentials.privateKey } : {}),
        ...(credentials.password !== undefined && !credentials.privateKey
          ? { password: credentials.password }
          : {}),
        readyTimeout: timeoutMs,
        // Keys only as the user gave them: no agent, no keyboard-interactive prompts.
        tryKeyboard: false,
        hostVerifier: (key: Buffer) => {
          seenKey = createHash('sha256').update(key).digest('base64');
          return limits.hostKey === undefined || limits.hostKey === seenKey;
        },
      });
    } catch (err) {
      throw connectError(err, where, limits, seenKey);
    }
    let size: number;
    try {
      size = (await client.stat(path)).size;
    } catch (err) {
      throw fileError(err, where);
    }
    if (size > limits.maxBytes) throw tooLarge(where, limits.maxBytes);
    const bytes = await readLimited(client.createReadStream(path, {}), where, limits.maxBytes, timeoutMs);
    return { bytes, filename: urlFilename(url), ...(seenKey ? { hostKey: seenKey } : {}) };
  } finally {
    clearTimeout(timer);
    await client.end().catch(() => {});
  }
}

function connectError(
  err: unknown,
  where: string,
  limits: FetchLimits,
  seenKey: string | undefined,
): SourceError {
  if (err instanceof SourceError) return err;
  const message = (err as Error).message ?? '';
  if (limits.hostKey !== undefined && seenKey !== undefined && seenKey !== limits.hostKey)
    return new SourceError(
      'host_key_changed',
      `${where}: the server's host key changed (SHA256:${seenKey}, was SHA256:${limits.hostKey}). If the server was replaced on purpose, save the schedule again (closeloop schedules remove, then add); otherwise someone may be impersonating it.`,
    );
  if (/authentication|auth methods/i.test(message))
    return new SourceError(
      'login_failed',
      `${where}: login failed: the server refused the user name and ${/privateKey|key/i.test(message) ? 'key' : 'password or key'}. Check them.`,
    );
  if (/timed out/i.test(message))
    return new SourceError(
      'timeout',
      `${where}: the SSH server did not answer in time. Check the host and port.`,
    );
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED' || /refused/i.test(message))
    return new SourceError(
      'refused',
      `${where}: the connection was refused (no SSH server on that port). Check the host and port.`,
    );
  if (/Cannot parse privateKey|Unsupported key format|privateKey/i.test(message))
    return new SourceError(
      'login_failed',
      `${where}: the private key cannot be read (${message}). Give an OpenSSH or PEM key without a passphrase.`,
    );
  return networkError(err, where);
}

function fileError(err: unknown, where: string): SourceError {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT' || Number(e.code) === 2 || /no such file/i.test(e.message))
    return new SourceError(
      'not_found',
      `${where}: no such file on the server. Check the path (it is taken from the server's root, or from the user's home when relative).`,
    );
  if (e.code === 'EACCES' || Number(e.code) === 3 || /permission denied/i.test(e.message))
    return new SourceError('forbidden', `${where}: the user may not read that file (permission denied).`);
  return networkError(err, where);
}

/** Read a stream into memory, refusing it past `maxBytes` and when it pauses longer than `idleMs`. */
export async function readLimited(
  stream: NodeJS.ReadableStream,
  where: string,
  maxBytes: number,
  idleMs: number,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  let idle: NodeJS.Timeout | undefined;
  const readable = stream as NodeJS.ReadableStream & { destroy(err?: Error): void };
  const arm = () => {
    clearTimeout(idle);
    idle = setTimeout(
      () =>
        readable.destroy(
          new SourceError('timeout', `${where}: the transfer stalled for ${Math.round(idleMs / 1000)} s.`),
        ),
      idleMs,
    );
  };
  arm();
  try {
    for await (const chunk of readable as AsyncIterable<Buffer | string>) {
      arm();
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buf.length;
      if (size > maxBytes) {
        readable.destroy();
        throw tooLarge(where, maxBytes);
      }
      chunks.push(buf);
    }
  } catch (err) {
    throw err instanceof SourceError ? err : fileError(err, where);
  } finally {
    clearTimeout(idle);
  }
  return Buffer.concat(chunks);
}
