import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.ts';
import { readOwner } from '../../src/db/owner-lock.ts';
import { createEmulator, type Emulator } from '../../src/msads/emulator/index.ts';
import { writeConversionsCsv } from '../bench/generate.ts';
import { cliTestTimeoutMs } from '../helpers/cli.ts';
import {
  exited,
  freePort,
  killLeftovers,
  runTracked as runCli,
  seededDataFolder,
  spawnCli as startCli,
  startServe,
  waitForOutput,
} from '../helpers/processes.ts';

// PGlite only: these are about several processes sharing one PGlite data folder. One process owns it
// (opens PGlite, serves it on a Unix socket), the others go through it; before, every command opened
// the folder a second time, and what it wrote never reached the running service and was lost after.

let emulator: Emulator;
let emulatorServer: ServerType;
let env: Record<string, string>;
let dataDir: string;
const files = mkdtempSync(join(tmpdir(), 'closeloop-owner-files-'));

beforeAll(async () => {
  emulator = createEmulator();
  emulatorServer = serve({ fetch: emulator.app.fetch, port: 0, hostname: '127.0.0.1' });
  await once(emulatorServer, 'listening');
  const base = `http://127.0.0.1:${(emulatorServer.address() as AddressInfo).port}`;
  dataDir = await seededDataFolder();
  env = {
    CLOSELOOP_DATA_DIR: dataDir,
    MSADS_CUSTOMER_ID: '1234567',
    MSADS_ACCOUNT_ID: '7654321',
    MSADS_DEVELOPER_TOKEN: 'DEV-TOKEN',
    MSADS_CLIENT_ID: 'closeloop-owner-test',
    MSADS_OAUTH_TOKEN_URL: `${base}/common/oauth2/v2.0/token`,
    MSADS_API_BASE_URL: base,
  };
  // The goal of the generated files' rows.
  expect((await runCli(['goals', 'add', '--name', 'Purchase'], env)).code).toBe(0);
});
afterEach(killLeftovers);
afterAll(async () => {
  await new Promise((resolve) => emulatorServer.close(resolve));
});

async function csv(name: string, rows: number): Promise<string> {
  const path = join(files, name);
  await writeConversionsCsv(path, rows, new Date(Date.now() - 86_400_000));
  return path;
}

async function createKey(name: string): Promise<{ key: string; id: string }> {
  const created = await runCli(['keys', 'create', '--name', name], env);
  expect(created.stderr).toContain('shown only now');
  expect(created.code).toBe(0);
  return { key: created.stdout.trim(), id: /\(([0-9a-f-]{36})\)/.exec(created.stderr)![1]! };
}

/** `closeloop auth login`, pasting the URL the emulator's consent redirects to. */
async function authLogin(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = startCli(['auth', 'login'], env);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const closed = once(child, 'close');
  const consentUrl = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      stdout += d;
      const line = /^(https?:\/\/\S+)$/m.exec(stdout);
      if (line) resolve(line[1]!);
    });
    child.on('close', () => reject(new Error(`no consent URL; stderr: ${stderr}`)));
  });
  const consent = await fetch(consentUrl, { redirect: 'manual' });
  child.stdin!.end(`${consent.headers.get('location')}\n`);
  const [code] = await closed;
  return { code: code as number | null, stdout, stderr };
}

