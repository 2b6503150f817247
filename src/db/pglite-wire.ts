import type { Socket } from 'node:net';

/**
 * The PostgreSQL wire protocol as far as the PGlite socket server needs it (pglite-server.ts): a
 * client's messages framed from its byte stream, its startup answered, the few messages the server
 * sends PGlite itself, and where PGlite's answers leave the session.
 */

const protocolVersion3 = 196_608;
const sslRequest = 80_877_103;
const gssRequest = 80_877_104;
const cancelRequest = 80_877_102;
/** PostgreSQL refuses messages over 1 GB; anything larger here is not the protocol. */
const maxMessageBytes = 1 << 30;

export const terminate = 0x58; // 'X'

/** One client: its messages, framed, waiting for its turn. */
export class Connection {
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

  /** Close after what was written has gone out. */
  end(): void {
    this.socket.end();
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
export function endsReadyIdle(output: Buffer): boolean {
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

export function startupMessage(): Buffer {
  const params = Buffer.from('user\0postgres\0database\0postgres\0\0');
  const message = Buffer.alloc(8 + params.length);
  message.writeInt32BE(message.length, 0);
  message.writeInt32BE(protocolVersion3, 4);
  params.copy(message, 8);
  return message;
}

export function simpleQuery(text: string): Buffer {
  const body = Buffer.from(`${text}\0`);
  const message = Buffer.alloc(5 + body.length);
  message.write('Q', 0);
  message.writeInt32BE(4 + body.length, 1);
  body.copy(message, 5);
  return message;
}

/**
 * ErrorResponse (severity FATAL, SQLSTATE XX000 internal_error) and ReadyForQuery: postgres.js fails
 * the query in flight with it (a PostgresError whose message is `message`) only once ReadyForQuery
 * follows; the server then closes the connection.
 */
export function fatalError(message: string): Buffer {
  const fields = Buffer.from(`SFATAL\0VFATAL\0CXX000\0M${message}\0\0`);
  const error = Buffer.alloc(5 + fields.length);
  error.write('E', 0);
  error.writeInt32BE(4 + fields.length, 1);
  fields.copy(error, 5);
  return Buffer.concat([error, Buffer.from([0x5a, 0, 0, 0, 5, 0x49])]);
}

export function sync(): Buffer {
  return Buffer.from([0x53, 0, 0, 0, 4]); // 'S'
}
