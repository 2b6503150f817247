import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The consent request `closeloop auth login` printed, kept until the code comes back: the code may be
 * pasted into the same run, or given later with `--code` (consent in a browser on another machine).
 * The PKCE verifier must match the challenge in the URL, so it is kept in the data folder, owner-only,
 * for an hour. Without it a `--code` exchange goes without PKCE, and Microsoft refuses a code that was
 * issued with a challenge.
 */
export interface PendingLogin {
  accountId: string;
  state: string;
  codeVerifier: string;
  redirectUri: string;
  createdAt: string;
}

const maxAgeMs = 60 * 60_000;

function file(dataDir: string): string {
  return join(dataDir, 'auth-pending.json');
}

function readAll(dataDir: string): PendingLogin[] {
  try {
    const list = JSON.parse(readFileSync(file(dataDir), 'utf8')) as PendingLogin[];
    return Array.isArray(list) ? list : [];
  } catch {
    return [];
  }
}

function writeAll(dataDir: string, list: PendingLogin[]): void {
  if (list.length === 0) {
    rmSync(file(dataDir), { force: true });
    return;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const tmp = `${file(dataDir)}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(list), { mode: 0o600 });
  renameSync(tmp, file(dataDir));
}

export function savePendingLogin(dataDir: string, login: PendingLogin, now: Date): void {
  writeAll(dataDir, [...fresh(readAll(dataDir), now).filter((p) => p.accountId !== login.accountId), login]);
}

export function readPendingLogin(dataDir: string, accountId: string, now: Date): PendingLogin | undefined {
  return fresh(readAll(dataDir), now).find((p) => p.accountId === accountId);
}

export function clearPendingLogin(dataDir: string, accountId: string, now: Date): void {
  writeAll(
    dataDir,
    fresh(readAll(dataDir), now).filter((p) => p.accountId !== accountId),
  );
}

function fresh(list: PendingLogin[], now: Date): PendingLogin[] {
  return list.filter((p) => now.getTime() - new Date(p.createdAt).getTime() < maxAgeMs);
}
