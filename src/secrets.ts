import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.ts';
import { AppError } from './errors.ts';

/**
 * Encryption at rest for the secrets closeloop stores (OAuth tokens, client secrets, developer tokens,
 * later CRM tokens and webhook secrets): AES-256-GCM with a random 12-byte IV per value, so the same
 * secret never encrypts to the same text and any change to a stored value is detected.
 *
 * Stored form: `v1:<base64 iv>:<base64 tag>:<base64 ciphertext>`. The version prefix lets a later key
 * rotation or algorithm change tell old values from new ones.
 */
export interface Secrets {
  encrypt(plain: string): string;
  decrypt(stored: string): string;
}

/** A stored secret that does not decrypt with this key: another key, or an altered value. */
export class SecretDecryptError extends AppError {
  override name = 'SecretDecryptError';
  constructor(reason: string) {
    super('internal', `cannot decrypt a stored secret: ${reason}`);
  }
}

const keyBytes = 32;
// 12 bytes is GCM's native nonce size (NIST SP 800-38D §8.2); the tag is the full 16 bytes.
const ivBytes = 12;
const tagBytes = 16;
const version = 'v1';

const keyMismatch =
  'the CLOSELOOP_SECRET_KEY differs from the one it was stored with (or the stored value was altered). ' +
  'Set the key it was stored with, or store the secret again (e.g. closeloop auth login).';

export function createSecrets(key: Buffer): Secrets {
  if (!Buffer.isBuffer(key) || key.length !== keyBytes)
    throw new TypeError(
      `createSecrets: expected a ${keyBytes}-byte key, got ${Buffer.isBuffer(key) ? `${key.length} bytes` : typeof key}`,
    );
  return {
    encrypt(plain) {
      const iv = randomBytes(ivBytes);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return `${version}:${iv.toString('base64')}:${tag.toString('base64')}:${ciphertext.toString('base64')}`;
    },
    decrypt(stored) {
      const parts = stored.split(':');
      if (parts.length !== 4 || parts[0] !== version)
        throw new SecretDecryptError(
          `it is not in closeloop's format (${version}:iv:tag:ciphertext); it was not written by closeloop, or by a newer version.`,
        );
      const iv = Buffer.from(parts[1]!, 'base64');
      const tag = Buffer.from(parts[2]!, 'base64');
      const ciphertext = Buffer.from(parts[3]!, 'base64');
      if (iv.length !== ivBytes || tag.length !== tagBytes) throw new SecretDecryptError(keyMismatch);
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: tagBytes });
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
      } catch {
        throw new SecretDecryptError(keyMismatch);
      }
    },
  };
}

type KeyConfig = Pick<Config, 'secretKey' | 'dataDir'>;

/** Where the key lives when CLOSELOOP_SECRET_KEY is not set. */
export function secretKeyFile(config: Pick<Config, 'dataDir'>): string {
  return join(config.dataDir, 'secret.key');
}

/**
 * The key that encrypts stored secrets: CLOSELOOP_SECRET_KEY when set; otherwise the key file in the
 * data folder, created on first use (32 random bytes, base64, readable by the owner only).
 */
export function loadSecretKey(config: KeyConfig): Buffer {
  if (config.secretKey) return config.secretKey;
  const path = secretKeyFile(config);
  const existing = readKeyFile(path);
  if (existing) return existing;
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  // Several processes may start at once: each writes its own temporary file and links it into place.
  // link() fails if the key file exists, so exactly one key wins and every process reads that one.
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, `${randomBytes(keyBytes).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(tmp);
  }
  const key = readKeyFile(path);
  if (!key) throw new Error(`The secret key file ${path} vanished while it was being created; start again.`);
  return key;
}

function readKeyFile(path: string): Buffer | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const key = /^[0-9a-f]{64}$/i.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length !== keyBytes)
    throw new AppError(
      'internal',
      `The secret key file ${path} does not hold a ${keyBytes}-byte key (base64 or hex). Restore it from a backup; without it the stored secrets cannot be read.`,
    );
  return key;
}

/** Whether the secret key comes from the key file in the data folder (CLOSELOOP_SECRET_KEY is not set). */
export function secretKeyFromFile(config: Pick<Config, 'secretKey'>): boolean {
  return config.secretKey === undefined;
}

/**
 * A warning to log at start, or undefined. On PostgreSQL several machines may share one database, and
 * each has its own data folder: with per-machine key files, a secret stored by one machine cannot be
 * read by the others. They need one CLOSELOOP_SECRET_KEY.
 */
export function secretKeyWarning(config: KeyConfig & Pick<Config, 'database'>): string | undefined {
  if (config.database.kind !== 'postgres' || !secretKeyFromFile(config)) return undefined;
  const path = secretKeyFile(config);
  return `CLOSELOOP_SECRET_KEY is not set: stored secrets are encrypted with the key file ${path}. Every machine that uses this PostgreSQL database needs the same key: set CLOSELOOP_SECRET_KEY to the content of that file on all of them.`;
}
