import type { Hono } from 'hono';

/** The emulator's options; every one has a default, so `createEmulator()` is a working Microsoft. */
export interface EmulatorOptions {
  /**
   * The emulator's clock: goal age (5615), conversion windows, token expiry and throttling use it.
   * @default () => new Date()
   */
  now?: () => Date;
  /**
   * Calls per CustomerId per sliding 60 s (every API operation; not the token endpoint, not /_emulator).
   * The call that would exceed it answers 117 CallRateExceeded and is not processed.
   * @default unlimited
   */
  callsPerMinute?: number;
  /**
   * HTTP status of a 117 answer; the REST status is unverified (msads-api.md §5). The body is an
   * AdApiFaultDetail with Code 117 whatever the status.
   * @default 429
   */
  throttleStatus?: number;
  /**
   * 'open': any Bearer token is accepted, and the token endpoint takes any refresh token it has not seen
   * (the dry-run target). 'strict': only tokens the emulator issued, access tokens unexpired. In both
   * modes an expired or expired-on-purpose access token answers 109 and a revoked refresh token fails.
   * @default 'strict'
   */
  auth?: 'open' | 'strict';
  /** @default 3600 */
  accessTokenTtlSeconds?: number;
  /**
   * Return a new refresh_token on every refresh (Microsoft may; clients must persist it).
   * @default true
   */
  rotateRefreshTokens?: boolean;
  /**
   * Revoke a refresh token once it has been rotated away (the old one then answers invalid_grant).
   * @default false
   */
  revokeRotated?: boolean;
  /**
   * Which requests to keep in `requests`: 'all', 'none', or only the last N.
   * @default 'all'
   */
  record?: 'all' | 'none' | number;
  /**
   * Keep every accepted conversion and adjustment as an object (for `conversions()`/`adjustments()`).
   * Without it only the dedupe keys are kept: enough for stats and the summary; 1,000,000 conversions
   * then take about 70 MB (measured).
   * @default record !== 'none'
   */
  keepItems?: boolean;
  /**
   * Seed of the random numbers behind `rate` faults; the same seed gives the same faults.
   * @default a random seed
   */
  seed?: number;
  /** Artificial latency per API call, in ms. @default 0 */
  latencyMs?: number;
  /**
   * How long after its creation a goal takes conversions; before, items for it answer 5615. The dry run
   * sets it from CLOSELOOP_DRY_RUN_GOAL_DELAY.
   * @default 2 hours (Microsoft's rule)
   */
  goalWarmUpMs?: number;
}

/**
 * - http500, error0, 5612: Microsoft's internal errors (transient); 109: the access token expired; 117:
 *   throttled; timeout: no answer for `hangMs`.
 * - applied500: the batch is applied, then the answer is an HTTP 500 — an answer lost after Microsoft
 *   stored the items, which the client must send again without their being stored twice.
 * - apiFault: an ApiFaultDetail refusing the whole request with `code` (5601, 113, or one closeloop does
 *   not know) and no BatchErrors.
 * - http404html, empty200, garbage200: answers that are not Microsoft's — the HTML 404 page of a wrong
 *   host or proxy, a 200 with no body, a 200 cut short (not JSON). Nothing is applied.
 */
export type FaultKind =
  | 'http500'
  | 'applied500'
  | 'error0'
  | '5612'
  | 'timeout'
  | '109'
  | '117'
  | 'apiFault'
  | 'http404html'
  | 'empty200'
  | 'garbage200';
export type FaultOperation = 'conversions' | 'adjustments' | 'goals' | 'any';

export interface FaultSpec {
  kind: FaultKind;
  /** Which calls it hits; 'goals' is AddConversionGoals and GetConversionGoalsByIds. @default 'any' */
  operation?: FaultOperation;
  /** Hit the next N matching calls. @default 1 without `rate`, unlimited with it */
  count?: number;
  /** Probability (0..1) that a matching call is hit, from the seeded RNG. */
  rate?: number;
  /** timeout: how long to hang before answering 504; the client is expected to give up first. @default 120000 */
  hangMs?: number;
  /** timeout: apply the request first, then hang (a response lost after Microsoft applied the batch). */
  applyBeforeHang?: boolean;
  /** apiFault: the OperationError code (an integer). */
  code?: number;
  /** apiFault: the HTTP status. @default 400 */
  status?: number;
}

export type GoalScope = 'Account' | 'Customer';
export type GoalCountType = 'All' | 'Unique';
export type GoalStatus = 'Active' | 'Paused';
export type RevenueType = 'FixedValue' | 'VariableValue' | 'NoValue';

export interface EmulatorGoal {
  /** Numeric string, like Microsoft's 64-bit ids. */
  id: string;
  customerId: string;
  /** The owning account of an Account-scope goal; undefined for Customer scope. */
  accountId: string | undefined;
  name: string;
  scope: GoalScope;
  createdAt: Date;
  conversionWindowMinutes: number;
  countType: GoalCountType;
  revenue: { type: RevenueType; value?: number; currencyCode?: string };
  status: GoalStatus;
  goalCategory: string;
}

