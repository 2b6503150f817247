import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.ts';
import { cliEnvironment, cliTestTimeoutMs, runCli } from '../helpers/cli.ts';
import { startServe } from '../helpers/serve.ts';
import {
  hasBasicAuth,
  type SftpServer,
  startHttpServer,
  startSftpServer,
  type TestServer,
} from '../helpers/source-servers.ts';

let env: Record<string, string>;
let cleanup: () => Promise<void>;
let http: TestServer;
let sftp: SftpServer;
const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
const header = 'Microsoft Click ID,Conversion Name,Conversion Time';
const line = (i: number) => `${i.toString(16).padStart(32, 'f')},Purchase,${day(3)} 10:00:00`;
let sheet = [header, line(1), line(2)].join('\n');
let requests = 0;

beforeAll(async () => {
  ({ env, cleanup } = await cliEnvironment());
  env = {
    ...env,
    CLOSELOOP_ALLOW_PRIVATE_SOURCES: '1',
    CLOSELOOP_SECRET_KEY: randomBytes(32).toString('base64'),
    SHEET_PASSWORD: 'correct horse',
  };
  http = await startHttpServer((req, res) => {
    requests++;
    if (!hasBasicAuth(req, 'ann', 'correct horse')) return res.writeHead(401).end();
    if (req.url === '/export.csv') return res.end(sheet);
    res.writeHead(404).end();
  });
  sftp = await startSftpServer({ user: 'drop', password: 'unused-password' });
  sftp.files.set('/outbox/conversions.csv', Buffer.from([header, line(9)].join('\n')));
  expect((await runCli(['goals', 'add', '--name', 'Purchase'], env)).code).toBe(0);
});
afterAll(async () => {
  await http?.close();
  await sftp?.close();
  await cleanup();
});

/** `schedules add` of the "crm" schedule: HTTP with basic authentication, the password from `variable`. */
const addCrm = (variable: string, every: string) => [
  'schedules',
  'add',
  '--name',
  'crm',
  '--url',
  `${http.origin}/export.csv`,
  '--username',
  'ann',
  '--password-env',
  variable,
  '--every',
  every,
];

