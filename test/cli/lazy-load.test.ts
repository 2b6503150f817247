import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/main.ts';

/**
 * Help answers at once because it loads none of the heavy modules: the database drivers, drizzle-orm,
 * exceljs, the HTTP stack. A command module that imports one of them at its top (instead of inside its
 * run) makes its help, and `closeloop help CMD`, slow again; this says which.
 */
const main = join(import.meta.dirname, '../../src/cli/main.ts');
const heavy =
  /\/node_modules\/(drizzle-orm|exceljs|hono|@hono\/node-server|@electric-sql\/pglite|postgres|busboy)\//;

/** The node_modules packages a CLI run loads, by name (and the emulator, by its folder). */
function heavyModulesLoaded(args: string[], env: Record<string, string> = {}): string[] {
  const script = `
    import { registerHooks } from 'node:module';
    const loaded = new Set();
    registerHooks({ load(url, context, next) { loaded.add(url); return next(url, context); } });
    const { main } = await import(${JSON.stringify(main)});
    await main(${JSON.stringify(args)});
    process.stderr.write('\\nLOADED ' + JSON.stringify([...loaded]));`;
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, CLOSELOOP_DATA_DIR: '/nonexistent/closeloop-lazy-load-test', ...env },
  });
  const loaded = JSON.parse(out.stderr.slice(out.stderr.lastIndexOf('\nLOADED ') + 8)) as string[];
  return [
    ...new Set(
      loaded.flatMap(
        (url) => heavy.exec(url)?.[1] ?? (url.includes('/src/msads/emulator/') ? 'emulator' : []),
      ),
    ),
  ];
}

describe('what help loads', () => {
  it('closeloop --help and --version load no heavy module', () => {
    expect(heavyModulesLoaded(['--help'])).toEqual([]);
    expect(heavyModulesLoaded(['--version'])).toEqual([]);
  });

  it.each(commands.map((c) => c.name))('closeloop help %s loads no heavy module', (name) => {
    expect(heavyModulesLoaded(['help', name])).toEqual([]);
  });
});

describe('what a command loads', () => {
  it('goals list loads the database, not exceljs, the HTTP stack or the emulator', () => {
    // No server listens on port 1: the command fails at its first query, after loading what it needs.
    const loaded = heavyModulesLoaded(['goals', 'list'], {
      DATABASE_URL: 'postgres://closeloop@127.0.0.1:1/none',
    });
    expect(loaded).toContain('drizzle-orm');
    expect(loaded).toContain('postgres');
    for (const name of ['exceljs', 'hono', '@hono/node-server', 'busboy', 'emulator'])
      expect(loaded).not.toContain(name);
  });
});
