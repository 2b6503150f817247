import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import postgres from 'postgres';
import { AppError } from '../errors.ts';
import { prepareDataFolder, tightenDataFolder } from './data-folder.ts';
import { isAlive, type OwnerInfo, ownerLockFile, processStartedAt, readOwner, tryOwn } from './owner-lock.ts';
import { type SharedPglite, sharePglite } from './pglite-server.ts';

/**
 * How this process takes part in sharing a PGlite data folder. Two processes that open one folder
 * each write into a copy the other never sees (a lost write, reproduced), so one process owns the
 * folder — it opens PGlite and serves it on a Unix socket — and the others connect through it.
 */
export interface SharingOptions {
  /** How other processes name this one in their messages. @default "a closeloop process" */
  label?: string;
  /**
   * `command`: connect through the owner when there is one, else own the folder until done.
   * `service`: always own the folder — wait while a command owns it, refuse when another service does.
   * @default 'command'
   */
  role?: 'service' | 'command';
  /** How long a command waits for a busy owner to answer (it may be creating the database, ~6 s). @default 30000 */
  ownerTimeoutMs?: number;
  /** At close, how long processes connected through this one may go on. @default Infinity for a command, 10000 for the service */
  clientGraceMs?: number;
  /** See `ShareOptions.idleInTurnMs`. */
  idleInTurnMs?: number;
  /** Messages for a person about waiting (for the owner, for connected processes). */
  notify?: (message: string) => void;
}

/** An opened PGlite: the instance to use, and how to close it (pglite-guard.ts's `GuardedPglite`). */
export interface OpenedPglite {
  client: PGlite;
  close(): Promise<void>;
}

export type Embedded =
  | {
      via: 'self';
      pglite: PGlite;
      /** Start serving the (migrated) database to other processes. */
      share(): Promise<void>;
      close(): Promise<void>;
    }
  | { via: 'owner'; sql: postgres.Sql; owner: OwnerInfo; close(): Promise<void> };

/** Start-up of a new folder (initdb) is ~6 s; an owner this slow to answer is stuck or stopped. */
const defaultOwnerTimeoutMs = 30_000;
/** Say what is being waited for once it is noticeable. */
const noticeAfterMs = 2_000;
const retryMs = 200;
/** sun_path holds 108 bytes with its NUL on Linux, 104 on macOS. */
const maxSocketPathBytes = 100;

/**
 * Open the PGlite folder `dataDir`: as its owner when nobody owns it (then `open` opens PGlite on it),
 * else through its owner.
 */
export async function openEmbedded(
  dataDir: string,
  open: () => Promise<OpenedPglite>,
  options: SharingOptions = {},
): Promise<Embedded> {
  const role = options.role ?? 'command';
  const notify = options.notify ?? (() => {});
  prepareDataFolder(dataDir);
  const started = Date.now();
  const deadline = started + (options.ownerTimeoutMs ?? defaultOwnerTimeoutMs);
  let told = false;
  for (;;) {
    const ownership = await tryOwn(dataDir);
    if (ownership) return openAsOwner(dataDir, open, ownership, options);
    const owner = readOwner(dataDir);
    const known = owner !== undefined && isAlive(owner.pid) ? owner : undefined;
    if (role === 'service') {
      if (known?.role === 'service')
        throw new AppError(
          'conflict',
          `${describe(known)} already serves the data folder ${dataDir}. One service per PGlite data folder: stop that one first, or run several on PostgreSQL (DATABASE_URL).`,
        );
      if (!told) {
        notify(
          `${known ? describe(known) : 'Another closeloop process'} is using the data folder ${dataDir}; waiting for it to finish.`,
        );
        told = true;
      }
    } else {
      if (known) {
        const sql = await connectToOwner(known, options.label, deadline);
        if (sql) return { via: 'owner', sql, owner: known, close: () => sql.end({ timeout: 5 }) };
      }
      if (Date.now() >= deadline) throw notAnswering(dataDir, known);
      if (!told && Date.now() - started >= noticeAfterMs) {
        notify(
          `Waiting for ${known ? describe(known) : 'the closeloop process'} that owns ${dataDir} to answer…`,
        );
        told = true;
      }
    }
    await new Promise((r) => setTimeout(r, retryMs));
  }
}

