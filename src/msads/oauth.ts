import { sql } from 'drizzle-orm';
import { type Database, queryVia } from '../db/client.ts';
import { ts } from '../db/sql.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Secrets } from '../secrets.ts';
import { createTurns } from '../turns.ts';
import { requestToken, TokenEndpointError } from './token-endpoint.ts';
import { oauthScope, productionTokenUrl } from './wire.ts';

/** What the REST client asks for a bearer token; `forceRefresh` after error 109 (token expired). */
export interface AccessTokenSource {
  accessToken(opts?: { forceRefresh?: boolean }): Promise<string>;
}

/** The refresh token was refused (invalid_grant: revoked, expired, password change) or was never given. */
export class ReconsentNeededError extends Error {
  override name = 'ReconsentNeededError';
  readonly code = 'reconsent_needed';
  readonly retryable = false;
  readonly accountId: string;
  constructor(accountId: string, reason: string) {
    super(
      `Microsoft Advertising needs a new consent for account ${accountId} (${reason}). Run \`closeloop auth login --account ${accountId}\`.`,
    );
    this.accountId = accountId;
  }
}

/** Refreshing failed for a reason that may pass (network, timeout, 5xx, 429): try again later. */
export class TokenRefreshError extends Error {
  override name = 'TokenRefreshError';
  readonly code = 'token_refresh_failed';
  readonly retryable: boolean;
  readonly accountId: string;
  constructor(accountId: string, cause: TokenEndpointError) {
    super(`Refreshing the access token of account ${accountId} failed: ${cause.message}`, { cause });
    this.accountId = accountId;
    this.retryable = cause.retryable;
  }
}

/** Refresh when the token expires within 5 minutes: a call started now must not outlive its token. */
export const refreshMarginMs = 5 * 60_000;

export interface AccountTokensDeps {
  database: Database;
  secrets: Secrets;
  /** The accounts row (its id). */
  accountId: string;
  /** The token endpoint for accounts without their own oauth_token_url (MSADS_OAUTH_TOKEN_URL). */
  defaultTokenUrl?: string;
  fetch?: typeof fetch;
  now?: () => Date;
  log?: Logger;
  /** @default 30_000 */
  timeoutMs?: number;
}

interface Cached {
  token: string;
  expiresAt: number;
}

interface AccountAuthRow extends Record<string, unknown> {
  oauth_token_url: string | null;
  client_id: string | null;
  client_secret_enc: string | null;
  refresh_token_enc: string | null;
  access_token_enc: string | null;
  /** Epoch milliseconds (as a number: raw timestamps come back as text on postgres.js, as Date on PGlite). */
  access_token_expires_ms: number | null;
  auth_status: string;
}

/**
 * The access token of one account, shared by every process that sends for it. It is cached in memory
 * and refreshed shortly before it expires, or when Microsoft says it expired (109). Several processes
 * share one PostgreSQL: the refresh runs under an advisory lock per account, and whoever gets
 * the lock second finds the token the first one stored and uses it, so one expiry costs one refresh.
 * Microsoft may rotate the refresh token on any refresh; the new one is stored at once, in the same
 * transaction, because the old one may stop working.
 */
/**
 * Refreshes of one account in this process, one after the other, whichever token source asks (the
 * submitter's and the auto-tagging check's): the second then finds the token the first stored.
 */
const turnsByDatabase = new WeakMap<Database['db'], ReturnType<typeof createTurns>>();
function inProcessTurn<T>(database: Database, accountId: string, fn: () => Promise<T>): Promise<T> {
  let turn = turnsByDatabase.get(database.db);
  if (!turn) {
    turn = createTurns();
    turnsByDatabase.set(database.db, turn);
  }
  return turn(accountId, fn);
}

