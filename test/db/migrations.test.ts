import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { migrationsFolder } from '../../src/db/client.ts';

/*
 * Migrations are append-only. drizzle's migrator applies, in journal order, those created after the
 * last one a database has; it never looks at a migration again. A committed migration that is edited
 * or regenerated (two were, before issue 8) changes nothing in the databases that ran it: they and a
 * new database then have different schemas.
 */

const root = join(import.meta.dirname, '../..');

/**
 * Every committed migration: its journal tag and timestamp, and the SHA-256 of its SQL (what drizzle
 * records in __drizzle_migrations). A new migration adds its line here, once, when it is committed.
 */
const committed: [tag: string, when: number, sha256: string][] = [
  ['0000_init', 1795915287168, '5b66dfe52381617cfc3f1b71cf96438f297a5fc5fa974f1d8392072e4fb6fdf5'],
  ['0001_submission', 1795925419601, '9fd426a8ee825ede46300e6777a8d6374f631a78aa5ecb39c352e672c02cd18b'],
  ['0002_run_at', 1796037131531, 'ebdecdb1b4e95162fe90e8f5527b4a030dc158e3131d30f109fb853658d0acd1'],
  ['0003_adjustment_goal', 1796037132302, 'fce258119c1005fc908f03fe12e7c09c9a08105097e5cdd0fd24b01fae9de976'],
  [
    '0004_metrics_goal_state',
    1796044595897,
    '1564865b39e103da52c70dfbbc9391d8056b86bb466389013191d360b7a9f5d2',
  ],
  [
    '0005_dashboard_sessions',
    1796046855505,
    'f1b55ea3b548de4b61259fddaf92958a77122be2798f3df0f23434b05f1d5543',
  ],
  ['0006_crm_connectors', 1796047440587, '947479affa44b5297624550ef58d42b091acf7f70aeb8eed35a0202939684203'],
  ['0007_schedules', 1796047845307, '17056270f55b2329e3e930507c30147b3d3c3b1b94f8a09753a8fd668346dc52'],
  ['0008_webhooks', 1796048209779, 'd0b1d696cabd9d7f5b7fd4c7d0eb217077e631cd1869997a666f5309fe9c4aec'],
  [
    '0009_ledger_index_state_first',
    1796054759926,
    'f90641cf0ed9b4013c53fddf99e696af3bd0a5aabd2a847b0ea3b99d420bc95b',
  ],
];

interface Journal {
  entries: { idx: number; when: number; tag: string }[];
}

const journal = (folder: string) =>
  JSON.parse(readFileSync(join(folder, 'meta/_journal.json'), 'utf8')) as Journal;
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('migrations', () => {
  it('the committed ones are never edited, renamed or reordered; new ones come after them', () => {
    const { entries } = journal(migrationsFolder);
    const found = entries.map((e) => [e.tag, e.when, sha256(join(migrationsFolder, `${e.tag}.sql`))]);
    for (const [i, pinned] of committed.entries())
      expect(found[i], `migration ${i} must stay ${pinned[0]} as committed`).toEqual(pinned);
    const added = found.slice(committed.length).map(([tag]) => tag);
    expect(
      added,
      'a new migration: add its [tag, when, sha256] to `committed` in test/db/migrations.test.ts',
    ).toEqual([]);
    for (let i = 1; i < entries.length; i++)
      expect(
        entries[i]!.when,
        `${entries[i]!.tag} runs only if created after ${entries[i - 1]!.tag}`,
      ).toBeGreaterThan(entries[i - 1]!.when);
    const sqlFiles = readdirSync(migrationsFolder).filter((f) => f.endsWith('.sql'));
    expect(sqlFiles.sort()).toEqual(entries.map((e) => `${e.tag}.sql`).sort());
  });

  it('the schema has no change the migrations do not hold (drizzle-kit generate makes nothing)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'closeloop-migrations-'));
    try {
      cpSync(migrationsFolder, out, { recursive: true });
      const { stdout, stderr } = await promisify(execFile)(
        join(root, 'node_modules/.bin/drizzle-kit'),
        ['generate'],
        // drizzle-kit takes `out` relative to the project (an absolute one becomes .//tmp/…).
        { cwd: root, env: { ...process.env, DRIZZLE_OUT: relative(root, out) } },
      );
      const before = new Set(readdirSync(migrationsFolder, { recursive: true }).map(String));
      const made = readdirSync(out, { recursive: true })
        .map(String)
        .filter((f) => !before.has(f));
      const said = `${stdout}${stderr}`;
      expect(made, `src/db/schema changed without a migration: run \`npm run db:generate\`\n${said}`).toEqual(
        [],
      );
      expect(journal(out)).toEqual(journal(migrationsFolder));
      // drizzle-kit exits 0 even when it fails (a folder it cannot read): its words are the verdict.
      expect(said).toContain('No schema changes');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});
