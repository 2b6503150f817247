import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { holdLockFile, ownerInfoFile, tryOwn } from '../../src/db/owner-lock.ts';

const ownerLock = join(import.meta.dirname, '../../src/db/owner-lock.ts');

function folder(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'closeloop-lock-')), 'data');
  mkdirSync(dir);
  return dir;
}

const holders = new Set<ChildProcess>();
afterEach(() => {
  for (const child of holders) child.kill('SIGKILL');
  holders.clear();
});

/** Another process that takes the lock (`how`) on `target` and keeps it until killed. */
async function holder(how: 'tryOwn' | 'holdLockFile', target: string): Promise<ChildProcess> {
  const script = `import { ${how} } from ${JSON.stringify(ownerLock)};
const held = await ${how}(${JSON.stringify(target)});
console.log(held ? 'held' : 'busy');
setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'pipe' });
  holders.add(child);
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  expect(line.toString().trim()).toBe('held');
  return child;
}

async function kill9(child: ChildProcess): Promise<void> {
  child.kill('SIGKILL');
  if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
}

describe('the ownership lock of a data folder', () => {
  it('is held by one process at a time, and a kill -9 frees it', async () => {
    const dir = folder();
    const other = await holder('tryOwn', dir);
    expect(await tryOwn(dir)).toBeUndefined();
    await kill9(other);
    const mine = await tryOwn(dir);
    expect(mine).toBeDefined();
    // Held in this process too: a second take fails until it is released.
    expect(await tryOwn(dir)).toBeUndefined();
    await mine!.release();
    const again = await tryOwn(dir);
    expect(again).toBeDefined();
    await again!.release();
  });

  it('is not taken from a recorded owner that still answers on its socket (another container)', async () => {
    const dir = folder();
    const socket = join(dir, 'closeloop.sock');
    const server = createServer((s) => s.destroy()).listen(socket);
    await once(server, 'listening');
    // pid 1 is not us; the abstract lock of that owner lives in another network namespace.
    writeFileSync(
      ownerInfoFile(dir),
      JSON.stringify({ pid: 1, command: 'closeloop serve', role: 'service', startedAt: '', socket }),
    );
    try {
      expect(await tryOwn(dir)).toBeUndefined();
    } finally {
      server.close();
    }
    // Once it stops answering, the record is stale.
    const mine = await tryOwn(dir);
    expect(mine).toBeDefined();
    await mine!.release();
  });

  it('where there are no abstract sockets: a lock file, freed when its process is gone', async () => {
    const file = join(folder(), 'closeloop-owner.lock');
    const other = await holder('holdLockFile', file);
    expect(holdLockFile(file)).toBeUndefined();
    await kill9(other);
    const mine = holdLockFile(file);
    expect(mine).toBeDefined();
    expect(holdLockFile(file)).toBeUndefined();
    mine!.release();
    expect(holdLockFile(file)).toBeDefined();
  });
});
