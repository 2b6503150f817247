import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/main.ts';
import { testApp } from '../helpers/app.ts';
import { createTestDatabase } from '../helpers/db.ts';

/*
 * The Dockerfile is not built here (no container daemon where the tests run); this checks what can be
 * checked without one. The systemd unit is checked by systemd's own verifier.
 */
const root = join(import.meta.dirname, '../..');
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const unit = readFileSync(join(root, 'docs/deploy/closeloop.service'), 'utf8');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
const instructions = dockerfile
  .replace(/\\\n\s*/g, ' ')
  .split('\n')
  .filter((l) => l.trim() && !l.trim().startsWith('#'))
  .map((l) => {
    const [word = '', ...rest] = l.trim().split(/\s+/);
    return { word: word.toUpperCase(), args: rest.join(' ') };
  });
const dockerignore = readFileSync(join(root, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

describe('the Dockerfile', () => {
  it('copies files that exist and that .dockerignore lets through', () => {
    const copies = instructions.filter((i) => i.word === 'COPY' && !i.args.startsWith('--from'));
    expect(copies.length).toBeGreaterThan(0);
    for (const { args } of copies) {
      const sources = args.split(/\s+/).slice(0, -1);
      for (const source of sources) {
        expect(existsSync(join(root, source)), `COPY ${source}`).toBe(true);
        expect(dockerignore, `.dockerignore excludes ${source}`).not.toContain(source.replace(/\/$/, ''));
      }
    }
  });

  it('builds in one stage and runs the packed build as a user without privileges, with /data as the volume', () => {
    const stages = instructions.filter((i) => i.word === 'FROM');
    expect(stages.map((s) => s.args)).toEqual([
      'node:22-bookworm-slim AS build',
      'node:22-bookworm-slim AS runtime',
    ]);
    const runtime = instructions.slice(instructions.findIndex((i) => i.args.endsWith('AS runtime')));
    const text = (word: string) =>
      runtime
        .filter((i) => i.word === word)
        .map((i) => i.args)
        .join('\n');
    expect(text('RUN')).not.toMatch(/npm (ci|install)/);
    expect(text('COPY')).toBe('--from=build /opt/closeloop /opt/closeloop');
    expect(text('USER')).toBe('closeloop');
    expect(text('VOLUME')).toBe('/data');
    expect(text('ENV')).toMatch(/CLOSELOOP_DATA_DIR=\/data/);
    expect(text('ENV')).toMatch(/HOST=0\.0\.0\.0/);
    expect(JSON.parse(text('CMD'))).toEqual([Object.keys(pkg.bin)[0], 'serve']);
    // The build stage packs what `npm pack` ships and installs it without devDependencies.
    expect(instructions.find((i) => i.word === 'RUN' && i.args.includes('npm pack'))?.args).toMatch(
      /npm install --omit=dev .*closeloop-\*\.tgz/,
    );
  });

  it('health check asks a route that answers 200 on a running app', async () => {
    const check = instructions.find((i) => i.word === 'HEALTHCHECK')?.args ?? '';
    const path = /'(\/[a-z]+)'\)/.exec(check)?.[1];
    expect(path).toBeDefined();
    const database = await createTestDatabase();
    try {
      const { app } = await testApp(database, () => new Date());
      expect((await app.request(path!)).status).toBe(200);
    } finally {
      await database.close();
    }
  });
});

describe('the systemd unit', () => {
  const setting = (key: string) =>
    unit
      .split('\n')
      .filter((l) => l.startsWith(`${key}=`))
      .map((l) => l.slice(key.length + 1));

  it('runs the installed binary as a user of its own, with the data folder under /var/lib/closeloop', () => {
    const [binary, command] = (setting('ExecStart')[0] ?? '').split(' ');
    expect(binary).toBe(`/usr/local/bin/${Object.keys(pkg.bin)[0]}`);
    expect(commands.map((c) => c.name)).toContain(command);
    expect(setting('DynamicUser')).toEqual(['yes']);
    expect(setting('StateDirectory')).toEqual(['closeloop']);
    expect(setting('Environment')).toContain('CLOSELOOP_DATA_DIR=/var/lib/closeloop');
    expect(setting('Restart')).toEqual(['on-failure']);
    expect(setting('EnvironmentFile')).toEqual(['-/etc/closeloop/closeloop.env']);
  });

  it("passes systemd-analyze verify (with ExecStart on this checkout's bin, as npm install -g links it)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'closeloop-unit-'));
    const file = join(dir, 'closeloop.service');
    writeFileSync(
      file,
      unit.replace('ExecStart=/usr/local/bin/closeloop ', `ExecStart=${join(root, 'bin/closeloop.mjs')} `),
    );
    const { stderr } = await promisify(execFile)('systemd-analyze', ['verify', '--man=no', file]);
    expect(stderr.trim()).toBe('');
  });
});
