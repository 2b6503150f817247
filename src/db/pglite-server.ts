import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';

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

const protocolVersion3 = 196_608;
const sslRequest = 80_877_103;
const gssRequest = 80_877_104;
const cancelRequest = 80_877_102;
/** PostgreSQL refuses messages over 1 GB; anything larger here is not the protocol. */
const maxMessageBytes = 1 << 30;

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
      () => {
        // PGlite itself failed: the session's state is unknown, the client cannot go on.
        c.inTurn = false;
        c.destroy();
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

const terminate = 0x58; // 'X'

class Connection {
  name = 'a closeloop process';
  inTurn = false;
  private readonly socket: Socket;
  private pending: Buffer = Buffer.alloc(0);
  private readonly messages: Buffer[] = [];
  private started = false;
  private open = true;
  private wake: (() => void) | undefined;
  private readonly startupAnswer: Buffer;
  private readonly onMessage: () => void;

  constructor(socket: Socket, startupAnswer: Buffer, onMessage: () => void) {
    this.socket = socket;
    this.startupAnswer = startupAnswer;
    this.onMessage = onMessage;
    socket.on('data', (data) => this.receive(data));
    socket.on('error', () => socket.destroy());
  }

  hasMessage(): boolean {
    return this.messages.length > 0;
  }

  /**
   * The next message; undefined once the client is gone and its messages are done, or after `idleMs`
   * without one. Messages that arrived before the client left still run, as PostgreSQL runs what it
   * read from a connection before seeing it close.
   */
  async next(idleMs: number): Promise<Buffer | undefined> {
    if (this.messages.length === 0 && this.open) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, idleMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    return this.messages.shift();
  }

  write(data: Buffer): void {
    if (this.open && data.length > 0) this.socket.write(data);
  }

  destroy(): void {
    this.socket.destroy();
    this.closed();
  }

  closed(): void {
    this.open = false;
    this.wake?.();
  }

  private receive(data: Buffer): void {
    this.pending = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
    let woke = false;
    for (;;) {
      const message = this.started ? this.typedMessage() : this.untypedMessage();
      if (message === 'incomplete') break;
      if (message === 'invalid') {
        // Not the PostgreSQL protocol (or a cancel request, which PGlite cannot act on): hang up.
        this.pending = Buffer.alloc(0);
        this.destroy();
        break;
      }
      if (message === undefined) continue;
      this.messages.push(message);
      woke = true;
    }
    if (woke) {
      this.wake?.();
      this.onMessage();
    }
  }

  /** Before the startup message: length, code, body. SSL and GSS encryption are declined, as on a server without them. */
  private untypedMessage(): Buffer | 'incomplete' | 'invalid' | undefined {
    if (this.pending.length < 8) return 'incomplete';
    const length = this.pending.readInt32BE(0);
    if (length < 8 || length > 10_000) return 'invalid';
    if (this.pending.length < length) return 'incomplete';
    const code = this.pending.readInt32BE(4);
    const body = this.pending.subarray(8, length);
    this.pending = this.pending.subarray(length);
    if (code === sslRequest || code === gssRequest) {
      this.socket.write('N');
      return undefined;
    }
    if (code === cancelRequest || code !== protocolVersion3) return 'invalid';
    this.started = true;
    const params = body.toString('utf8').split('\0');
    const at = params.indexOf('application_name');
    if (at >= 0 && params[at + 1]) this.name = params[at + 1]!;
    this.socket.write(this.startupAnswer);
    return undefined;
  }

  private typedMessage(): Buffer | 'incomplete' | 'invalid' {
    if (this.pending.length < 5) return 'incomplete';
    const length = this.pending.readInt32BE(1);
    if (length < 4 || length > maxMessageBytes) return 'invalid';
    if (this.pending.length < length + 1) return 'incomplete';
    // A copy: the socket's buffer may be reused, and the message waits for its turn.
    const message = Buffer.from(this.pending.subarray(0, length + 1));
    this.pending = this.pending.subarray(length + 1);
    return message;
  }
}

/** Whether the last message in `output` is ReadyForQuery with status idle ("I", not in a transaction). */
function endsReadyIdle(output: Buffer): boolean {
  let at = 0;
  let last: { type: number; at: number; length: number } | undefined;
  while (at + 5 <= output.length) {
    const length = output.readInt32BE(at + 1);
    last = { type: output[at]!, at, length };
    at += 1 + length;
  }
  return (
    last !== undefined &&
    at === output.length &&
    last.type === 0x5a && // 'Z'
    last.length === 5 &&
    output[last.at + 5] === 0x49 // 'I'
  );
}

function startupMessage(): Buffer {
  const params = Buffer.from('user\0postgres\0database\0postgres\0\0');
  const message = Buffer.alloc(8 + params.length);
  message.writeInt32BE(message.length, 0);
  message.writeInt32BE(protocolVersion3, 4);
  params.copy(message, 8);
  return message;
}

function simpleQuery(text: string): Buffer {
  const body = Buffer.from(`${text}\0`);
  const message = Buffer.alloc(5 + body.length);
  message.write('Q', 0);
  message.writeInt32BE(4 + body.length, 1);
  body.copy(message, 5);
  return message;
}

function sync(): Buffer {
  return Buffer.from([0x53, 0, 0, 0, 4]); // 'S'
}
