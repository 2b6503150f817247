import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { multipartFile } from '../../src/http/multipart.ts';

const boundary = 'closeloop-test-boundary';
const type = `multipart/form-data; boundary=${boundary}`;
const head = (name: string, filename: string) =>
  `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: text/csv\r\n\r\n`;
const csv = 'Microsoft Click Id,Conversion Name,Conversion Time\r\nx,y,z\r\n';

/** A body whose pieces are sent one by one, each when the test calls `send`. */
function heldBody() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  return {
    body,
    send: (text: string) => controller.enqueue(Buffer.from(text)),
    end: () => controller.close(),
  };
}

/** Reads `stream` as it arrives: the text so far, whether it ended, and its error. */
function watch(stream: NodeJS.ReadableStream) {
  const seen = { text: '', ended: false, error: undefined as Error | undefined };
  stream.on('data', (chunk: Buffer) => {
    seen.text += chunk.toString();
  });
  stream.on('end', () => {
    seen.ended = true;
  });
  stream.on('error', (err: Error) => {
    seen.error = err;
  });
  return seen;
}

describe('multipartFile', () => {
  it('does not end the file when its part ends, only when the whole body was read', async () => {
    const { body, send, end } = heldBody();
    const part = multipartFile(body, type);
    // The first part and the delimiter that ends it: busboy knows the file is complete.
    send(`${head('file', 'a.csv')}${csv}\r\n--${boundary}`);
    const file = watch((await part).stream);
    for (let i = 0; i < 5; i++) await tick();
    expect(file.text).toBe(csv);
    expect(file.ended).toBe(false);
    send('--\r\n');
    end();
    await expect.poll(() => file.ended).toBe(true);
    expect(file.error).toBeUndefined();
  });

  it('fails the file when a second file follows, even after the first was read whole', async () => {
    const { body, send, end } = heldBody();
    const part = multipartFile(body, type);
    send(`${head('file', 'a.csv')}${csv}\r\n`);
    const file = watch((await part).stream);
    for (let i = 0; i < 5; i++) await tick();
    send(`${head('file', 'b.csv')}${csv}\r\n--${boundary}--\r\n`);
    end();
    await expect.poll(() => file.error).toBeDefined();
    expect(file.error).toMatchObject({
      code: 'bad_request',
      message: expect.stringContaining('Send one file per upload'),
    });
    expect(file.ended).toBe(false);
  });

  it('fails the file when the body ends before its closing boundary', async () => {
    const { body, send, end } = heldBody();
    const part = multipartFile(body, type);
    send(`${head('file', 'a.csv')}${csv}`);
    const file = watch((await part).stream);
    end();
    await expect.poll(() => file.error).toBeDefined();
    expect(file.error).toMatchObject({ code: 'bad_request', message: expect.stringContaining('cut short') });
    expect(file.ended).toBe(false);
  });

  it('keeps a failure for a reader that starts late, without an uncaught error meanwhile', async () => {
    const { body, send, end } = heldBody();
    const part = multipartFile(body, type);
    send(`${head('file', 'a.csv')}${csv}`);
    const { stream } = await part;
    end();
    // Nobody reads the file yet (closeloop writes the upload row first), and the body fails.
    for (let i = 0; i < 5; i++) await tick();
    expect(stream.destroyed).toBe(true);
    await expect(
      (async () => {
        for await (const _ of stream);
      })(),
    ).rejects.toMatchObject({ code: 'bad_request', message: expect.stringContaining('cut short') });
  });

  it('passes an error of the body itself on unchanged', async () => {
    const { body, send } = heldBody();
    let fail!: (err: Error) => void;
    const failing = body.pipeThrough(
      new TransformStream({
        start(c) {
          fail = (err) => c.error(err);
        },
      }),
    );
    const part = multipartFile(failing, type);
    send(`${head('file', 'a.csv')}${csv}`);
    const file = watch((await part).stream);
    const tooLarge = Object.assign(new Error('The request body is larger than 64 MiB.'), {
      code: 'payload_too_large',
    });
    fail(tooLarge);
    await expect.poll(() => file.error).toBeDefined();
    expect(file.error?.message).toContain('larger than 64 MiB');
  });
});