describe('commands while closeloop serve runs', { timeout: cliTestTimeoutMs }, () => {
  it('keys, goals, import and auth login go through the service: it sees each write at once, and the writes outlive it', async () => {
    const service = await startServe(env);
    try {
      expect(readOwner(dataDir)).toMatchObject({
        pid: service.child.pid,
        command: 'closeloop serve',
        role: 'service',
      });
      const { key, id } = await createKey('shell');
      expect((await service.api('/goals', key)).status).toBe(200);

      const goal = await runCli(['goals', 'add', '--name', 'Signup'], env);
      expect(goal.code).toBe(0);
      const { goals } = (await service.api('/goals', key)).body as { goals: { name: string }[] };
      expect(goals).toContainEqual(expect.objectContaining({ name: 'Signup' }));

      const imported = await runCli(['import', await csv('shell.csv', 20)], env);
      expect(imported.code).toBe(0);
      const uploadId = /Upload ([0-9a-f-]{36})/.exec(imported.stdout)![1];
      const { body } = await service.api('/uploads', key);
      expect((body as { uploads: { id: string; status: string }[] }).uploads).toContainEqual(
        expect.objectContaining({ id: uploadId, status: 'applied' }),
      );

      const login = await authLogin();
      expect(login.stderr).not.toContain('Error');
      expect(login.code).toBe(0);
      const accounts = (await service.api('/accounts', key)).body as { accounts: Record<string, unknown>[] };
      expect(accounts.accounts.find((a) => a.msAccountId === '7654321')).toMatchObject({
        hasRefreshToken: true,
        authStatus: 'ok',
      });

      const revoked = await runCli(['keys', 'revoke', id], env);
      expect(revoked.code).toBe(0);
      expect((await service.api('/goals', key)).status).toBe(401);
    } finally {
      service.child.kill('SIGTERM');
      expect(await exited(service.child)).toBe(0);
    }
    expect(readOwner(dataDir)).toBeUndefined();
    // With the service stopped, a command owns the folder itself and finds every write made through it.
    const keys = await runCli(['keys', 'list'], env);
    expect(keys.stdout).toMatch(/ shell +created \S+ +revoked /);
    const goals = await runCli(['goals', 'list', '--json'], env);
    expect(JSON.parse(goals.stdout)).toContainEqual(expect.objectContaining({ name: 'Signup' }));
  }, 180_000);

  it('a command killed (-9) inside its apply transaction leaves none of the upload, and the service goes on', async () => {
    const service = await startServe(env);
    const preview = await runCli(['import', await csv('apply-kill.csv', 30_000), '--preview'], env);
    const uploadId = /Upload ([0-9a-f-]{36})/.exec(preview.stdout)![1]!;
    const apply = startCli(['apply', uploadId, '--progress'], env);
    await waitForOutput(apply, /Applying upload/);
    // The apply holds the database while its transaction runs, so /health (a query) waits: that is
    // when the kill lands inside the transaction.
    await waitUntil(async () => !(await answersWithin(`${service.url}/health`, 250)), 20_000);
    apply.kill('SIGKILL');
    expect(await exited(apply)).toBe(null);
    await waitUntil(() => answersWithin(`${service.url}/health`, 250), 5_000);
    // A write acknowledged after the kill is committed on its own — not inside what is left of the
    // killed transaction — so even a kill -9 of the service right after keeps it.
    const { key } = await createKey('after-apply-kill');
    service.child.kill('SIGKILL');
    await exited(service.child);
    const keys = await runCli(['keys', 'list'], env);
    expect(keys.stdout).toContain(`${key.slice(0, 10)}…  after-apply-kill`);
    // And none of the killed apply is in the ledger: applying it again puts in all of it.
    const again = await runCli(['apply', uploadId], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('30000 held');
  }, 240_000);

  it('kill -9 of the service: the next command owns the folder at once and finds every committed write', async () => {
    const service = await startServe(env);
    const { key } = await createKey('before-kill');
    service.child.kill('SIGKILL');
    await exited(service.child);
    const keys = await runCli(['keys', 'list'], env);
    // No wait for the dead owner (that would say "Waiting for closeloop serve…" on stderr): the kernel
    // freed its lock with it.
    expect(keys.stderr).toBe('');
    expect(keys.code).toBe(0);
    expect(keys.stdout).toContain(`${key.slice(0, 10)}…  before-kill`);
    const next = await startServe(env);
    try {
      expect((await next.api('/goals', key)).status).toBe(200);
    } finally {
      next.child.kill('SIGTERM');
      expect(await exited(next.child)).toBe(0);
    }
  }, 180_000);

  it('refuses a second service on the folder, naming the first', async () => {
    const service = await startServe(env);
    try {
      const second = await runCli(['serve'], { ...env, PORT: String(await freePort()) });
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(`closeloop serve (pid ${service.child.pid}, started`);
      expect(second.stderr).toContain('already serves the data folder');
    } finally {
      service.child.kill('SIGTERM');
      await exited(service.child);
    }
  }, 120_000);

  it('names an owner that does not answer (stopped) instead of waiting for ever', async () => {
    const service = await startServe(env);
    service.child.kill('SIGSTOP');
    try {
      await expect(
        openDatabase({ kind: 'pglite', dataDir, sharing: { ownerTimeoutMs: 1_500 } }),
      ).rejects.toThrow(
        new RegExp(
          `belongs to closeloop serve \\(pid ${service.child.pid}, .*does not answer.*kill ${service.child.pid}`,
        ),
      );
    } finally {
      service.child.kill('SIGCONT');
      service.child.kill('SIGTERM');
      await exited(service.child);
    }
  }, 120_000);
});

describe('commands without the service', { timeout: cliTestTimeoutMs }, () => {
  it('a second command goes through the first; the service waits for a command that owns the folder', async () => {
    // 100,000 rows: long enough (seconds) for a key and a service start to happen while it runs.
    const importing = startCli(['import', await csv('long.csv', 100_000), '--progress'], env);
    await waitForOutput(importing, / rows, /);
    expect(readOwner(dataDir)).toMatchObject({
      pid: importing.pid,
      command: 'closeloop import',
      role: 'command',
    });
    const { key } = await createKey('beside-import');

    const service = startCli(['serve'], { ...env, PORT: String(await freePort()), LOG_LEVEL: 'info' });
    const waiting = await waitForOutput(service, /waiting for it to finish/);
    expect(waiting).toContain(`closeloop import (pid ${importing.pid}, started`);
    expect(await exited(importing)).toBe(0);
    const log = await waitForOutput(service, /closeloop is listening/);
    const port = /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(log)![1];
    try {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/uploads`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(res.status).toBe(200);
      const { uploads } = (await res.json()) as { uploads: { filename: string; status: string }[] };
      expect(uploads).toContainEqual(expect.objectContaining({ filename: 'long.csv', status: 'applied' }));
    } finally {
      service.kill('SIGTERM');
      expect(await exited(service)).toBe(0);
    }
  }, 240_000);

  it('an owner that is done waits for the commands connected through it before it closes', async () => {
    // This process owns the folder, as a command would; an import goes through it.
    const notes: string[] = [];
    const database = await openDatabase({
      kind: 'pglite',
      dataDir,
      sharing: { label: 'closeloop test-owner', notify: (m) => notes.push(m) },
    });
    const importing = startCli(['import', await csv('through.csv', 30_000), '--progress'], env);
    const done = waitForOutput(importing, /Imported 30,000 rows/);
    await waitForOutput(importing, / rows, /);
    await database.close();
    // The import was not cut off: all of it went in.
    await done;
    expect(await exited(importing)).toBe(0);
    expect(notes).toEqual([
      `Waiting for closeloop import (pid ${importing.pid}), connected to the database through this process, to finish.`,
    ]);
  }, 240_000);

  it('kill -9 of a command that owns the folder: the service starts at once and finds what was committed', async () => {
    const importing = startCli(['import', await csv('killed.csv', 60_000), '--progress'], env);
    await waitForOutput(importing, / rows, /);
    const { key } = await createKey('beside-killed');
    importing.kill('SIGKILL');
    await exited(importing);
    const service = await startServe(env);
    try {
      expect(service.log()).not.toContain('waiting');
      expect((await service.api('/goals', key)).status).toBe(200);
    } finally {
      service.child.kill('SIGTERM');
      expect(await exited(service.child)).toBe(0);
    }
  }, 240_000);
});

async function answersWithin(url: string, ms: number): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(ms) });
    return res.ok;
  } catch {
    return false;
  }
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
