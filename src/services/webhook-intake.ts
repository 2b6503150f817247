import { createHash, timingSafeEqual } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { verifyCtmSignature } from '../../connectors/calltracking/calltrackingmetrics.ts';
import type { CallAdapter, NormalizedCall, ProviderRequest } from '../../connectors/calltracking/types.ts';
import type { Database } from '../db/client.ts';
import { type WebhookSource, type webhookEvents, webhookSources } from '../db/schema/index.ts';
import { arrayLiteral } from '../ingest/stage.ts';
import type { Secrets } from '../secrets.ts';

/**
 * The receiving half of call-tracking webhooks, below HTTP: find the source, authenticate the request
 * over its raw bytes before anything parses it, and commit its calls as events, several requests' events
 * in one INSERT (group commit). The HTTP route answers each request after its own rows are committed.
 */

/** A source as the receiver needs it, its secrets decrypted once and kept for `sourceCacheMs`. */
export interface ReceivingSource {
  source: WebhookSource;
  secret: string | null;
  token: string;
  basicAuth: string | null;
}

/**
 * How long a source stays in the receiver's memory: every webhook would otherwise read it and decrypt its
 * secret. A source changed or removed meanwhile is seen within this time (an event for a removed source
 * then fails its foreign key and is answered 404).
 */
export const sourceCacheMs = 10_000;

export function createSourceCache(database: Database, secrets: Secrets, now: () => Date = () => new Date()) {
  const cache = new Map<string, { at: number; value: ReceivingSource }>();
  return async function lookup(id: string, provider: string): Promise<ReceivingSource | undefined> {
    const t = now().getTime();
    const hit = cache.get(id);
    if (hit && t - hit.at < sourceCacheMs)
      return hit.value.source.provider === provider ? hit.value : undefined;
    const [source] = await database.db.select().from(webhookSources).where(eq(webhookSources.id, id));
    if (!source) {
      cache.delete(id);
      return undefined;
    }
    const value: ReceivingSource = {
      source,
      secret: source.secretEnc === null ? null : secrets.decrypt(source.secretEnc),
      token: secrets.decrypt(source.tokenEnc),
      basicAuth: source.basicAuthEnc === null ? null : secrets.decrypt(source.basicAuthEnc),
    };
    if (cache.size > 10_000) cache.clear();
    cache.set(id, { at: t, value });
    return source.provider === provider ? value : undefined;
  };
}

/** Constant-time equality of two secrets of any length (both hashed first, so lengths leak nothing). */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Whether the request proves it comes from the source's provider; the reason when it does not. */
export function authenticate(
  adapter: CallAdapter,
  s: ReceivingSource,
  request: ProviderRequest,
  now: Date,
): { ok: true } | { ok: false; reason: string } {
  if (s.basicAuth !== null) {
    const header = request.headers.authorization ?? '';
    const m = /^Basic\s+(\S+)$/i.exec(header);
    const given = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
    if (!sameSecret(given, s.basicAuth)) return { ok: false, reason: 'Basic authentication failed.' };
  }
  if (adapter.auth === 'ctm-signature')
    return verifyCtmSignature({
      secret: s.secret ?? '',
      time: request.headers['x-ctm-time'],
      signature: request.headers['x-ctm-signature'],
      body: request.body,
      now,
    });
  const token = request.headers['x-closeloop-token'] ?? request.query.token;
  if (!token)
    return {
      ok: false,
      reason: 'The token is missing (?token= in the URL, or the x-closeloop-token header).',
    };
  if (!sameSecret(token, s.token)) return { ok: false, reason: 'The token does not match this source.' };
  return { ok: true };
}

/** Headers kept with an event: what helps to understand a delivery later, never a credential. */
const keptHeaders = ['content-type', 'user-agent', 'x-ctm-time', 'x-ctm-signature', 'x-forwarded-for'];

export type NewEvent = typeof webhookEvents.$inferInsert;

