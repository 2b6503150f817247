/**
 * A fake ResponseTap pull API on loopback, for the poller's tests: the two routes it reads
 * (`GET /api/1/accounts/{accountId}/cdrids?fromDate=&toDate=` → `{"cdrUniqueIds": […]}` and
 * `GET /api/1/accounts/{accountId}/calls/{id}` → the call), behind HTTP Basic auth. Calls are added while it
 * runs (a call that finishes after a poll); every request is recorded.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeResponseTap {
  baseUrl: string;
  /** Adds a call on `day` (YYYY-MM-DD), listed by cdrids and served by calls/{id}. */
  addCall(day: string, id: string, detail: Record<string, unknown>): void;
  /** Paths requested, in order ("/cdrids?fromDate=…", "/calls/…"), without the account prefix. */
  requests: string[];
  /** Answer every request with this status instead (e.g. 503). */
  failWith: number | null;
  close(): Promise<void>;
}

export async function startFakeResponseTap(options: {
  accountId: string;
  apiKey: string;
}): Promise<FakeResponseTap> {
  const days = new Map<string, string[]>();
  const details = new Map<string, Record<string, unknown>>();
  const expected = `Basic ${Buffer.from(options.apiKey).toString('base64')}`;
  const prefix = `/api/1/accounts/${options.accountId}`;
  const fake: FakeResponseTap = {
    baseUrl: '',
    requests: [],
    failWith: null,
    addCall(day, id, detail) {
      days.set(day, [...(days.get(day) ?? []), id]);
      details.set(id, detail);
    },
    close: () =>
      new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://fake');
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (!url.pathname.startsWith(`${prefix}/`)) return send(404, { error: 'no such account' });
    const path = url.pathname.slice(prefix.length) + url.search;
    fake.requests.push(path);
    if (request.headers.authorization !== expected) return send(401, { error: 'Unauthorized' });
    if (fake.failWith !== null) return send(fake.failWith, { error: 'unavailable' });
    if (url.pathname === `${prefix}/cdrids`) {
      const from = url.searchParams.get('fromDate') ?? '';
      const to = url.searchParams.get('toDate') ?? '';
      const ids = [...days.entries()].filter(([day]) => day >= from && day <= to).flatMap(([, list]) => list);
      return send(200, { cdrUniqueIds: ids });
    }
    const call = /^\/calls\/([^/]+)$/.exec(url.pathname.slice(prefix.length));
    const detail = call ? details.get(decodeURIComponent(call[1]!)) : undefined;
    if (detail) return send(200, detail);
    return send(404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}
