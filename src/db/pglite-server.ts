import { chmodSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import {
  Connection,
  endsReadyIdle,
  fatalError,
  simpleQuery,
  startupMessage,
  sync,
  terminate,
} from './pglite-wire.ts';

/**
 * Serve an open PGlite database to other closeloop processes over a Unix socket, in the PostgreSQL
 * protocol (postgres.js talks to it as to a server).
 *
 * PGlite is one PostgreSQL session. Clients take turns on it: a turn starts with a client's message and
 * lasts until PostgreSQL reports the session idle (ReadyForQuery "I"), so a transaction, or a
 * Parse/Describe … Sync sequence, runs whole, with nothing of anyone else's inside it. A turn holds the
 * same lock as PGlite's own `query` and `transaction` (its transaction mutex, `_runExclusiveTransaction`,
 * an internal API: test/db/pglite-server.test.ts fails if an upgrade changes it): the owner's
 * in-process work and the clients' turns exclude each other too.
 *
 * Not @electric-sql/pglite-socket (0.2.17): its queue takes only PGlite's query lock, so a client's
 * statement runs inside the owner's open transaction — a client's acknowledged insert vanished when
 * the owner's transaction rolled back (reproduced) — and it peer-depends on exactly pglite 0.5.14 plus
 * seven extension packages.
 */
export interface SharedPglite {
  readonly socket: string;
  /** The processes connected now, as they named themselves (application_name). */
  clients(): string[];
  /**
   * Stop taking connections, let the connected processes finish for up to `graceMs` (Infinity: as long
   * as they take), then disconnect the rest (their open transactions roll back).
   */
  close(graceMs: number): Promise<void>;
}

export interface ShareOptions {
  /**
   * A client holding the database (mid-transaction) that sends nothing for this long is disconnected
   * and its transaction rolled back, so a stopped or hung process cannot stall the owner forever
   * (PostgreSQL's idle_in_transaction_session_timeout). Default 60 s; nothing closeloop does waits
   * inside a transaction.
   */
  idleInTurnMs?: number;
}

export async function sharePglite(
  pglite: PGlite,
  socketPath: string,
  options: ShareOptions = {},
): Promise<SharedPglite> {
  const idleInTurnMs = options.idleInTurnMs ?? 60_000;
  // Every client gets PGlite's answer to the startup message, taken once: it has nothing per client
  // in it, and a process that connects is answered at once, even while another holds a long turn.
  const startup = await runTurn(pglite, (exec) => exec(startupMessage()));
  const connections = new Set<Connection>();
  const turns = new Set<Promise<void>>();
  let allGone: (() => void) | undefined;

  const schedule = (c: Connection) => {
    if (c.inTurn || !c.hasMessage()) return;
    c.inTurn = true;
    const turn = runTurn(pglite, (exec) => clientTurn(c, exec, idleInTurnMs)).then(
      () => {
        c.inTurn = false;
        schedule(c);
      },
      (err: unknown) => {
        // PGlite itself failed (closed, or stopped after a failed write): the session's state is
        // unknown, the client cannot go on. It is told why, as a server ending a session tells it.
        c.inTurn = false;
        c.write(fatalError(err instanceof Error ? err.message : String(err)));
        c.end();
      },
    );
    turns.add(turn);
    void turn.finally(() => turns.delete(turn));
  };

  const server = createServer((socket) => {
    const c = new Connection(socket, startup.output, () => schedule(c));
    connections.add(c);
    socket.on('close', () => {
      connections.delete(c);
      c.closed();
      if (connections.size === 0) allGone?.();
    });
  });
  rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(socketPath, 0o600);

  return {
    socket: socketPath,
    clients: () => [...connections].map((c) => c.name),
    async close(graceMs) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        if (connections.size === 0) return;
        const gone = new Promise<void>((r) => {
          allGone = r;
        });
        const timer = Number.isFinite(graceMs) ? setTimeout(() => allGone?.(), graceMs) : undefined;
        void gone.then(() => {
          clearTimeout(timer);
          for (const c of connections) c.destroy();
        });
      });
      await Promise.allSettled([...turns]);
      rmSync(socketPath, { force: true });
    },
  };
}

type Exec = (message: Uint8Array) => Promise<{ output: Buffer; idle: boolean }>;

/**
 * Run `fn` holding the database: PGlite's transaction mutex (the lock of its own `query` and
 * `transaction`), each message also under its query mutex as PGlite's `runExclusive` asks. The file
 * system is synced once at the end, as PGlite's `query` does after a statement outside a transaction.
 */
async function runTurn<T>(pglite: PGlite, fn: (exec: Exec) => Promise<T>): Promise<T> {
  const exec: Exec = async (message) => {
    const chunks: Buffer[] = [];
    await pglite.runExclusive(() =>
      pglite.execProtocolRawStream(message, {
        syncToFs: false,
        onRawData: (data) => {
          chunks.push(Buffer.from(data));
        },
      }),
    );
    const output = Buffer.concat(chunks);
    return { output, idle: endsReadyIdle(output) };
  };
  return pglite._runExclusiveTransaction(async () => {
    try {
      return await fn(exec);
    } finally {
      await pglite.syncToFs();
    }
  });
}

/**
 * One client's turn: its messages until the session is idle with nothing more from it waiting. A client
 * that leaves (or goes silent) mid-turn has what it had not committed rolled back.
 */
async function clientTurn(c: Connection, exec: Exec, idleInTurnMs: number): Promise<void> {
  // A turn starts with the session idle: the previous turn ended so, or was abandoned.
  let idle = true;
  for (;;) {
    const message = await c.next(idleInTurnMs);
    if (message === undefined || message[0] === terminate) {
      c.destroy();
      if (!idle) await abandon(exec);
      return;
    }
    const result = await exec(message);
    c.write(result.output);
    // Flush may answer nothing; the session's state is what the last answer said.
    if (result.output.length > 0) idle = result.idle;
    if (idle && !c.hasMessage()) return;
  }
}

/**
 * A client left mid-turn: undo what it had not committed, as PostgreSQL does when a connection drops.
 * ROLLBACK aborts an open transaction block, and an implicit one of an unfinished Parse/Bind/Execute
 * (a Sync would commit that); Sync ends an error's skip-till-Sync mode, where the ROLLBACK before it was
 * ignored; the last ROLLBACK ends the failed block that may leave.
 */
async function abandon(exec: Exec): Promise<void> {
  await exec(simpleQuery('ROLLBACK'));
  await exec(sync());
  await exec(simpleQuery('ROLLBACK'));
}
