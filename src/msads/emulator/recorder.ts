import type { RecordedRequest } from './types.ts';

/*
 * The requests the emulator keeps for tests to inspect: all of them, none (the benchmark), or the last N.
 */

export interface Recorder {
  readonly enabled: boolean;
  add(request: RecordedRequest): void;
  list(): RecordedRequest[];
  clear(): void;
}

export function createRecorder(mode: 'all' | 'none' | number): Recorder {
  if (mode !== 'all' && mode !== 'none' && !(Number.isInteger(mode) && mode >= 0))
    throw new TypeError(
      `Emulator option record must be 'all', 'none' or a whole number ≥ 0; got ${JSON.stringify(mode)}`,
    );
  const keep = mode === 'all' ? Number.POSITIVE_INFINITY : mode === 'none' ? 0 : mode;
  const requests: RecordedRequest[] = [];
  const trim = () => {
    if (requests.length > keep) requests.splice(0, requests.length - keep);
  };
  return {
    enabled: keep > 0,
    add(request) {
      requests.push(request);
      // Trimming in chunks keeps a long run from shifting the array on every call.
      if (requests.length >= keep * 2 + 64) trim();
    },
    list() {
      trim();
      return requests;
    },
    clear() {
      requests.length = 0;
    },
  };
}

/** Lower-cased header names; the bearer token is not kept. */
export function recordedHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name] = name === 'authorization' ? `${value.split(/\s+/)[0]} …` : value;
  });
  return out;
}

/** The response body as JSON when it is JSON, as text otherwise. */
export async function recordedResponse(response: Response): Promise<unknown> {
  const text = await response.clone().text();
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
