import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { applyUpload } from '../../src/ingest/apply.ts';
import { createApiKey, revokeApiKey } from '../../src/services/api-keys.ts';
import { getGoal } from '../../src/services/goals.ts';
import { testApp } from '../helpers/app.ts';
import { testClock } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';

/**
 * Input the database would refuse, or that no valid request carries, gets a 4xx problem that names the
 * parameter and what it takes; never a 500 (issue 8 found seven). Each route's path and query are
 * parsed by the shared schemas of src/http/params.ts, names by src/domain/names.ts.
 */
const clock = testClock('2026-06-01T00:00:00Z');
let database: Database;
let t: Awaited<ReturnType<typeof testApp>>;
let uploadId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  t = await testApp(database, clock.now);
  const upload = await t.call('/api/v1/uploads?filename=a.csv', {
    method: 'POST',
    headers: { 'content-type': 'text/csv' },
    body: 'Microsoft Click Id,Conversion Name,Conversion Time\nx,y,z\n',
  });
  uploadId = (await upload.json()).id;
});
afterAll(() => database.close());

async function problem(res: Response, status: number, detail: RegExp) {
  const body = await res.text();
  expect(res.status, body).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(JSON.parse(body).detail).toMatch(detail);
}

describe('path and query parameters', () => {
  const cases: [string, string, number, RegExp][] = [
    ['GET', '/api/v1/goals/%00', 404, /No goal "\\u0000" \(a goal name has at most 100 characters/],
    ['PATCH', '/api/v1/goals/Pur%0D%0Achase', 404, /No goal/],
    ['GET', `/api/v1/goals/${'x'.repeat(101)}`, 404, /No goal/],
    ['GET', '/api/v1/uploads/abc', 404, /No upload "abc" \(upload ids are UUIDs\)/],
    ['POST', '/api/v1/uploads/abc/apply', 404, /No upload "abc"/],
    ['GET', '/api/v1/uploads/abc/rows', 404, /No upload/],
    ['GET', '/api/v1/uploads/%00/results.csv', 404, /No upload/],
    ['GET', '/api/v1/uploads?status=%00', 400, /status: must be one of previewing, previewed/],
    ['GET', '/api/v1/submissions?limit=1.5', 400, /limit: must be a whole number from 1 to 1000/],
    ['GET', '/api/v1/submissions?limit=1e3', 400, /limit: must be a whole number/],
    ['GET', '/api/v1/submissions?before=%2B275760-09-13T00:00:00.000Z', 400, /before: .*ISO 8601/],
    ['GET', '/api/v1/submissions?before=0000-01-01T00:00:00Z', 400, /before: .*the year 0000/],
    ['GET', '/api/v1/submissions?before=2026-06-01T00:00:00', 400, /before: .*no UTC offset/],
    ['GET', '/api/v1/submissions?account=%00', 400, /account: must be an account id, a UUID/],
    ['GET', '/api/v1/accounts/%00', 404, /No account "\\u0000"/],
    ['GET', `/api/v1/accounts/${'9'.repeat(30)}`, 404, /No account/],
    ['POST', '/api/v1/accounts/abc/auto-tagging', 404, /No account "abc"/],
  ];
  it.each(cases)('%s %s → %i', async (method, path, status, detail) => {
    await problem(await t.call(path, { method }), status, detail);
  });

  it.each([
    ['after=99999999999999', /after: must be a whole number from -1 to 2147483647/],
    ['after=1.5', /after: must be a whole number/],
    ['limit=1.5', /limit: must be a whole number from 1 to 1000/],
    ['limit=0', /limit: must be a whole number from 1 to 1000/],
    ['status=%00', /status: .*must be one of ok, held, duplicate/],
    ['status=rejected,nope', /status: .*must be one of/],
  ])("GET an upload's rows?%s → 400", async (query, detail) => {
    await problem(await t.call(`/api/v1/uploads/${uploadId}/rows?${query}`), 400, detail);
  });

  it('reads rows from the start without after, and pages with it', async () => {
    const all = await (
      await t.call(`/api/v1/uploads/${uploadId}/rows?status=rejected&limit=1&after=`)
    ).json();
    expect(all.rows.map((r: { row: number }) => r.row)).toEqual([2]);
    const next = await (await t.call(`/api/v1/uploads/${uploadId}/rows?after=2`)).json();
    expect(next).toEqual({ rows: [], next: null });
  });

  it("GET an upload's results.csv?errors= takes only 'only'", async () => {
    await problem(
      await t.call(`/api/v1/uploads/${uploadId}/results.csv?errors=%00`),
      400,
      /errors: must be one of only/,
    );
    expect((await t.call(`/api/v1/uploads/${uploadId}/results.csv?errors=only`)).status).toBe(200);
  });

  it.each([
    ['filename=%00', /filename: must not contain control characters/],
    ['filename=a%0Ab.csv', /filename: must not contain control characters .*\(found U\+000A at position 2\)/],
    ['kind=%00', /kind: must be one of conversions, adjustments/],
  ])('POST /api/v1/uploads?%s → 400', async (query, detail) => {
    const res = await t.call(`/api/v1/uploads?${query}`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: 'a',
    });
    await problem(res, 400, detail);
  });
});

