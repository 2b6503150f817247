import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchSource } from '../../../src/ingest/sources/fetch-source.ts';
import { SourceError } from '../../../src/ingest/sources/source-error.ts';
import type { FetchLimits, SourceCredentials } from '../../../src/ingest/sources/types.ts';
import {
  type FtpServer,
  type SftpServer,
  selfSignedCert,
  startFtpServer,
  startSftpServer,
} from '../../helpers/source-servers.ts';

const body = 'Microsoft Click ID,Conversion Name,Conversion Time\n';
const open: FetchLimits = { policy: { allowPrivate: true }, maxBytes: 1024 * 1024, timeoutMs: 3000 };

async function failure(
  url: string,
  credentials: SourceCredentials,
  limits: FetchLimits = open,
): Promise<SourceError> {
  const err = await fetchSource(new URL(url), credentials, limits).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SourceError);
  return err as SourceError;
}

describe('SFTP sources', () => {
  let sftp: SftpServer;
  beforeAll(async () => {
    sftp = await startSftpServer({ user: 'ann', password: 's3cret' });
    sftp.files.set('/out/conversions.csv', Buffer.from(body));
    sftp.files.set('/out/big.csv', Buffer.alloc(2 * 1024 * 1024, 'a'));
  });
  afterAll(() => sftp.close());

  it('downloads with a password and with a private key, and reports the host key', async () => {
    const url = new URL(`${sftp.origin}/out/conversions.csv`);
    const withPassword = await fetchSource(url, { username: 'ann', password: 's3cret' }, open);
    expect(withPassword.bytes.toString()).toBe(body);
    expect(withPassword.hostKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const withKey = await fetchSource(url, { username: 'ann', privateKey: sftp.clientPrivateKey }, open);
    expect(withKey.bytes.toString()).toBe(body);
    expect(withKey.filename).toBe('conversions.csv');
  });

  it('says login failed for a wrong password or key', async () => {
    const url = `${sftp.origin}/out/conversions.csv`;
    const wrong = await failure(url, { username: 'ann', password: 'nope' });
    expect(wrong.failure).toBe('login_failed');
    expect(wrong.message).toMatch(/login failed/);
    const otherKey = (await import('ssh2')).default.utils.generateKeyPairSync('ed25519').private;
    expect((await failure(url, { username: 'ann', privateKey: otherKey })).failure).toBe('login_failed');
  });

  it('says a missing file is missing, and refuses a file over the limit', async () => {
    const missing = await failure(`${sftp.origin}/out/nope.csv`, { username: 'ann', password: 's3cret' });
    expect(missing.failure).toBe('not_found');
    expect(missing.message).toMatch(/no such file/);
    const big = await failure(`${sftp.origin}/out/big.csv`, { username: 'ann', password: 's3cret' });
    expect(big.failure).toBe('too_large');
  });

  it('refuses a server whose host key changed', async () => {
    const err = await failure(
      `${sftp.origin}/out/conversions.csv`,
      { username: 'ann', password: 's3cret' },
      { ...open, hostKey: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' },
    );
    expect(err.failure).toBe('host_key_changed');
  });

  it('refuses a loopback SFTP server by default', async () => {
    const err = await failure(
      `${sftp.origin}/out/conversions.csv`,
      { username: 'ann', password: 's3cret' },
      { ...open, policy: { allowPrivate: false } },
    );
    expect(err.failure).toBe('private_address');
  });
});

describe('FTP and FTPS sources', () => {
  let ftp: FtpServer;
  let ftps: FtpServer;
  let cert: { key: string; cert: string };
  beforeAll(async () => {
    cert = selfSignedCert();
    ftp = await startFtpServer({ user: 'ann', password: 's3cret' });
    ftps = await startFtpServer({ user: 'ann', password: 's3cret', tls: cert });
    for (const server of [ftp, ftps]) {
      server.write('out/conversions.csv', body);
      server.write('out/big.csv', Buffer.alloc(2 * 1024 * 1024, 'a'));
    }
  });
  afterAll(async () => {
    await Promise.all([ftp.close(), ftps.close()]);
  });

  it('downloads over FTP and over FTPS (explicit TLS)', async () => {
    const creds = { username: 'ann', password: 's3cret' };
    const plain = await fetchSource(new URL(`${ftp.origin}/out/conversions.csv`), creds, open);
    expect(plain.bytes.toString()).toBe(body);
    const secure = await fetchSource(new URL(`ftps://localhost:${ftps.port}/out/conversions.csv`), creds, {
      ...open,
      ca: cert.cert,
    });
    expect(secure.bytes.toString()).toBe(body);
  });

  it('says login failed for a wrong password, and names a missing file', async () => {
    const wrong = await failure(`${ftp.origin}/out/conversions.csv`, { username: 'ann', password: 'nope' });
    expect(wrong.failure).toBe('login_failed');
    expect(wrong.message).toMatch(/login failed.*530/);
    const missing = await failure(`${ftp.origin}/out/nope.csv`, { username: 'ann', password: 's3cret' });
    expect(missing.failure).toBe('not_found');
  });

  it('refuses a file over the limit', async () => {
    const big = await failure(`${ftp.origin}/out/big.csv`, { username: 'ann', password: 's3cret' });
    expect(big.failure).toBe('too_large');
  });

  it('refuses a loopback FTP server by default', async () => {
    const err = await failure(
      `${ftp.origin}/out/conversions.csv`,
      { username: 'ann', password: 's3cret' },
      { ...open, policy: { allowPrivate: false } },
    );
    expect(err.failure).toBe('private_address');
  });
});
