import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, cliEnvironment, cliTestTimeoutMs, runCli } from '../helpers/cli.ts';

/**
 * The README's quick start and docs/getting-started.md's first import, run as written: `npm start` in one terminal, then the "Your first import"
 * blocks in another, in a fresh folder, as a dry run. It ends when the emulator has accepted the rows.
 *
 * How the README's commands are mapped, and nothing else:
 * - `npm install && npm start` → `npm start`'s script from package.json, in the project folder (the
 *   install is what this test runs in);
 * - `npx closeloop ARGS` → `node src/cli/main.ts ARGS` (an `npx` on PATH that does only that);
 * - `node` → the project's Node 22, the one running this test.
 */

const repo = join(import.meta.dirname, '../..');
const readme = readFileSync(join(repo, 'README.md'), 'utf8');
const gettingStarted = readFileSync(join(repo, 'docs/getting-started.md'), 'utf8');
const startScript: string = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).scripts.start;

/** The ```sh blocks of a page between two headings. */
function shBlocks(page: string, from: string, to: string): string[] {
  const start = page.indexOf(`\n${from}\n`);
  const end = page.indexOf(`\n${to}\n`, start);
  expect(start, from).toBeGreaterThan(-1);
  expect(end, to).toBeGreaterThan(start);
  return [...page.slice(start, end).matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

let env: Record<string, string>;
let cleanup: () => Promise<void>;
const work = mkdtempSync(join(tmpdir(), 'closeloop-quickstart-'));
const bin = join(work, '.bin');

beforeAll(async () => {
  ({ env, cleanup } = await cliEnvironment({ fresh: true }));
  mkdirSync(bin);
  const main = join(repo, 'src/cli/main.ts');
  writeFileSync(
    join(bin, 'npx'),
    `#!/bin/sh\n[ "$1" = closeloop ] || { echo "npx: only closeloop is mapped" >&2; exit 127; }\nshift\nexec "${process.execPath}" "${main}" "$@"\n`,
  );
  chmodSync(join(bin, 'npx'), 0o755);
  symlinkSync(process.execPath, join(bin, 'node'));
});
afterAll(() => cleanup());

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** One README block through `sh -e` (a failing command fails the block), in the user's folder. */
function runBlock(block: string, shellEnv: Record<string, string>): Promise<CliResult> {
  const child = spawn('/bin/sh', ['-e', '-c', block], { cwd: work, env: shellEnv, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('the README quick start, run literally', { timeout: cliTestTimeoutMs }, () => {
  it('npm start, then the first-import commands, ends with the rows accepted by the dry run', async () => {
    const [start, check] = shBlocks(readme, '## Quick start', '## Documentation');
    expect(start?.trim()).toBe('npm install && npm start');
    expect(check?.trim()).toBe('npm test'); // the developers' check, not part of the first ten minutes
    // The README's next step, docs/getting-started.md, run as written too.
    const firstImport = shBlocks(
      gettingStarted,
      '## Your first import, from the command line',
      '## … and over HTTP',
    );
    expect(firstImport.length).toBeGreaterThan(0);

    const clean = Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) => !['DATABASE_URL', 'CLOSELOOP_DATA_DIR', 'PORT'].includes(k),
      ),
    ) as Record<string, string>;
    const shellEnv = { ...clean, ...env, LOG_LEVEL: 'warn', PATH: `${bin}${delimiter}${process.env.PATH}` };
    const port = await freePort();
    const service = spawn('/bin/sh', ['-c', `exec ${startScript}`], {
      cwd: repo,
      env: { ...shellEnv, PORT: String(port), LOG_LEVEL: 'info' },
      stdio: 'pipe',
    });
    let log = '';
    service.stdout.on('data', (d) => {
      log += d;
    });
    service.stderr.on('data', (d) => {
      log += d;
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setInterval(() => {
          if (log.includes('closeloop is listening')) {
            clearInterval(timer);
            resolve();
          } else if (service.exitCode !== null) {
            clearInterval(timer);
            reject(new Error(`npm start exited:\n${log}`));
          }
        }, 100);
      });
      expect(log).toContain('"dryRun":true');

      for (const block of firstImport) {
        const r = await runBlock(block, shellEnv);
        expect(r.code, `${block}\n${r.stdout}\n${r.stderr}`).toBe(0);
      }

      // Within the submitter's poll interval (2 s; a minute allows for a loaded machine) the emulator
      // accepts both rows.
      type Status = {
        accounts: {
          lastSubmission: { trackingId: string } | null;
          goals: { conversions: { accepted?: number } }[];
        }[];
      };
      let status: Status | undefined;
      const deadline = Date.now() + 60_000;
      do {
        const r = await runCli(['status', '--json'], env);
        expect(r.code, r.stderr).toBe(0);
        status = JSON.parse(r.stdout) as Status;
        if (status.accounts[0]?.goals[0]?.conversions.accepted === 2) break;
        await new Promise((res) => setTimeout(res, 1000));
      } while (Date.now() < deadline);
      expect(status).toMatchObject({
        dryRun: true,
        accounts: [{ goals: [{ name: 'Purchase', conversions: { accepted: 2 } }] }],
      });
      const trackingId = status!.accounts[0]!.lastSubmission!.trackingId;
      expect(trackingId).toMatch(/^[0-9a-f-]{36}$/);
      // The results name the call that carried each row.
      const uploads = JSON.parse((await runCli(['uploads', '--json'], env)).stdout);
      const applied = uploads.uploads.find((u: { status: string }) => u.status === 'applied');
      const csv = (await runCli(['results', applied.id], env)).stdout.trim().split('\r\n');
      expect(csv).toHaveLength(3);
      for (const line of csv.slice(1)) expect(line).toMatch(new RegExp(`^\\d,accepted,.*,${trackingId}$`));
    } finally {
      service.kill('SIGTERM');
      await new Promise((r) => service.once('close', r));
    }
  }, 240_000);
});
