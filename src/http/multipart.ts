import { Readable } from 'node:stream';
import busboy from 'busboy';
import { AppError } from '../errors.ts';

export interface MultipartFile {
  /** The file's bytes, streamed as they arrive: nothing is buffered whole. */
  stream: Readable;
  filename: string;
  /** Form fields that came before the file part. */
  fields: Record<string, string>;
}

/**
 * The part named `field` of a multipart/form-data body, as a stream. Hono's parseBody() would hold a
 * 64 MB upload in memory; busboy hands the file over while it is still arriving. Fields must come
 * before the file (as browsers and curl -F send them in order) to be seen.
 */
export function multipartFile(
  body: ReadableStream<Uint8Array>,
  contentType: string,
  field = 'file',
): Promise<MultipartFile> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: { 'content-type': contentType }, limits: { files: 1, fields: 20 } });
    } catch (err) {
      reject(new AppError('bad_request', `The multipart body cannot be read: ${(err as Error).message}`));
      return;
    }
    const fields: Record<string, string> = {};
    let found = false;
    parser.on('field', (name, value) => {
      fields[name] = value;
    });
    parser.on('file', (name, stream, info) => {
      if (name !== field || found) {
        stream.resume();
        return;
      }
      found = true;
      resolve({ stream, filename: info.filename || 'upload', fields });
    });
    parser.on('error', (err) =>
      reject(new AppError('bad_request', `The multipart body cannot be read: ${(err as Error).message}`)),
    );
    parser.on('close', () => {
      if (!found)
        reject(
          new AppError(
            'validation_failed',
            `Send the file in a multipart field named "${field}" (curl -F ${field}=@conversions.csv).`,
          ),
        );
    });
    Readable.fromWeb(body as never)
      .on('error', (err) => parser.destroy(err))
      .pipe(parser);
  });
}
