import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePgliteTemplate } from './pglite-template.ts';

const testDir = join(import.meta.dirname, '..');

/**
 * Without TEST_DATABASE_URL the postgres project does not run (vitest.config.ts): every *.db.test.ts
 * runs on PGlite only and no *.pg.test.ts runs at all. A run that leaves tests out says so, by name,
 * under the summary, so that a green run is never mistaken for a full one.
 */
function leftOut(): string | undefined {
  if (process.env.TEST_DATABASE_URL) return undefined;
  const files = readdirSync(testDir, { recursive: true }).map(String);
  const pg = files.filter((f) => f.endsWith('.pg.test.ts')).sort();
  const db = files.filter((f) => f.endsWith('.db.test.ts'));
  return [
    `Left out: TEST_DATABASE_URL is not set, so the postgres project did not run — the ${db.length} *.db.test.ts files run on PGlite only, and these ${pg.length} *.pg.test.ts files not at all:`,
    ...pg.map((f) => `  test/${f}`),
    'Set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run them (CI does: .ci/run).',
  ].join('\n');
}

export default async function setup(): Promise<() => void> {
  await ensurePgliteTemplate();
  const note = leftOut();
  // Printed at teardown: vitest shows it under the run's summary, where it is read.
  return () => {
    if (note) console.warn(`\n${note}\n`);
  };
}
