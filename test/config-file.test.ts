import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

/** An empty home and current directory, outside any checkout: the data folder is the user's. */
function place() {
  const home = mkdtempSync(join(tmpdir(), 'closeloop-home-'));
  const dataDir = join(home, '.local', 'share', 'closeloop');
  mkdirSync(dataDir, { recursive: true });
  const where = { cwd: home, home, platform: 'linux' as const };
  return { home, dataDir, where };
}

function failure(env: Record<string, string>, where: ReturnType<typeof place>['where']): string {
  try {
    loadConfig(env, where);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('loadConfig accepted the configuration');
}

describe('configuration from a file', () => {
  it("reads the data folder's closeloop.config.json, under the environment", () => {
    const { dataDir, where } = place();
    const file = join(dataDir, 'closeloop.config.json');
    writeFileSync(file, JSON.stringify({ PORT: 9000, HOST: '0.0.0.0', LOG_LEVEL: 'warn' }));
    const config = loadConfig({}, where);
    expect([config.port, config.host, config.logLevel]).toEqual([9000, '0.0.0.0', 'warn']);
    expect(config.configFile?.path).toBe(file);
    expect(config.dataDirChoice.why).toBe('user data folder');
    // The environment wins, key by key.
    expect(loadConfig({ PORT: '9100' }, where).port).toBe(9100);
    expect(loadConfig({ PORT: '9100' }, where).host).toBe('0.0.0.0');
  });

  it("reads the data folder's .env", () => {
    const { dataDir, where } = place();
    writeFileSync(join(dataDir, '.env'), '# closeloop\nPORT=9200\nCLOSELOOP_CUSTOMER_ID="acme"\n');
    const config = loadConfig({}, where);
    expect([config.port, config.customerId]).toEqual([9200, 'acme']);
  });

  it('refuses two files in the data folder, naming both', () => {
    const { dataDir, where } = place();
    writeFileSync(join(dataDir, '.env'), 'PORT=1\n');
    writeFileSync(join(dataDir, 'closeloop.config.json'), '{}');
    expect(failure({}, where)).toMatch(/has both closeloop\.config\.json and \.env: closeloop reads one/);
  });

  it('reads the file given with --config (CLOSELOOP_CONFIG) instead, which may move the data folder', () => {
    const { home, dataDir, where } = place();
    writeFileSync(join(dataDir, 'closeloop.config.json'), '{"PORT": 1111}');
    const given = join(home, 'prod.env');
    writeFileSync(given, `CLOSELOOP_DATA_DIR=${join(home, 'prod-data')}\nPORT=2222\n`);
    const config = loadConfig({ CLOSELOOP_CONFIG: 'prod.env' }, where);
    expect(config.port).toBe(2222);
    expect(config.dataDir).toBe(join(home, 'prod-data'));
    expect(config.dataDirChoice.why).toBe('from CLOSELOOP_DATA_DIR');
    expect(config.configFile?.path).toBe(given);
    expect(failure({ CLOSELOOP_CONFIG: 'missing.json' }, where)).toContain(
      `Configuration file ${join(home, 'missing.json')} does not exist`,
    );
  });

  it("does not let the data folder's own file move the data folder", () => {
    const { dataDir, where } = place();
    writeFileSync(join(dataDir, '.env'), 'CLOSELOOP_DATA_DIR=/elsewhere\n');
    expect(failure({}, where)).toMatch(/CLOSELOOP_DATA_DIR cannot be set in the data folder's own file/);
  });

  it('names the file and the key of a bad value, and shows no secret', () => {
    const { dataDir, where } = place();
    const file = join(dataDir, 'closeloop.config.json');
    const secret = 'not-32-bytes-but-secret';
    writeFileSync(file, JSON.stringify({ PORT: 'eighty', CLOSELOOP_SECRET_KEY: secret }));
    const message = failure({}, where);
    expect(message).toContain('Invalid configuration:');
    expect(message).toMatch(new RegExp(`PORT \\(in ${file}\\): .*\\(got "eighty"\\)`));
    expect(message).toContain(`CLOSELOOP_SECRET_KEY (in ${file}): 32 bytes`);
    expect(message).not.toContain(secret);
    // A bad value from the environment is named as before, without a file.
    expect(failure({ PORT: 'x', CLOSELOOP_SECRET_KEY: 'a'.repeat(64) }, where)).toMatch(/^ {2}PORT: /m);
  });

  it('says where JSON is broken without quoting it, and refuses nested or misnamed settings', () => {
    const { dataDir, where } = place();
    const file = join(dataDir, 'closeloop.config.json');
    writeFileSync(file, '{\n  "MSADS_CLIENT_SECRET": "hunter2-secret"\n  "PORT": 1\n}');
    const broken = failure({}, where);
    expect(broken).toMatch(new RegExp(`${file} is not valid JSON at line 3, column 3`));
    expect(broken).not.toContain('hunter2');
    writeFileSync(file, '{"msads": {"clientSecret": "hunter2"}}');
    expect(failure({}, where)).toContain(`${file}: msads must be a string, a number or true/false`);
    writeFileSync(file, '["PORT"]');
    expect(failure({}, where)).toContain('must hold a JSON object of settings');
    writeFileSync(file, '{"port number": 1}');
    expect(failure({}, where)).toContain('"port number" is not a setting name');
  });
});
