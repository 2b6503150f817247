import { lstatSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';

/**
 * Who owns a PGlite data folder: the one process that has it open, and serves it to the others (see
 * embedded.ts). Written to `closeloop-owner.json` in the folder once the ownership is taken, for other
 * processes' connections and messages.
 */
export interface OwnerInfo {
  pid: number;
  /** What it is, for messages: "closeloop serve", "closeloop import". */
  command: string;
  /** The service keeps the folder as long as it runs; a command lets go when it ends. */
  role: 'service' | 'command';
  startedAt: string;
  /** The Unix socket it serves the database on. */
  socket: string;
}

export interface Ownership {
  /** Tell other processes who owns the folder and where to connect. */
  publish(info: OwnerInfo): void;
  release(): Promise<void>;
}

export const ownerInfoFile = (dataDir: string) => join(dataDir, 'closeloop-owner.json');
export const ownerLockFile = (dataDir: string) => join(dataDir, 'closeloop-owner.lock');

/**
 * Take the ownership of `dataDir`, or learn that another live process has it (undefined).
 *
 * On Linux the lock is an abstract Unix socket named after the folder's device and inode: binding it is
 * atomic, and the kernel frees it when its process ends, kill -9 included — no stale lock, no pid that
 * a new process may reuse. Abstract sockets live in a network namespace, so a process of another
 * container sharing the folder holds a different one: if the folder's recorded owner still answers on
 * its socket, it owns the folder whatever the lock says. Elsewhere (macOS) the lock is a file holding
 * the owner's pid, stale once that pid is gone (see `holdLockFile`).
 */
export async function tryOwn(dataDir: string): Promise<Ownership | undefined> {
  if (process.platform !== 'linux') {
    const lock = holdLockFile(ownerLockFile(dataDir));
    return lock && ownership(dataDir, async () => lock.release());
  }
  const { dev, ino } = statSync(dataDir);
  const mutex = await holdAbstractName(`\0closeloop-owner-${dev}-${ino}`);
  if (!mutex) return undefined;
  const recorded = readOwner(dataDir);
  if (recorded && recorded.pid !== process.pid && (await answers(recorded.socket))) {
    await closeServer(mutex);
    return undefined;
  }
  return ownership(dataDir, () => closeServer(mutex));
}

function ownership(dataDir: string, unlock: () => Promise<void>): Ownership {
  let published = false;
  return {
    publish(info) {
      const file = ownerInfoFile(dataDir);
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, `${JSON.stringify(info)}\n`, { mode: 0o600 });
      renameSync(tmp, file);
      published = true;
    },
    async release() {
      if (published && readOwner(dataDir)?.pid === process.pid)
        rmSync(ownerInfoFile(dataDir), { force: true });
      await unlock();
    },
  };
}

/** The recorded owner of `dataDir`, if any; it may be a stale record of a process that ended. */
export function readOwner(dataDir: string): OwnerInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(ownerInfoFile(dataDir), 'utf8')) as OwnerInfo;
    return Number.isInteger(info.pid) && typeof info.socket === 'string' ? info : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a process with this pid exists (EPERM: it does, under another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The process's own start, for the owner record. */
export function processStartedAt(): string {
  return new Date(Date.now() - Math.round(process.uptime() * 1000)).toISOString();
}

function holdAbstractName(name: string): Promise<Server | undefined> {
  // Connections to the lock get nothing: it is not where the database is served.
  const server = createServer((socket) => socket.destroy());
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EADDRINUSE' ? resolve(undefined) : reject(err),
    );
    server.listen(name, () => {
      server.on('error', () => {});
      // The lock alone never keeps the process alive; ending the process releases it.
      server.unref();
      resolve(server);
    });
  });
}

const closeServer = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/** Whether something accepts connections on the Unix socket at `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A lock file nobody has written its pid into after this long belongs to a process that died creating it. */
const emptyLockGraceMs = 10_000;

/**
 * The lock where there are no abstract sockets: a file created exclusively, holding the owner's pid.
 * It is stale when that pid is gone. A pid the system reused for another process keeps it held: the
 * processes that wait say which pid and which file (delete it if that process is not closeloop).
 */
export function holdLockFile(path: string): { release(): void } | undefined {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return {
        release: () => {
          if (lockPid(path) === process.pid) rmSync(path, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = lockPid(path);
      if (pid === undefined && Date.now() - (mtimeOf(path) ?? 0) < emptyLockGraceMs) return undefined;
      if (pid !== undefined && isAlive(pid)) return undefined;
      rmSync(path, { force: true });
    }
  }
  return undefined;
}

function lockPid(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function mtimeOf(path: string): number | undefined {
  try {
    return lstatSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}
