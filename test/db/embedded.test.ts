import { lstatSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.ts';
import { readOwner } from '../../src/db/owner-lock.ts';
import { ensurePgliteTemplate } from '../helpers/pglite-template.ts';

async function ownerAndClient(dataDir: string) {
  const owner = await openDatabase({
    kind: 'pglite',
    dataDir,
    loadDataDir: new Blob([readFileSync(await ensurePgliteTemplate())]),
    sharing: { label: 'closeloop owner-test' },
  });
  // A second open in this same process finds the folder owned (the lock is this process's) and goes
  // through the owner's socket, as another process would.
  const client = await openDatabase({ kind: 'pglite', dataDir, sharing: { label: 'closeloop client-test' } });
  return { owner, client };
}

describe('opening a PGlite data folder that is owned', () => {
  it('goes through the owner, whose socket is in the folder, owner-only', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'closeloop-emb-')), 'data');
    const { owner, client } = await ownerAndClient(dataDir);
    try {
      expect(owner.owner).toBeUndefined();
      expect(client).toMatchObject({
        kind: 'pglite',
        owner: { pid: process.pid, command: 'closeloop owner-test' },
      });
      const info = readOwner(dataDir)!;
      expect(info.socket).toBe(join(dataDir, 'closeloop.sock'));
      expect(lstatSync(info.socket).mode & 0o777).toBe(0o600);
      await client.query(sql`insert into api_keys (name, prefix, hash) values ('via', 'cl_via', 'h')`);
      const [row] = await owner.query<{ n: number }>(
        sql`select count(*)::int as n from api_keys where name = 'via'`,
      );
      expect(row!.n).toBe(1);
    } finally {
      await client.close();
      await owner.close();
    }
    expect(readOwner(dataDir)).toBeUndefined();
  });

  it('serves a folder whose path is too long for a socket address from a private temporary folder', async () => {
    const deep = join(mkdtempSync(join(tmpdir(), 'closeloop-emb-')), 'a'.repeat(60), 'b'.repeat(60));
    mkdirSync(deep, { recursive: true });
    const dataDir = join(deep, 'data');
    const { owner, client } = await ownerAndClient(dataDir);
    const { socket } = readOwner(dataDir)!;
    try {
      expect(socket.startsWith(tmpdir())).toBe(true);
      expect(lstatSync(dirname(socket)).mode & 0o777).toBe(0o700);
      const [row] = await client.query<{ ok: number }>(sql`select 1 as ok`);
      expect(row!.ok).toBe(1);
    } finally {
      await client.close();
      await owner.close();
    }
    expect(() => lstatSync(dirname(socket))).toThrow(/ENOENT/);
  });
});
