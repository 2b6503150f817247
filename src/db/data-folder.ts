import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Create the PGlite data folder owner-only (0700), or tighten one made by an older release. Done before
 * PGlite opens it, so nothing it writes is ever reachable by other users.
 */
export function prepareDataFolder(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  tighten(dir, 0o700);
}

/**
 * Take group and other permissions off everything in the data folder. PGlite's initdb writes its files
 * 0666 whatever the umask (it chmods them: 968 of 1,027 files of a new folder, a WAL segment among
 * them); files PostgreSQL creates later are 0600 already. Run after PGlite opened the folder and when
 * it closes: about 1,000 lstat calls, a few milliseconds.
 */
export function tightenDataFolder(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isDirectory()) tighten(path, 0o700);
    else if (entry.isFile()) tighten(path, 0o600);
  }
}

function tighten(path: string, allowed: number): void {
  try {
    const mode = lstatSync(path).mode & 0o777;
    if ((mode & ~allowed) !== 0) chmodSync(path, mode & allowed);
  } catch (err) {
    // A file PostgreSQL removed meanwhile (a recycled WAL segment) needs no tightening.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
