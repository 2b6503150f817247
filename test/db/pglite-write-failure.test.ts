import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.ts';
import { createApiKey } from '../../src/services/api-keys.ts';
import { createGoal } from '../../src/services/goals.ts';
import { testContext } from '../helpers/context.ts';
import { startServe } from '../helpers/serve.ts';

/**
 * PGlite when a write fails, for real: `closeloop serve` runs under a file size limit (RLIMIT_FSIZE,
 * set with prlimit) a few MB past the end of its write-ahead log, so an upload makes PostgreSQL's WAL
 * write fail with EFBIG and PANIC — what a full disk does (ENOSPC on a 48 MB tmpfs gives the same
 * PANIC, reproduced by hand). Before the guard, the next statement spun at 98% CPU for ever: no
 * answer, SIGTERM ignored. Now: 503, /health answers, and after the limit is lifted ("space freed")
 * the database is reopened, recovered, and takes uploads again.
 */
const mib = 1024 * 1024;

function csv(rows: number, salt: string): string {
  const at = new Date(Date.now() - 86_400_000).toISOString().slice(0, 19);
  const lines = ['Microsoft Click Id,Conversion Name,Conversion Time'];
  for (let i = 0; i < rows; i++) lines.push(`${salt}${i.toString(16).padStart(31, '0')},Purchase,${at}`);
  return lines.join('\n');
}

/**
 * A POST on a connection of its own: an upload answered before its body was read (here: 503 in the
 * middle of the file) closes its connection, which fetch would reuse for the next request.
 */
function post(url: string, key: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'text/csv',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        answered = true;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    req.end(body);
  });
}

describe('the embedded database after a failed write', () => {
  it('fails the request, stays responsive, and recovers when the data folder can be written again', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'closeloop-fsize-'));
    const database = await openDatabase({ kind: 'pglite', dataDir });
    const ctx = testContext(database, () => new Date());
    await createGoal({ ctx, input: { name: 'Purchase' } });
    const { key } = await createApiKey({ ctx, name: 'test' });
    // Where the write-ahead log ends within its 16 MB segment: the limit goes 4 MB further.
    const [wal] = await database.query<{ lsn: string }>(sql`select pg_current_wal_lsn()::text as lsn`);
    await database.close();
    const offset = Number.parseInt(wal!.lsn.split('/')[1]!, 16) % (16 * mib);
    const limit = offset + 4 * mib;
    const serve = await startServe({ CLOSELOOP_DATA_DIR: dataDir, CLOSELOOP_SECRET_KEY: 'b'.repeat(64) }, [
      'prlimit',
      `--fsize=${limit}:unlimited`,
      '--',
    ]);
    const headers = { authorization: `Bearer ${key}` };
    const upload = (body: string) => post(`${serve.base}/api/v1/uploads?filename=a.csv`, key, body);
    const health = () => fetch(`${serve.base}/health`, { signal: AbortSignal.timeout(5000) });
    try {
      // 30,000 rows write well over 4 MB of WAL.
      const failed = await upload(csv(30_000, 'a'));
      expect(failed.status).toBe(503);
      const problem = JSON.parse(failed.body) as { title: string; detail: string };
      expect(problem.title).toBe('database_unavailable');
      expect(problem.detail).toMatch(/File too large|DATABASE_STOPPED/);

      // It answers (before the guard this request never got an answer), and says why.
      const down = await health();
      expect(down.status).toBe(503);
      expect(((await down.json()) as { detail: string }).detail).toMatch(/stopped after a failed write/);
      expect((await fetch(`${serve.base}/api/v1/goals`, { headers })).status).toBe(503);

      // While the folder still cannot take a WAL segment, the guard waits instead of trying to open it
      // (each failed open keeps ~170 MB): it probes the folder first.
      for (let i = 0; i < 100 && !serve.log().includes('waits for its data folder'); i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(serve.log()).toMatch(/"msg":"the embedded database waits for its data folder".*EFBIG/);
      expect(serve.log()).not.toMatch(/reopening the embedded database failed/);

      // "Space is freed": the limit is lifted; the guard notices and reopens the folder.
      execFileSync('prlimit', ['--pid', String(serve.child.pid), '--fsize=unlimited:unlimited']);
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        status = (await health()).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 200));
      }
      expect(status).toBe(200);

      const again = await upload(csv(1000, 'b'));
      expect(again.status).toBe(201);
      const { id } = JSON.parse(again.body) as { id: string };
      const applied = await fetch(`${serve.base}/api/v1/uploads/${id}/apply`, { method: 'POST', headers });
      expect(applied.status).toBe(200);
      // Queued, or held for the moment until the dry run's goal exists at the emulator: all of it either way.
      const { counts } = (await applied.json()) as { counts: Record<string, number> };
      expect((counts.queued ?? 0) + (counts.held ?? 0)).toBe(1000);

      const log = serve.log();
      expect(log).toMatch(/"msg":"the embedded database stopped after a failed write/);
      expect(log).toMatch(/"msg":"the embedded database was reopened/);
      for (const line of log.trim().split('\n')) expect(line.length).toBeLessThan(8000);
    } finally {
      // SIGTERM is heard (a spinning engine never let the handler run): a clean exit within 10 s.
      serve.child.kill('SIGTERM');
      const code = await Promise.race([
        serve.exited,
        new Promise((r) => setTimeout(() => r('no exit'), 10_000)),
      ]);
      if (code === 'no exit') serve.child.kill('SIGKILL');
      expect(code, serve.log()).toBe(0);
    }
  }, 120_000);
});
