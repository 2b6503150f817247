import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redactUrl } from '../src/config.ts';

/** The message loadConfig stops the process with for `env`. */
function failure(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('loadConfig accepted the environment');
}

describe('configuration errors', () => {
  it('name the variable and what it takes, with the password of a URL masked', () => {
    const message = failure({
      DATABASE_URL: 'postgress://closeloop:s3cr3t-p@ss/word@db.internal:5432/closeloop',
    });
    expect(message).toContain(
      'DATABASE_URL: a PostgreSQL connection string like postgres://user:password@host:5432/db',
    );
    expect(message).toContain('"postgress://closeloop:***@db.internal:5432/closeloop"');
    expect(message).not.toMatch(/s3cr3t|ss\/word/);
  });

  it('show nothing of a secret but its length', () => {
    const secret = 'not-base64-and-not-32-bytes!';
    const message = failure({ CLOSELOOP_SECRET_KEY: secret });
    expect(message).toContain('CLOSELOOP_SECRET_KEY: 32 bytes as 64 hex digits or base64');
    expect(message).toContain(`got a value of ${secret.length} characters, not shown`);
    expect(message).not.toContain(secret);
  });

  it('take an admin password of 12 characters or more, and never show a short one', () => {
    expect(loadConfig({ CLOSELOOP_ADMIN_PASSWORD: 'twelve chars' }).adminPassword).toBe('twelve chars');
    expect(loadConfig({}).adminPassword).toBeUndefined();
    const message = failure({ CLOSELOOP_ADMIN_PASSWORD: 'hunter2' });
    expect(message).toContain('CLOSELOOP_ADMIN_PASSWORD: at least 12 characters');
    expect(message).toContain('got a value of 7 characters, not shown');
    expect(message).not.toContain('hunter2');
  });

  it('show other values as they were given', () => {
    expect(failure({ PORT: 'eighty' })).toMatch(/PORT: .*\(got "eighty"\)/);
  });

  it.each([
    ['postgres://user:pass@host/db', 'postgres://user:***@host/db'],
    ['postgres://user@host/db', 'postgres://user@host/db'],
    ['user:p@ss:w/rd@host:5432/db', 'user:***@host:5432/db'],
    [
      'postgres://host/db?sslmode=require&password=hunter2',
      'postgres://host/db?sslmode=require&password=***',
    ],
    ['https://example.com/path?access_token=abc#x', 'https://example.com/path?access_token=***#x'],
  ])('redactUrl(%s) → %s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });
});