describe('closeloop schedules', { timeout: cliTestTimeoutMs }, () => {
  it('add refuses a missing password variable, a wrong password and a private address, and saves nothing', async () => {
    const wrong = await runCli(addCrm('NOPE_UNSET', 'hourly'), env);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('NOPE_UNSET is not set');
    const refused = await runCli(addCrm('HOME', 'hourly'), env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/Not saved: .*HTTP 401/);
    const { CLOSELOOP_ALLOW_PRIVATE_SOURCES: _, ...closed } = env;
    const ssrf = await runCli(addCrm('SHEET_PASSWORD', 'hourly'), closed);
    expect(ssrf.code).toBe(2);
    expect(ssrf.stderr).toMatch(/127\.0\.0\.1 is a loopback address.*CLOSELOOP_ALLOW_PRIVATE_SOURCES/);
    expect(JSON.parse((await runCli(['schedules', 'list', '--json'], env)).stdout).schedules).toEqual([]);
  });

  it('add fetches once, prints the preview, applies nothing and saves; the password is never printed', async () => {
    const added = await runCli(
      [...addCrm('SHEET_PASSWORD', 'daily 06:00'), '--time-zone', 'Europe/Berlin'],
      env,
    );
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/Previewed \(nothing applied\) 2 rows from .*export\.csv: 2 (ok|held)\./);
    expect(added.stdout).toMatch(/Saved schedule "crm": daily 06:00 \(Europe\/Berlin\), next run /);
    expect(added.stdout + added.stderr).not.toContain('correct horse');

    const list = await runCli(['schedules', 'list'], env);
    expect(list.stdout).toMatch(
      /● crm {2}http:\/\/127\.0\.0\.1:\d+\/export\.csv {2}\[daily 06:00 \(Europe\/Berlin\), next run/,
    );
    const listed = JSON.parse((await runCli(['schedules', 'list', '--json'], env)).stdout);
    expect(listed.schedules[0]).toMatchObject({ name: 'crm', credentials: 'password', username: 'ann' });
    expect(JSON.stringify(listed)).not.toContain('correct horse');
  });

  it('run imports now and exits like import; unchanged bytes import nothing; a grown file adds its new rows', async () => {
    const first = await runCli(['schedules', 'run', 'crm'], env);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/Imported 2 rows from .*: 2 (queued|held)\./);
    const same = await runCli(['schedules', 'run', 'crm'], env);
    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(/has not changed since it was last imported .*nothing imported/);
  });

  it('run after the file grew imports its new rows; the old ones are duplicates; history lists the runs', async () => {
    sheet = [header, line(1), line(2), line(3), `${'z'.repeat(32)},Purchase,${day(3)} 10:00:00`].join('\n');
    const grown = await runCli(['schedules', 'run', 'crm', '--json'], env);
    expect(grown.code).toBe(1);
    const summary = JSON.parse(grown.stdout.trim().split('\n').pop()!);
    expect(summary).toMatchObject({
      summary: true,
      schedule: 'crm',
      outcome: 'imported',
      counts: { duplicate: 2, rejected: 1 },
    });
    // The new row is queued, or held while the dry run's goal is new.
    expect((summary.counts.queued ?? 0) + (summary.counts.held ?? 0)).toBe(1);
    const history = await runCli(['schedules', 'history', 'crm'], env);
    const lines = history.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(/\s+/)[1])).toEqual(['imported', 'unchanged', 'imported']);
    expect(lines[0]).toContain(`upload ${summary.uploadId}`);
    const results = await runCli(['results', summary.uploadId, '--errors-only'], env);
    expect(results.stdout).toContain('INVALID_CLICK_ID');
  });

  it('reads an SFTP drop folder with a private key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'closeloop-key-'));
    const keyFile = join(dir, 'id_ed25519');
    writeFileSync(keyFile, sftp.clientPrivateKey, { mode: 0o600 });
    const added = await runCli(
      [
        'schedules',
        'add',
        '--name',
        'drop',
        '--url',
        `${sftp.origin}/outbox/conversions.csv`,
        '--username',
        'drop',
        '--private-key',
        keyFile,
        '--every',
        'cron "*/30 * * * *"',
      ],
      env,
    );
    expect(added.stderr).toBe('');
    expect(added.stdout).toMatch(/1 row from sftp:.*: 1 (ok|held)\./);
    expect((await runCli(['schedules', 'run', 'drop'], env)).stdout).toMatch(
      /Imported 1 row .*1 (queued|held)/,
    );
  });

  it('pause, resume and remove', async () => {
    expect((await runCli(['schedules', 'pause', 'drop'], env)).stdout).toBe('Schedule "drop" paused.\n');
    expect((await runCli(['schedules', 'resume', 'drop'], env)).stdout).toMatch(
      /resumed: cron "\*\/30 \* \* \* \*" \(UTC\), next run/,
    );
    expect((await runCli(['schedules', 'remove', 'drop'], env)).code).toBe(0);
    const missing = await runCli(['schedules', 'history', 'drop'], env);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('No schedule "drop"');
  });

  it('serve runs a schedule that was due while it was down, once, at start', async () => {
    // The service was down when "crm" was due: its next run is set a day back.
    const database = await openDatabase(
      env.DATABASE_URL
        ? { kind: 'postgres', url: env.DATABASE_URL }
        : { kind: 'pglite', dataDir: env.CLOSELOOP_DATA_DIR! },
    );
    await database.query(sql`update schedules set next_run_at = now() - interval '1 day' where name = 'crm'`);
    await database.close();
    sheet = `${sheet}\n${line(4)}`;
    requests = 0;
    const serve = await startServe(env);
    try {
      const deadline = Date.now() + 30_000;
      while (!serve.log().includes('"msg":"scheduled import"') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      expect(serve.log()).toContain('"schedule":"crm"');
      const history = await runCli(['schedules', 'history', 'crm', '--json'], env);
      const { runs, schedule } = JSON.parse(history.stdout);
      expect(runs[0]).toMatchObject({ trigger: 'schedule', outcome: 'imported' });
      expect(runs.filter((r: { trigger: string }) => r.trigger === 'schedule')).toHaveLength(1);
      expect(new Date(schedule.nextRunAt).getTime()).toBeGreaterThan(Date.now());
      expect(requests).toBe(1);
    } finally {
      serve.child.kill('SIGTERM');
      await serve.exited;
    }
  });
});
