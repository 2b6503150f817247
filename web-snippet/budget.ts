// The web snippet's size budget and how it is measured: shared by build.ts and the size test.
import { createHash } from 'node:crypto';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

/**
 * The IIFE's budget, gzipped (issue 4: at most 1.5 KB). Every byte is downloaded by every visitor of
 * every page the snippet is on; new behaviour pays for itself here or does not go in.
 */
export const GZIP_BUDGET = 1536;

export interface BuiltFile {
  file: string;
  /** 12 hex characters of SHA-256: the immutable URL /snippet.<hash>.js (src/http/snippet.ts). */
  hash: string;
  /** For <script integrity=…>. */
  integrity: string;
  raw: number;
  gzip: number;
  brotli: number;
}

/** 12 hex characters of SHA-256: the name of the immutable URL, here and in src/http/snippet.ts. */
export function contentHash(code: Uint8Array): string {
  return createHash('sha256').update(code).digest('hex').slice(0, 12);
}

export function measure(file: string, code: Uint8Array): BuiltFile {
  return {
    file,
    hash: contentHash(code),
    integrity: `sha384-${createHash('sha384').update(code).digest('base64')}`,
    raw: code.byteLength,
    gzip: gzipSync(code, { level: 9 }).byteLength,
    brotli: brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).byteLength,
  };
}