/** The event rows of one authenticated, parsed request: one per call (one with no call when it has none). */
export function eventRows(
  sourceId: string,
  request: ProviderRequest,
  calls: NormalizedCall[],
  receivedAt: Date,
): NewEvent[] {
  const headers: Record<string, string> = {};
  for (const h of keptHeaders) if (request.headers[h] !== undefined) headers[h] = request.headers[h]!;
  const { token: _token, ...query } = request.query;
  const base = { sourceId, receivedAt, method: request.method, headers, body: request.body, query };
  if (calls.length === 0) return [{ ...base, call: null, providerCallId: null }];
  return calls.map((call) => ({ ...base, call: storedCall(call), providerCallId: call.providerCallId }));
}

export function storedCall(call: NormalizedCall): Record<string, unknown> {
  return { ...call, startUtc: call.startUtc.toISOString() };
}

export interface GroupCommitOptions {
  /** Rows per INSERT at most. @default 200 */
  maxRows?: number;
  /** INSERTs in flight at once (PostgreSQL: up to the pool's connections). @default 4 */
  concurrency?: number;
}

/**
 * Group commit: rows handed in while an INSERT is under way wait and go together in the next one, so
 * at load one statement (one WAL flush) carries many requests' events, and at rest a request's INSERT
 * starts at once. Each `add` resolves after its own rows are committed, or rejects with the INSERT's
 * error (then none of that INSERT's rows were stored).
 */
export function createGroupCommit(
  database: Database,
  { maxRows = 200, concurrency = database.kind === 'pglite' ? 1 : 4 }: GroupCommitOptions = {},
) {
  type Waiting = { rows: NewEvent[]; resolve: () => void; reject: (err: unknown) => void };
  const queue: Waiting[] = [];
  let inFlight = 0;
  const insert = (rows: NewEvent[]) => insertEvents(database, rows);
  const pump = () => {
    while (inFlight < concurrency && queue.length > 0) {
      const group: Waiting[] = [];
      let size = 0;
      while (queue.length > 0 && (group.length === 0 || size + queue[0]!.rows.length <= maxRows)) {
        const w = queue.shift()!;
        group.push(w);
        size += w.rows.length;
      }
      inFlight++;
      insert(group.flatMap((w) => w.rows))
        .then(
          () => {
            for (const w of group) w.resolve();
          },
          (err) => {
            // One request's rows (e.g. for a source removed meanwhile) must not fail the others': alone,
            // each is tried again in its own INSERT.
            if (group.length === 1) group[0]!.reject(err);
            else for (const w of group) insert(w.rows).then(w.resolve, w.reject);
          },
        )
        .finally(() => {
          inFlight--;
          pump();
        });
    }
  };
  return {
    add(rows: NewEvent[]): Promise<void> {
      return new Promise((resolve, reject) => {
        queue.push({ rows, resolve, reject });
        pump();
      });
    },
  };
}

const json = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));

/**
 * Event rows in one INSERT of eight array parameters expanded by unnest. Through the query builder, a
 * group's multi-row INSERT cost most of the receiver's CPU building its SQL (measured in-process:
 * 1.2 ms of CPU per webhook in all); bodies travel as hex text.
 */
export async function insertEvents(database: Database, rows: NewEvent[]): Promise<void> {
  if (rows.length === 0) return;
  const col = (f: (r: NewEvent) => string | null) => arrayLiteral(rows.map(f));
  await database.query(sql`
    insert into webhook_events (source_id, received_at, method, headers, body, query, call, provider_call_id)
    select s::uuid, r::timestamptz, m, h::jsonb, decode(b, 'hex'), q::jsonb, c::jsonb, p
      from unnest(${col((r) => r.sourceId)}::text[], ${col((r) => r.receivedAt.toISOString())}::text[],
                  ${col((r) => r.method)}::text[], ${col((r) => json(r.headers ?? {}))}::text[],
                  ${col((r) => (r.body ? Buffer.from(r.body).toString('hex') : null))}::text[],
                  ${col((r) => json(r.query ?? {}))}::text[], ${col((r) => json(r.call))}::text[],
                  ${col((r) => r.providerCallId ?? null)}::text[]) as v(s, r, m, h, b, q, c, p)`);
}
