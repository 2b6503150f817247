import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseEnv } from 'node:util';

/**
 * Settings from a file, with the same names as the environment variables: a JSON object
 * (`closeloop.config.json`, `{ "PORT": 8080 }`) or a dotenv file (`.env`, `PORT=8080`). Values are
 * validated afterwards by the environment's schema (config.ts), which names the file of a bad one.
 */
export interface ConfigFile {
  path: string;
  values: Record<string, string>;
}

/** A file that cannot be read as settings: the message names the file, and the key when there is one. */
export class ConfigFileError extends Error {
  override name = 'ConfigFileError';
}

/** The files read from the data folder when no --config is given; at most one may exist. */
export const dataDirConfigNames = ['closeloop.config.json', '.env'] as const;

const keyPattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigFileError(
      code === 'ENOENT'
        ? `Configuration file ${path} does not exist. Check the path given with --config (or CLOSELOOP_CONFIG).`
        : `Configuration file ${path} cannot be read (${code ?? String(err)}).`,
    );
  }
  return { path, values: path.endsWith('.json') ? jsonValues(path, text) : envValues(path, text) };
}

/** The data folder's own configuration file, if it has one. */
export function findDataDirConfig(dataDir: string): string | undefined {
  const found = dataDirConfigNames.map((n) => join(dataDir, n)).filter((f) => existsSync(f));
  if (found.length > 1)
    throw new ConfigFileError(
      `The data folder ${dataDir} has both ${found.map((f) => basename(f)).join(' and ')}: closeloop reads one. Move the settings into one of them and remove the other.`,
    );
  return found[0];
}

function jsonValues(path: string, text: string): Record<string, string> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    // V8's message quotes the text around the mistake, which may be a secret: only where it is.
    const at = /position (\d+)/.exec(String((err as Error).message));
    const where = at ? ` at ${lineColumn(text, Number(at[1]))}` : '';
    throw new ConfigFileError(
      `Configuration file ${path} is not valid JSON${where}. Write an object of settings, e.g. {"PORT": 8080}.`,
    );
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw new ConfigFileError(
      `Configuration file ${path} must hold a JSON object of settings, e.g. {"PORT": 8080, "LOG_LEVEL": "info"}.`,
    );
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) {
    checkKey(path, key);
    if (typeof value === 'string') values[key] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') values[key] = String(value);
    else if (value !== null)
      throw new ConfigFileError(
        `Configuration file ${path}: ${key} must be a string, a number or true/false (settings are flat, named as the environment variables).`,
      );
  }
  return values;
}

function envValues(path: string, text: string): Record<string, string> {
  const values = parseEnv(text) as Record<string, string>;
  for (const key of Object.keys(values)) checkKey(path, key);
  return values;
}

function checkKey(path: string, key: string): void {
  if (!keyPattern.test(key))
    throw new ConfigFileError(
      `Configuration file ${path}: "${key.slice(0, 60)}" is not a setting name; settings are named as the environment variables (PORT, DATABASE_URL, …).`,
    );
}

function lineColumn(text: string, position: number): string {
  const before = text.slice(0, position).split('\n');
  return `line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}
