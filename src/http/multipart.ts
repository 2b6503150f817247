import { PassThrough, Readable } from 'node:stream';
import busboy from 'busboy';
import { AppError } from '../errors.ts';

export interface MultipartFile {
  /**
   * The file's bytes, streamed as they arrive: nothing is buffered whole. It ends only once the whole
   * body has been read and found complete; a body that is cut short or carries a second file makes it
   * fail with a 400 instead, so nothing of such a request is taken for a whole file.
   */
  stream: Readable;
  filename: string;
  /** Form fields that came before the file part. */
  fields: Record<string, string>;
}

/** Fields are small: `kind` is the only one read. busboy's default would hold 1 MB per field. */
const maxFieldBytes = 1024;
const maxFields = 20;

/**
 * The part named `field` of a multipart/form-data body, as a stream. Hono's parseBody() would hold a
 * 64 MB upload in memory; busboy hands the file over while it is still arriving. Fields must come
 * before the file (as browsers and curl -F send them in order) to be seen. An error of `body` itself
 * (an AppError such as the 413 of the body limit) reaches the file stream unchanged.
 */
export function multipartFile(
  body: ReadableStream<Uint8Array>,
  contentType: string,
  field = 'file',
): Promise<MultipartFile> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: { 'content-type': contentType },
        limits: { files: 1, fields: maxFields, fieldSize: maxFieldBytes, parts: maxFields + 1 },
      });
    } catch (err) {
      reject(unreadable(err));
      return;
    }
    const fields: Record<string, string> = {};
    // The stream handed over; it ends when the whole body has been parsed, not when the part ends.
    let file: PassThrough | undefined;
    let fileEnded = false;
    const fail = (error: AppError) => {
      if (!file) reject(error);
      else if (!file.destroyed) file.destroy(error);
    };
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) {
        fail(new AppError('bad_request', `The form field "${name}" is longer than ${maxFieldBytes} bytes.`));
        return;
      }
      fields[name] = value;
    });
    parser.on('file', (name, stream, info) => {
      if (name !== field) {
        stream.on('error', () => {});
        stream.resume();
        fail(
          new AppError(
            'validation_failed',
            `Send the file in a multipart field named "${field}" (curl -F ${field}=@conversions.csv); this one is named "${name}".`,
          ),
        );
        return;
      }
      file = new PassThrough();
      // The reader may start after the body failed (the upload row is written first): it finds the error
      // on the stream then. Until it listens, this keeps the error from being an uncaught one.
      file.on('error', () => {});
      stream.on('end', () => {
        fileEnded = true;
      });
      // busboy fails the part with the body's error too; unheard, that error would end the process.
      stream.on('error', (err) => fail(unreadable(err)));
      stream.pipe(file, { end: false });
      resolve({ stream: file, filename: info.filename || 'upload', fields });
    });
    parser.on('filesLimit', () =>
      fail(
        new AppError(
          'bad_request',
          'Send one file per upload: this request carries a second file. Upload each file on its own.',
        ),
      ),
    );
    parser.on('fieldsLimit', () =>
      fail(
        new AppError('bad_request', `The form has more than ${maxFields} fields; send the file and kind.`),
      ),
    );
    parser.on('partsLimit', () =>
      fail(
        new AppError('bad_request', `The form has more than ${maxFields + 1} parts; send the file and kind.`),
      ),
    );
    parser.on('error', (err) => fail(unreadable(err)));
    parser.on('close', () => {
      if (!file)
        reject(
          new AppError(
            'validation_failed',
            `Send the file in a multipart field named "${field}" (curl -F ${field}=@conversions.csv).`,
          ),
        );
      else if (file.destroyed) return;
      else if (fileEnded) file.end();
      else file.destroy(unreadable(new Error('the file part did not end')));
    });
    Readable.fromWeb(body as never)
      .on('error', (err) => parser.destroy(err))
      .pipe(parser);
  });
}

function unreadable(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const message = (err as Error).message;
  // busboy's words for a body that stops before its closing boundary.
  if (/unexpected end of (form|multipart data)/i.test(message))
    return new AppError(
      'bad_request',
      'The multipart body ended before its closing boundary: the upload was cut short. Send the file again.',
    );
  return new AppError('bad_request', `The multipart body cannot be read: ${message}`);
}