describe('names', () => {
  it.each([
    ['NUL', 'Pur\u0000chase', /name: must not contain control characters .*U\+0000/],
    ['CR/LF', 'Purchase\r\nX-Injected: 1', /name: must not contain control characters .*U\+000D/],
    ['a tab', 'Pur\tchase', /U\+0009/],
    ['DEL', 'Pur\u007fchase', /U\+007F/],
    ['a C1 control', 'Pur\u0085chase', /U\+0085/],
    ['a line separator', 'Pur\u2028chase', /U\+2028/],
    ['half a surrogate pair', 'Pur\ud800chase', /name: is not valid Unicode text/],
  ])('a goal name with %s → 422', async (_, name, detail) => {
    await problem(await t.call('/api/v1/goals', { method: 'POST', json: { name } }), 422, detail);
  });

  it('a goal name in any script, with emoji, is fine', async () => {
    const res = await t.call('/api/v1/goals', { method: 'POST', json: { name: 'Kauf – 購入 🛒' } });
    expect(res.status).toBe(201);
    expect((await t.call(`/api/v1/goals/${encodeURIComponent('Kauf – 购入 🛒')}`)).status).toBe(404);
    expect((await t.call(`/api/v1/goals/${encodeURIComponent('Kauf – 購入 🛒')}`)).status).toBe(200);
  });

  it("a goal's account is Microsoft's numeric account id", async () => {
    await problem(
      await t.call('/api/v1/goals', { method: 'POST', json: { name: 'A', accountId: '\u0000' } }),
      422,
      /accountId: Microsoft's numeric account id/,
    );
  });

  it('an API key name with a line break is refused', async () => {
    await expect(createApiKey({ ctx: t.ctx, name: 'zapier\nadmin' })).rejects.toMatchObject({
      code: 'validation_failed',
      message: expect.stringContaining("The API key's name must not contain control characters"),
    });
  });
});

describe('JSON bodies', () => {
  it('invalid UTF-8 → 400', async () => {
    const res = await t.call('/api/v1/conversions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.concat([
        Buffer.from('{"conversions":[{"conversionName":"'),
        Buffer.from([0xc3, 0x28]),
        Buffer.from('"}]}'),
      ]),
    });
    await problem(res, 400, /The JSON body is not valid UTF-8 text/);
  });

  it('more than 4 MiB, streamed without a Content-Length → 413', async () => {
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > 8 << 20) return controller.close();
        sent += 1 << 16;
        controller.enqueue(new Uint8Array(1 << 16).fill(0x20));
      },
    });
    const res = await t.call('/api/v1/conversions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);
    await problem(res, 413, /The JSON body is larger than 4 MiB\. Send at most 1,000 items per request\./);
    expect(sent).toBeLessThan(8 << 20);
  });
});

describe('multipart bodies', () => {
  const boundary = 'closeloop-test-boundary';
  const part = (name: string, filename: string, content: string) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: text/csv\r\n\r\n${content}\r\n`;
  const csv = `Microsoft Click Id,Conversion Name,Conversion Time\r\n${'a'.repeat(32)},Purchase,2026-05-01 10:00:00\r\n`;
  const post = (body: string) =>
    t.call('/api/v1/uploads', {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      body,
    });
  const named = async (filename: string) =>
    (await (await t.call('/api/v1/uploads')).json()).uploads.find(
      (u: { filename: string }) => u.filename === filename,
    );

  it('without its closing boundary → 400, and the upload fails at once', async () => {
    const res = await post(part('file', 'cut.csv', csv));
    await problem(
      res,
      400,
      /ended before its closing boundary: the upload was cut short\. Send the file again\./,
    );
    expect(await named('cut.csv')).toMatchObject({
      status: 'failed',
      error: { code: 'INTERRUPTED', message: expect.stringContaining('The file did not arrive whole') },
    });
    expect((await (await t.call('/api/v1/uploads?status=previewing')).json()).uploads).toEqual([]);
  });

  it('with a second file → 400 saying to send one file per upload, and nothing previewed', async () => {
    const res = await post(
      `${part('file', 'one.csv', csv)}${part('file', 'two.csv', csv)}--${boundary}--\r\n`,
    );
    await problem(res, 400, /Send one file per upload/);
    expect(await named('one.csv')).toMatchObject({ status: 'failed' });
    const previewed = (await (await t.call('/api/v1/uploads?status=previewed')).json()).uploads;
    expect(previewed.map((u: { filename: string }) => u.filename)).not.toContain('one.csv');
  });

  it('whole, with one file → previewed', async () => {
    const res = await post(`${part('file', 'whole.csv', csv)}--${boundary}--\r\n`);
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ filename: 'whole.csv', status: 'previewed', totalRows: 1 });
  });

  it('with a control character in the file name → 400', async () => {
    // RFC 5987's encoded form decodes to a line break; a raw one breaks the part's header.
    const encoded = part('file', 'x', csv).replace('filename="x"', "filename*=UTF-8''a%0Ab.csv");
    const res = await post(`${encoded}--${boundary}--\r\n`);
    await problem(res, 400, /form field filename: must not contain control characters/);
  });
});

describe('the same verbs without HTTP (the command line calls them)', () => {
  it('find nothing, rather than fail, for ids and names that cannot exist', async () => {
    await expect(applyUpload({ ctx: t.ctx, uploadId: 'abc' })).rejects.toMatchObject({ code: 'not_found' });
    await expect(getGoal({ ctx: t.ctx, idOrName: 'Pur\u0000chase' })).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(revokeApiKey({ ctx: t.ctx, idOrPrefix: 'cl_\u0000' })).rejects.toMatchObject({
      code: 'not_found',
    });
  });
});
