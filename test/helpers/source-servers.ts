import { execFileSync } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FtpSrv } from 'ftp-srv';
import ssh2 from 'ssh2';
import { freePort } from './processes.ts';

/**
 * Real servers on loopback for the scheduled sources, driven by the real clients (node's http and
 * https, ssh2-sftp-client, basic-ftp): HTTP(S) with a handler of the test's own, an SFTP server built on
 * ssh2's server API, and an FTP(S) server (ftp-srv) over a folder.
 */

/** A self-signed certificate for localhost and 127.0.0.1, made with openssl (valid one day). */
export function selfSignedCert(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'closeloop-cert-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return {
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface TestServer {
  /** e.g. http://127.0.0.1:40123 */
  origin: string;
  port: number;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** An HTTP server (or HTTPS with `tls`) on `host` (127.0.0.1 unless given) answering with `handler`. */
export async function startHttpServer(
  handler: Handler,
  options: { tls?: { key: string; cert: string }; host?: string } = {},
): Promise<TestServer> {
  const server = options.tls ? createHttpsServer(options.tls, handler) : createHttpServer(handler);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Whether a request carries basic authentication for `user` and `password`. */
export function hasBasicAuth(req: IncomingMessage, user: string, password: string): boolean {
  const expected = Buffer.from(`Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`);
  const given = Buffer.from(req.headers.authorization ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export interface SftpServer extends TestServer {
  /** The files served, by absolute path; tests change them between runs. */
  files: Map<string, Buffer>;
  /** The client key the server accepts (OpenSSH private key text for the client). */
  clientPrivateKey: string;
}

/**
 * An SFTP server on 127.0.0.1 (ssh2's server API): user `user` with `password`, or the generated client
 * key; files from `files` (read-only).
 */
export async function startSftpServer(options: { user: string; password: string }): Promise<SftpServer> {
  const { utils, Server } = ssh2;
  const hostKey = utils.generateKeyPairSync('ed25519');
  const clientKey = utils.generateKeyPairSync('ed25519');
  const allowedKey = utils.parseKey(clientKey.public);
  if (allowedKey instanceof Error) throw allowedKey;
  const files = new Map<string, Buffer>();
  const { STATUS_CODE } = utils.sftp;
  const server = new Server({ hostKeys: [hostKey.private] }, (client) => {
    client.on('authentication', (ctx) => {
      if (ctx.username !== options.user) return ctx.reject();
      if (ctx.method === 'password' && ctx.password === options.password) return ctx.accept();
      if (
        ctx.method === 'publickey' &&
        ctx.key.algo === allowedKey.type &&
        ctx.key.data.equals(allowedKey.getPublicSSH())
      ) {
        if (!ctx.signature) return ctx.accept();
        if (allowedKey.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) === true) return ctx.accept();
      }
      return ctx.reject(['password', 'publickey']);
    });
    client.on('error', () => {});
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('sftp', (acceptSftp) => {
          const sftp = acceptSftp();
          const handles = new Map<number, Buffer>();
          let nextHandle = 1;
          const attrs = (size: number) => ({ mode: 0o100644, uid: 0, gid: 0, size, atime: 0, mtime: 0 });
          sftp.on('OPEN', (id, filename) => {
            const content = files.get(filename);
            if (!content) return sftp.status(id, STATUS_CODE.NO_SUCH_FILE);
            const handle = Buffer.alloc(4);
            handle.writeUInt32BE(nextHandle);
            handles.set(nextHandle++, content);
            sftp.handle(id, handle);
          });
          sftp.on('READ', (id, handle, offset, length) => {
            const content = handles.get(handle.readUInt32BE(0));
            if (!content) return sftp.status(id, STATUS_CODE.FAILURE);
            if (offset >= content.length) return sftp.status(id, STATUS_CODE.EOF);
            sftp.data(id, content.subarray(offset, offset + length));
          });
          sftp.on('FSTAT', (id, handle) => {
            const content = handles.get(handle.readUInt32BE(0));
            if (!content) return sftp.status(id, STATUS_CODE.FAILURE);
            sftp.attrs(id, attrs(content.length));
          });
          const stat = (id: number, path: string) => {
            const content = files.get(path);
            if (!content) return sftp.status(id, STATUS_CODE.NO_SUCH_FILE);
            sftp.attrs(id, attrs(content.length));
          };
          sftp.on('STAT', stat);
          sftp.on('LSTAT', stat);
          sftp.on('REALPATH', (id, path) =>
            sftp.name(id, [{ filename: path, longname: path, attrs: attrs(0) }]),
          );
          sftp.on('CLOSE', (id, handle) => {
            handles.delete(handle.readUInt32BE(0));
            sftp.status(id, STATUS_CODE.OK);
          });
        });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `sftp://127.0.0.1:${port}`,
    port,
    files,
    clientPrivateKey: clientKey.private,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface FtpServer extends TestServer {
  /** The folder served; write files into it. */
  root: string;
  write(path: string, content: string | Buffer): void;
}

/** An FTP server (ftp-srv) on 127.0.0.1 over a temporary folder; FTPS (explicit TLS) with `tls`. */
export async function startFtpServer(options: {
  user: string;
  password: string;
  tls?: { key: string; cert: string };
}): Promise<FtpServer> {
  const root = mkdtempSync(join(tmpdir(), 'closeloop-ftp-'));
  const port = await freePort();
  const silent = {
    trace() {},
    debug() {},
    info() {},
    warn() {},
    error() {},
    fatal() {},
    child: () => silent,
  };
  const server = new FtpSrv({
    url: `ftp://127.0.0.1:${port}`,
    pasv_url: '127.0.0.1',
    pasv_min: 40_000,
    pasv_max: 60_000,
    anonymous: false,
    greeting: 'closeloop test server',
    log: silent,
    ...(options.tls ? { tls: options.tls } : {}),
  });
  server.on('login', ({ username, password }, resolve, reject) => {
    if (username === options.user && password === options.password) resolve({ root });
    else reject(new Error('Bad user name or password'));
  });
  server.on('client-error', () => {});
  await server.listen();
  return {
    origin: `${options.tls ? 'ftps' : 'ftp'}://127.0.0.1:${port}`,
    port,
    root,
    write(path, content) {
      const full = join(root, path);
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, content);
    },
    close: async () => {
      await server.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
