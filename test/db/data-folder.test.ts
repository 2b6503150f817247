import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.ts';
import { ensurePgliteTemplate } from '../helpers/pglite-template.ts';

/** Every path under `dir` (and itself) that group or others may read, write or enter, with its mode. */
function looseModes(dir: string): string[] {
  const loose: string[] = [];
  const check = (path: string) => {
    const mode = lstatSync(path).mode & 0o777;
    if (mode & 0o077) loose.push(`${path} ${mode.toString(8)}`);
  };
  check(dir);
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true }))
    check(join(entry.parentPath, entry.name));
  return loose;
}

/** Open (a new folder: loaded from the migrated template) and close; the loose modes while it was open. */
async function openAndClose(dataDir: string, isNew = true) {
  const template = await ensurePgliteTemplate();
  const database = await openDatabase({
    kind: 'pglite',
    dataDir,
    ...(isNew ? { loadDataDir: new Blob([readFileSync(template)]) } : {}),
  });
  const whileOpen = looseModes(dataDir);
  await database.close();
  return whileOpen;
}

describe('the PGlite data folder', () => {
  it('is created owner-only, and so is everything PGlite writes in it', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'closeloop-modes-')), 'data');
    const whileOpen = await openAndClose(dataDir);
    expect(whileOpen).toEqual([]);
    expect(looseModes(dataDir)).toEqual([]);
    expect(lstatSync(dataDir).mode & 0o777).toBe(0o700);
    expect(readdirSync(dataDir)).toContain('PG_VERSION');
  });

  it('is tightened when a release that left it world-readable opens it', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'closeloop-modes-')), 'data');
    await openAndClose(dataDir);
    chmodSync(dataDir, 0o755);
    chmodSync(join(dataDir, 'PG_VERSION'), 0o666);
    mkdirSync(join(dataDir, 'old'), { mode: 0o777 });
    chmodSync(join(dataDir, 'old'), 0o777);
    expect(looseModes(dataDir)).toHaveLength(3);
    expect(await openAndClose(dataDir, false)).toEqual([]);
  });
});
