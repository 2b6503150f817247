import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isPatched, patchConnectionSource, patchedVersion } from '../../patches/postgres.mjs';

// The behaviour is tested on a real PostgreSQL (postgres-connection-loss.pg.test.ts); this says, without
// one, whether `npm install` applied the repair, and that it refuses code it does not know.
const root = join(import.meta.dirname, '../../node_modules/postgres');

describe('the postgres.js repair (patches/postgres.mjs)', () => {
  it('is applied to both Node builds of the installed postgres', () => {
    expect(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version).toBe(patchedVersion);
    for (const build of ['src/connection.js', 'cjs/src/connection.js'])
      expect(isPatched(readFileSync(join(root, build), 'utf8')), `${build}: run npm install`).toBe(true);
  });

  it('leaves patched code as it is and refuses code it does not know', () => {
    const patched = readFileSync(join(root, 'src/connection.js'), 'utf8');
    expect(patchConnectionSource(patched, 'x.js')).toBe(patched);
    expect(() => patchConnectionSource('function execute(q) {}', 'x.js')).toThrow(
      /Is postgres still 3\.4\.9/,
    );
  });
});
