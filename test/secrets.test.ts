import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createSecrets,
  loadSecretKey,
  SecretDecryptError,
  secretKeyFile,
  secretKeyFromFile,
  secretKeyWarning,
} from '../src/secrets.ts';

const key = randomBytes(32);
const mismatch =
  'cannot decrypt a stored secret: the CLOSELOOP_SECRET_KEY differs from the one it was stored with';

describe('createSecrets', () => {
  it('round-trips, with a fresh IV each time and nothing of the plaintext in the stored form', () => {
    const secrets = createSecrets(key);
    const plain = 'M.R3_BAY.refresh-token-éü-😀';
    const a = secrets.encrypt(plain);
    const b = secrets.encrypt(plain);
    expect(a).toMatch(/^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('refresh');
    expect(Buffer.from(a.split(':')[1]!, 'base64')).toHaveLength(12);
    expect(Buffer.from(a.split(':')[2]!, 'base64')).toHaveLength(16);
    expect(secrets.decrypt(a)).toBe(plain);
    expect(secrets.decrypt(b)).toBe(plain);
    expect(secrets.decrypt(secrets.encrypt(''))).toBe('');
  });

  it('detects a changed ciphertext, IV or tag', () => {
    const secrets = createSecrets(key);
    const [v, iv, tag, ct] = secrets.encrypt('client secret value').split(':') as [
      string,
      string,
      string,
      string,
    ];
    const flip = (b64: string) => {
      const bytes = Buffer.from(b64, 'base64');
      bytes[0]! ^= 1;
      return bytes.toString('base64');
    };
    for (const tampered of [
      [v, iv, tag, flip(ct)],
      [v, flip(iv), tag, ct],
      [v, iv, flip(tag), ct],
    ])
      expect(() => secrets.decrypt(tampered.join(':'))).toThrow(mismatch);
  });

  it('says the key differs when another key stored the value', () => {
    const stored = createSecrets(randomBytes(32)).encrypt('developer token');
    const err = (() => {
      try {
        createSecrets(key).decrypt(stored);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(SecretDecryptError);
    expect((err as Error).message).toContain(mismatch);
  });

  it('refuses values not written by closeloop, and keys of the wrong size', () => {
    expect(() => createSecrets(key).decrypt('plaintext-token')).toThrow(/not in closeloop's format/);
    expect(() => createSecrets(key).decrypt('v2:a:b:c')).toThrow(/not in closeloop's format/);
    expect(() => createSecrets(randomBytes(16))).toThrow(/32-byte key, got 16 bytes/);
  });
});

describe('loadSecretKey', () => {
  const pglite = { kind: 'pglite' as const, dataDir: '/unused' };

  it('uses CLOSELOOP_SECRET_KEY when set, without touching the data folder', () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'closeloop-key-')), 'data');
    expect(loadSecretKey({ secretKey: key, dataDir })).toBe(key);
    expect(() => statSync(dataDir)).toThrow();
    expect(secretKeyFromFile({ secretKey: key })).toBe(false);
  });

  it('creates the key file (0600, in a new folder) and reuses it', () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'closeloop-key-')), 'nested', 'data');
    const first = loadSecretKey({ secretKey: undefined, dataDir });
    expect(first).toHaveLength(32);
    const path = secretKeyFile({ dataDir });
    expect(path).toBe(join(dataDir, 'secret.key'));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(path, 'utf8').trim(), 'base64')).toEqual(first);
    const again = loadSecretKey({ secretKey: undefined, dataDir });
    expect(again).toEqual(first);
    const stored = createSecrets(first).encrypt('x');
    expect(createSecrets(again).decrypt(stored)).toBe('x');
    expect(secretKeyFromFile({ secretKey: undefined })).toBe(true);
  });

  it('refuses a damaged key file instead of making a new key', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'closeloop-key-'));
    writeFileSync(join(dataDir, 'secret.key'), 'too short');
    expect(() => loadSecretKey({ secretKey: undefined, dataDir })).toThrow(/does not hold a 32-byte key/);
  });

  it('warns on PostgreSQL with a key file only', () => {
    const dataDir = '/srv/closeloop';
    const postgres = { kind: 'postgres' as const, url: 'postgres://x' };
    expect(secretKeyWarning({ secretKey: undefined, dataDir, database: postgres })).toMatch(
      /Every machine that uses this PostgreSQL database needs the same key: set CLOSELOOP_SECRET_KEY/,
    );
    expect(secretKeyWarning({ secretKey: key, dataDir, database: postgres })).toBeUndefined();
    expect(secretKeyWarning({ secretKey: undefined, dataDir, database: pglite })).toBeUndefined();
  });
});
