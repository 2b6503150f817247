import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { isPatched } from '../../patches/postgres.mjs';
import { freePort } from '../helpers/serve.ts';

/*
 * The package as a user gets it: `npm pack` (prepack builds dist/), the tarball installed into an empty
 * folder with npm (dependencies from the local npm cache where it has them, else the registry), then the
 * installed `closeloop` run from another empty folder, on the Node that runs the tests (>= 22.18).
 * Nothing of the checkout is on the way: no devDependencies, no TypeScript sources.
 * Took 68–116 s on the shared 2-core machine under load (load average ~20): the pack (tsc emit without
 * type checks, ~7 s alone, and the snippet build) and npm install (~20–40 s) take most of it.
 */
const root = join(import.meta.dirname, '../..');
const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'closeloop-pack-'));
// Thousands of files: removing them took over a minute on the loaded test machine.
afterAll(() => rm(work, { recursive: true, force: true }), 300_000);

/** The environment of a user's shell: the test Node first on PATH, nothing of npm's run or of closeloop. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) =>
        !k.startsWith('npm_') && !k.startsWith('CLOSELOOP_') && !['DATABASE_URL', 'PORT', 'HOST'].includes(k),
    ),
  );
  return { ...env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH}`, ...extra };
}

/**
 * The packages (bare specifiers) the compiled files import: static imports and re-exports (tsc writes
 * them at the start of a line, ending with ";") and dynamic imports of a literal outside comments.
 */
function importedPackages(folder: string, found = new Set<string>()): Set<string> {
  const statics = /^(?:import|export)\b[^;(]*?\bfrom\s*['"]([^'"]+)['"]|^import\s*['"]([^'"]+)['"]/gm;
  const dynamic = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const name of readdirSync(folder)) {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) importedPackages(path, found);
    else if (name.endsWith('.js')) {
      const text = readFileSync(path, 'utf8');
      const specs = [...text.matchAll(statics)].map((m) => (m[1] ?? m[2]) as string);
      for (const line of text.split('\n'))
        if (!/^\s*(\/\/|\/\*|\*)/.test(line))
          specs.push(...[...line.matchAll(dynamic)].map((m) => m[1] as string));
      for (const spec of specs.filter((s) => !s.startsWith('.') && !s.startsWith('/')))
        found.add(
          spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string),
        );
    }
  }
  return found;
}

describe('the npm package', () => {
  it('installs from its tarball into an empty folder and runs from any directory', {
    timeout: 180_000,
  }, async () => {
    const started = Date.now();
    const { stdout: packed } = await run('npm', ['pack', '--json', '--pack-destination', work], {
      cwd: root,
      env: userEnv(),
      maxBuffer: 64 * 1024 * 1024,
    });
    const [info] = JSON.parse(packed.slice(packed.indexOf('['))) as {
      filename: string;
      files: { path: string }[];
    }[];
    const files = info!.files.map((f) => f.path);
    expect(files).toContain('bin/closeloop.mjs');
    expect(files).toContain('dist/src/cli/main.js');
    expect(files).toContain('dist/src/db/migrations/0000_init.sql');
    expect(files).toContain('dist/src/db/migrations/meta/_journal.json');
    expect(files).toContain('dist/web-snippet/dist/closeloop.js');
    expect(files).toContain('patches/postgres.mjs');
    expect(files).toContain('docs/deploy/closeloop.service');
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.mts'))).toEqual([]);
    expect(files.filter((f) => /\.test\.|(^|\/)test\//.test(f))).toEqual([]);

    // What dist/ imports at run time: Node's own modules and the dependencies, never a devDependency.
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    const allowed = new Set([...Object.keys(pkg.dependencies), ...builtinModules]);
    const imported = [...importedPackages(join(root, 'dist'))].filter((p) => !p.startsWith('node:'));
    expect(imported.filter((p) => !allowed.has(p))).toEqual([]);
    expect(imported).toContain('drizzle-orm');

    const app = join(work, 'app');
    mkdirSync(app);
    await run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--omit=dev', join(work, info!.filename)],
      { cwd: app, env: userEnv(), maxBuffer: 64 * 1024 * 1024 },
    );
    const installed = join(app, 'node_modules');
    // The postinstall repaired the postgres.js npm installed beside closeloop.
    expect(isPatched(readFileSync(join(installed, 'postgres/src/connection.js'), 'utf8'))).toBe(true);
    for (const dev of ['typescript', 'tsx', 'vitest', 'drizzle-kit', 'playwright-core', 'esbuild'])
      expect(() => statSync(join(installed, dev)), dev).toThrow();

    const bin = join(installed, '.bin', 'closeloop');
    const elsewhere = join(work, 'elsewhere');
    mkdirSync(elsewhere);
    const help = await run(bin, ['--help'], { cwd: elsewhere, env: userEnv() });
    expect(help.stdout).toContain('Usage: closeloop COMMAND');
    expect((await run(bin, ['--version'], { cwd: elsewhere, env: userEnv() })).stdout.trim()).toBe(
      `closeloop ${pkg.version}`,
    );

    const port = await freePort();
    const dataDir = join(work, 'data');
    const { spawn } = await import('node:child_process');
    const serve = spawn(bin, ['serve'], {
      cwd: elsewhere,
      env: userEnv({ CLOSELOOP_DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    serve.stderr.on('data', (d) => {
      log += d;
    });
    const exited = new Promise<number | null>((resolve) => serve.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 60_000;
      while (!log.includes('closeloop is listening')) {
        if (serve.exitCode !== null || Date.now() > deadline) throw new Error(`serve did not start:\n${log}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(log).toContain(dataDir);
      expect(log).toContain('from CLOSELOOP_DATA_DIR');
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      expect(health.status).toBe(200);
      const snippet = await fetch(`http://127.0.0.1:${port}/snippet.js`);
      expect(snippet.status).toBe(200);
      // Files found relative to the compiled code: package.json (the version), swagger-ui-dist.
      const openapi = await fetch(`http://127.0.0.1:${port}/api/v1/openapi.json`);
      expect(((await openapi.json()) as { info: { version: string } }).info.version).toBe(pkg.version);
      expect((await fetch(`http://127.0.0.1:${port}/docs`)).status).toBe(200);
    } finally {
      serve.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    console.log(`npm pack, install and serve: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
});