async function openAsOwner(
  dataDir: string,
  open: () => Promise<OpenedPglite>,
  ownership: NonNullable<Awaited<ReturnType<typeof tryOwn>>>,
  options: SharingOptions,
): Promise<Embedded> {
  let opened: OpenedPglite;
  try {
    opened = await open();
  } catch (err) {
    await ownership.release();
    throw err;
  }
  const pglite = opened.client;
  tightenDataFolder(dataDir);
  const role = options.role ?? 'command';
  const graceMs = options.clientGraceMs ?? (role === 'service' ? 10_000 : Number.POSITIVE_INFINITY);
  const socket = socketPath(dataDir);
  let shared: SharedPglite | undefined;
  let closing: Promise<void> | undefined;
  const close = async () => {
    try {
      if (shared) {
        const clients = shared.clients();
        if (clients.length > 0)
          options.notify?.(
            `Waiting for ${clients.join(', ')}, connected to the database through this process, to finish${Number.isFinite(graceMs) ? ` (at most ${Math.round(graceMs / 1000)} s)` : ''}.`,
          );
        await shared.close(graceMs);
      }
      await opened.close();
      tightenDataFolder(dataDir);
    } finally {
      await ownership.release();
      if (dirname(socket) !== dataDir) rmSync(dirname(socket), { recursive: true, force: true });
    }
  };
  return {
    via: 'self',
    pglite,
    async share() {
      shared = await sharePglite(pglite, socket, { idleInTurnMs: options.idleInTurnMs });
      ownership.publish({
        pid: process.pid,
        command: options.label ?? 'a closeloop process',
        role,
        startedAt: processStartedAt(),
        socket,
      });
    },
    close: () => {
      closing ??= close();
      return closing;
    },
  };
}

/** In the data folder (owner-only already), unless its path is too long for a socket address. */
function socketPath(dataDir: string): string {
  const inFolder = join(dataDir, 'closeloop.sock');
  if (Buffer.byteLength(inFolder) <= maxSocketPathBytes) return inFolder;
  return join(mkdtempSync(join(tmpdir(), 'closeloop-')), 'db.sock');
}

/** A connection through the owner, or undefined when it does not answer (yet). */
async function connectToOwner(
  owner: OwnerInfo,
  label: string | undefined,
  deadline: number,
): Promise<postgres.Sql | undefined> {
  // The owner answers a new connection from its event loop, which one long statement can hold for a
  // few seconds (a 100,000-row apply); a stopped or stuck owner never answers.
  const seconds = Math.max(1, Math.min(10, Math.ceil((deadline - Date.now()) / 1000)));
  const sql = postgres({
    path: owner.socket,
    user: 'postgres',
    database: 'postgres',
    // PGlite is one session shared by every client: statements stay unnamed, so none is left behind.
    prepare: false,
    max: 1,
    connect_timeout: seconds,
    onnotice: () => {},
    connection: { application_name: `${label ?? 'a closeloop process'} (pid ${process.pid})` },
  });
  try {
    await sql`select 1`;
    return sql;
  } catch {
    await sql.end({ timeout: 0 }).catch(() => {});
    return undefined;
  }
}

function describe(owner: OwnerInfo): string {
  return `${owner.command} (pid ${owner.pid}, started ${owner.startedAt})`;
}

function notAnswering(dataDir: string, owner: OwnerInfo | undefined): AppError {
  const lockFile =
    process.platform === 'linux'
      ? ''
      : ` If pid ${owner?.pid} is not closeloop, delete ${ownerLockFile(dataDir)}.`;
  return new AppError(
    'service_unavailable',
    owner
      ? `The data folder ${dataDir} belongs to ${describe(owner)}, which does not answer on ${owner.socket}: it is stuck or stopped. Let it finish, or stop it (kill ${owner.pid}), then run this again.${lockFile}`
      : `Another process holds the data folder ${dataDir} and has not said which (no closeloop-owner.json). Stop the other closeloop process using it, then run this again.`,
  );
}