/** What `addGoal` and `POST /_emulator/goals` take; everything but customerId and name has a default. */
export interface GoalSpec {
  /** Microsoft's id for it; a new one when absent (the dry run reseeds goals under the ids it gave them). */
  id?: string;
  customerId: string;
  accountId?: string;
  name: string;
  /** @default 'Account' with an accountId, else 'Customer' */
  scope?: GoalScope;
  /** @default now (so the goal answers 5615 for 2 hours) */
  createdAt?: Date;
  revenue?: { type?: RevenueType; value?: number; currencyCode?: string };
  /** @default 43200 */
  conversionWindowMinutes?: number;
  countType?: GoalCountType;
  status?: GoalStatus;
  /** @default 'Other' */
  goalCategory?: string;
}

export interface StoredConversion {
  customerId: string;
  accountId: string;
  goalId: string;
  conversionName: string;
  microsoftClickId?: string;
  hashedEmailAddress?: string;
  hashedPhoneNumber?: string;
  /** Exactly as sent. */
  conversionTime: string;
  conversionValue?: number;
  conversionCurrencyCode?: string;
  receivedAt: Date;
  /** How many times this (name, click, time) arrived; the first one is the one kept. */
  receivedCount: number;
}

export interface StoredAdjustment {
  customerId: string;
  accountId: string;
  goalId: string;
  adjustmentType: 'Restate' | 'Retract';
  adjustmentTime: string;
  adjustmentValue?: number;
  adjustmentCurrencyCode?: string;
  conversionName: string;
  conversionTime: string;
  microsoftClickId?: string;
  hashedEmailAddress?: string;
  hashedPhoneNumber?: string;
  /** Whether the conversion it adjusts had arrived; Microsoft reports a missing one only asynchronously. */
  originalFound: boolean;
  receivedAt: Date;
  receivedCount: number;
}

export interface RecordedRequest {
  at: Date;
  method: string;
  path: string;
  /** Lower-cased names; Authorization is redacted to 'Bearer …'. */
  headers: Record<string, string>;
  /** Parsed JSON, the form fields of a token request (client_secret redacted), or the raw text. */
  body: unknown;
  status: number;
  response: unknown;
}

export interface EmulatorStats {
  /** API calls received (every /CampaignManagement request, refused ones included). */
  calls: number;
  /** Calls answered 117 by the call-rate limit (injected 117 faults count as faults). */
  throttled: number;
  /** Calls answered by an injected fault. */
  faults: number;
  /** Conversion and adjustment items in requests that were processed item by item. */
  itemsReceived: number;
  /** Conversions stored (new keys). */
  accepted: number;
  /** Items with at least one BatchError. */
  rejectedItems: number;
  /** Valid items whose key had already arrived (silently ignored, as Microsoft does). */
  duplicatesIgnored: number;
  /** Adjustments stored. */
  adjustments: number;
  /**
   * Conversions and adjustments stored by calls that then answered with a fault (applied500, timeout
   * with applyBeforeHang): the client never heard they were, and sends them again.
   */
  storedThenFailed: number;
  /** The most calls admitted for one CustomerId in any sliding 60 s window. */
  maxCallsInAnyMinute: number;
}

export interface HeldConversionQuery {
  customerId: string;
  accountId: string;
  conversionName: string;
  microsoftClickId: string;
  /** An ISO 8601 instant, as sent. */
  conversionTime: string;
}

export interface ConversionSummary {
  /** Valid conversion arrivals: stored ones plus ignored duplicates. */
  count: number;
  /** Distinct (account, name, identity, time) keys stored. */
  uniqueKeys: number;
  /** Keys that arrived more than once. */
  keysReceivedMoreThanOnce: number;
}

export interface Emulator {
  app: Hono;
  /** `app.fetch`: in-process use with no socket. */
  fetch: (request: Request) => Promise<Response>;
  addGoal(goal: GoalSpec): { id: string };
  goals(customerId?: string): EmulatorGoal[];
  setAutoTagging(customerId: string, accountId: string, enabled: boolean): void;
  /** Register a click: its conversions then also get 5616/5617. Unregistered well-formed ids are accepted. */
  addClick(clickId: string, at: Date): void;
  issueRefreshToken(opts?: { clientId?: string }): string;
  revokeRefreshToken(token: string): void;
  /** Every access token seen or issued so far answers 109 from now on. */
  expireAccessTokens(): void;
  injectFault(fault: FaultSpec): void;
  clearFaults(): void;
  /** Any request carrying this click id is refused whole, as Microsoft refuses a batch it cannot read. */
  poisonClickId(clickId: string): void;
  readonly requests: RecordedRequest[];
  conversions(): StoredConversion[];
  adjustments(): StoredAdjustment[];
  conversionSummary(): ConversionSummary;
  /** Is this conversion stored? Matched as Microsoft dedupes: goal, click id (case aside), the instant. */
  holdsConversion(conversion: HeldConversionQuery): boolean;
  stats(): EmulatorStats;
  reset(): void;
}
