import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { conversions } from '../../src/db/schema/index.ts';
import { createLogger, errorStack } from '../../src/log.ts';
import { errorChain } from '../../src/submit/report.ts';
import { createTestDatabase, testDbKind } from '../helpers/db.ts';

/**
 * A database error is logged with its cause and without the statement's parameters: a failed chunk of a
 * 100,000-row upload was logged as one 3.7 MB line of click IDs and hashed emails, without the
 * PostgreSQL error that caused it.
 */
let database: Database;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.close());

const clickId = (i: number) => `c11c${i.toString(16).padStart(28, '0')}`;
const hashedEmail = (i: number) => `e3a11${i.toString(16).padStart(59, '0')}`;

/** A real failure with 2,000 rows of parameters: the last row repeats the first conversion. */
async function failedInsert(): Promise<unknown> {
  const rows = Array.from({ length: 2000 }, (_, i) => ({
    goalName: 'Purchase',
    clickId: clickId(i % 1999),
    matchKey: clickId(i % 1999),
    hashedEmail: hashedEmail(i % 1999),
    conversionTime: new Date('2026-06-01T12:00:00Z'),
    state: 'queued' as const,
    source: 'file' as const,
    sourceRef: `upload:test:row:${i}`,
  }));
  try {
    await database.db.insert(conversions).values(rows);
  } catch (err) {
    return err;
  }
  throw new Error('the insert was expected to fail');
}

describe(`logging a database error (${testDbKind()})`, () => {
  it('names the PostgreSQL error, its code and constraint, and leaves every row value out', async () => {
    const err = await failedInsert();
    const lines: string[] = [];
    const log = createLogger('debug', (l) => lines.push(l));
    log.error('unhandled error', err);
    // The same error inside data, and as text (what `String(err)` and error chains give).
    log.error('submitting failed for an account', { account: 'a', error: err, text: String(err) });

    for (const line of lines) {
      expect(line.length).toBeLessThan(8000);
      expect(line).not.toContain(clickId(1234));
      expect(line).not.toContain(hashedEmail(1234));
      expect(line).not.toContain(clickId(0));
    }
    const first = JSON.parse(lines[0]!);
    expect(first).toMatchObject({
      level: 'error',
      msg: 'unhandled error',
      error: 'Failed query',
      query: expect.stringMatching(/^insert into "conversions"/),
      cause: {
        error: expect.stringContaining('duplicate key value violates unique constraint'),
        code: '23505',
        constraint: 'conversions_identity_key',
      },
    });
    expect(first.stack).toMatch(/^\w+: Failed query\n {4}at /);
    const second = JSON.parse(lines[1]!);
    expect(second.error).toMatchObject({ cause: { code: '23505' } });
    expect(second.text).toContain('params: (left out of the log)');
  });

  it('says the same, as safely, where the submitter reports an account whose run threw', async () => {
    const err = await failedInsert();
    // `closeloop submit --once` prints these on stderr (the stack with LOG_LEVEL=debug), not via the log.
    for (const text of [errorChain(err), errorStack(err)!]) {
      expect(text.length).toBeLessThan(4000);
      expect(text).not.toContain(clickId(1234));
      expect(text).not.toContain(hashedEmail(1234));
    }
    expect(errorChain(err)).toMatch(
      /^Failed query: insert into "conversions".*: caused by duplicate key value/s,
    );
  });
});