export function createAccountTokens(deps: AccountTokensDeps): AccessTokenSource {
  const { database, secrets, accountId, log } = deps;
  /**
   * One refresh per account at a time, across processes: on PostgreSQL, a transaction holding an
   * advisory lock — not a row lock, because the account row is also where every submitter takes its
   * call slots, and those must not wait for the token endpoint. PGlite is one process with one
   * connection: a transaction there would stop all its other work during the HTTP call, so none.
   */
  const oneRefreshAtATime = <T>(fn: (query: Database['query']) => Promise<T>): Promise<T> =>
    inProcessTurn(database, accountId, () =>
      database.kind === 'pglite'
        ? fn(database.query)
        : database.db.transaction(async (tx) => {
            const query = queryVia(tx);
            await query(sql`select pg_advisory_xact_lock(7361005, hashtext(${accountId}::text))`);
            return fn(query);
          }),
    );
  const now = deps.now ?? (() => new Date());
  let cached: Cached | undefined;
  // One refresh at a time in this process; callers who arrive meanwhile wait for its result.
  let inflight: Promise<string> | undefined;

  const fresh = (c: Cached | undefined): c is Cached =>
    c !== undefined && c.expiresAt - now().getTime() > refreshMarginMs;

  /** `had`: on a forced refresh, the token Microsoft refused; any other stored token is newer and good. */
  async function refresh(forceRefresh: boolean, had: string | undefined): Promise<string> {
    const outcome = await oneRefreshAtATime(async (query) => {
      const [row] = await query<AccountAuthRow>(sql`
        select oauth_token_url, client_id, client_secret_enc, refresh_token_enc, access_token_enc,
               (extract(epoch from access_token_expires_at) * 1000)::float8 as access_token_expires_ms, auth_status
          from accounts where id = ${accountId}`);
      if (!row)
        throw new AppError(
          'not_found',
          `No account ${accountId}. List accounts with \`closeloop accounts list\`.`,
        );
      // Another process (or an earlier call here) may have refreshed while we waited for the lock.
      if (row.access_token_enc && row.access_token_expires_ms !== null) {
        const stored: Cached = {
          token: secrets.decrypt(row.access_token_enc),
          expiresAt: Number(row.access_token_expires_ms),
        };
        if (fresh(stored) && !(forceRefresh && stored.token === had))
          return { kind: 'stored' as const, cached: stored };
      }
      if (!row.refresh_token_enc) {
        const reason = 'no refresh token is stored: consent was never given';
        await query(sql`
          update accounts set auth_status = 'reconsent_needed', auth_error = ${reason}, updated_at = ${ts(now())}
           where id = ${accountId}`);
        return { kind: 'reconsent' as const, reason };
      }
      // Refused before: sending the same dead token again on every batch would only add noise. Storing a
      // new refresh token (auth login, a new MSADS_REFRESH_TOKEN) resets the status.
      if (row.auth_status === 'reconsent_needed')
        return { kind: 'reconsent' as const, reason: 'the stored refresh token was refused earlier' };
      if (!row.client_id)
        throw new AppError(
          'validation_failed',
          `Account ${accountId} has no OAuth client id; register it again.`,
        );
      const url = row.oauth_token_url ?? deps.defaultTokenUrl ?? productionTokenUrl;
      const startedAt = now().getTime();
      try {
        const grant = await requestToken({
          url,
          params: {
            client_id: row.client_id,
            client_secret: row.client_secret_enc ? secrets.decrypt(row.client_secret_enc) : undefined,
            grant_type: 'refresh_token',
            refresh_token: secrets.decrypt(row.refresh_token_enc),
            scope: oauthScope,
          },
          ...(deps.fetch ? { fetch: deps.fetch } : {}),
          ...(deps.timeoutMs ? { timeoutMs: deps.timeoutMs } : {}),
        });
        // Expiry counts from when the request was sent, not when the answer arrived: errs on the safe side.
        const next: Cached = {
          token: grant.accessToken,
          expiresAt: startedAt + grant.expiresInSeconds * 1000,
        };
        await query(sql`
          update accounts
             set access_token_enc = ${secrets.encrypt(next.token)},
                 access_token_expires_at = ${ts(new Date(next.expiresAt))},
                 refresh_token_enc = coalesce(${grant.refreshToken ? secrets.encrypt(grant.refreshToken) : null}::text, refresh_token_enc),
                 auth_status = 'ok', auth_error = null, updated_at = ${ts(now())}
           where id = ${accountId}`);
        return {
          kind: 'refreshed' as const,
          cached: next,
          rotated: grant.refreshToken !== undefined,
        };
      } catch (err) {
        if (!(err instanceof TokenEndpointError)) throw err;
        if (err.oauthError === 'invalid_grant') {
          // Permanent until someone consents again: record it (committed) so the dashboard and
          // `accounts list` show it, and no process keeps sending a dead token.
          await query(sql`
            update accounts
               set auth_status = 'reconsent_needed', auth_error = ${err.description ?? err.message},
                   access_token_enc = null, access_token_expires_at = null, updated_at = ${ts(now())}
             where id = ${accountId}`);
          return { kind: 'reconsent' as const, reason: err.description ?? 'invalid_grant' };
        }
        if (!err.retryable)
          // invalid_client, unauthorized_client, …: the account's configuration is wrong.
          await query(sql`
            update accounts set auth_status = 'error', auth_error = ${err.message}, updated_at = ${ts(now())}
             where id = ${accountId}`);
        return { kind: 'failed' as const, error: err };
      }
    });
    if (outcome.kind === 'stored') {
      cached = outcome.cached;
      log?.debug('access token taken from the database', { accountId });
      return outcome.cached.token;
    }
    if (outcome.kind === 'refreshed') {
      cached = outcome.cached;
      log?.info('access token refreshed', {
        accountId,
        expiresAt: new Date(outcome.cached.expiresAt).toISOString(),
        refreshTokenRotated: outcome.rotated,
        forced: forceRefresh,
      });
      return outcome.cached.token;
    }
    cached = undefined;
    if (outcome.kind === 'reconsent') {
      log?.error('Microsoft Advertising needs a new consent', { accountId, reason: outcome.reason });
      throw new ReconsentNeededError(accountId, outcome.reason);
    }
    log?.warn('access token refresh failed', {
      accountId,
      status: outcome.error.status,
      error: outcome.error.oauthError,
      retryable: outcome.error.retryable,
    });
    throw new TokenRefreshError(accountId, outcome.error);
  }

  return {
    async accessToken(opts = {}) {
      const force = opts.forceRefresh === true;
      if (!force && fresh(cached)) return cached.token;
      const stale = force ? cached?.token : undefined;
      if (inflight) {
        // Its result (or its error) is ours too, unless it is the very token a forced refresh replaces.
        const token = await inflight;
        if (!force || token !== stale) return token;
      }
      inflight ??= refresh(force, stale).finally(() => {
        inflight = undefined;
      });
      return inflight;
    },
  };
}

/** A fixed token: the built-in dry-run emulator accepts any bearer token. */
export function staticToken(token: string): AccessTokenSource {
  return { accessToken: async () => token };
}
