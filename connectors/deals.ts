/**
 * The one shape every CRM connector translates its deals into, and the one interface closeloop pulls
 * them through. A connector (connectors/<crm>/) imports only its SDK and this file; src/ decides what a
 * deal record means for the ledger (conversion, Restate, Retract, skipped) with the rules of
 * ../shared/reference/crm-flow.md ("Recommended rules"). A third CRM is one new folder that exports a
 * `CrmConnector`.
 */

/** Which rule found the click ID (crm-flow.md, rule A), recorded on the conversion. */
export interface ClickIdFound {
  /** 32 hex characters as read from the CRM (trimmed; src/ validates it). */
  clickId: string;
  /**
   * Where it was read, as a path a person can follow: "Opportunity.MSCLKID__c",
   * "Lead(ConvertedOpportunityId).MSCLKID__c", "OpportunityContactRole(primary).Contact.MSCLKID__c",
   * "deal.msclkid", "contact:123(label VIP).msclkid".
   */
  rule: string;
  /** When the click ID was captured, when the CRM knows (msclkid_captured_at, else the lead/contact create time). */
  capturedAt: Date | null;
}

/** One deal as the CRM has it now. Every field is the CRM's current truth, not a change. */
export interface DealRecord {
  /** The CRM's id (Salesforce 18-character Opportunity Id, HubSpot deal id). */
  dealId: string;
  /** A label for people: the deal's name. */
  name: string | null;
  /** Won now (Salesforce IsWon, HubSpot: dealstage is one of the configured won stages). */
  won: boolean;
  /**
   * When the deal entered its current won run (the latest transition into a won stage), from the CRM's
   * stage history (OpportunityHistory, HubSpot dealstage history or hs_v2_date_entered_<stage>); null
   * when there is none. src/ then uses the time it first saw the deal won (incremental syncs) or, on a
   * first or full sync (backfill), `closeDateNoon` (crm-flow.md rule B). The time is stored once.
   */
  wonAt: Date | null;
  /**
   * The close date (a calendar day in the CRM) at 12:00 in the CRM's own time zone (Salesforce org
   * TimeZoneSidKey, HubSpot portal time zone), as an instant; null when empty. Backfill only.
   */
  closeDateNoon: Date | null;
  /**
   * The amount exactly as the CRM holds it, as a decimal string ("1250.5"); null when empty. An empty
   * amount is not 0 (HubSpot sends ''), and connectors parse strictly: never Number('') === 0.
   */
  amount: string | null;
  /** The deal's own currency (CurrencyIsoCode / deal_currency_code), else the org's default; null when unknown. */
  currency: string | null;
  /** Null when no rule found one (src/ counts the deal as skipped: no_click_id). */
  click: ClickIdFound | null;
  /** Deleted in the CRM (Salesforce IsDeleted / getDeleted, HubSpot archived). */
  deleted: boolean;
  /** Merged into another deal (its id), when the CRM says so. */
  mergedInto: string | null;
  /** The CRM's last-modified time (SystemModstamp, hs_lastmodifieddate). */
  modifiedAt: Date;
  /** What the connector could not read as it stands, for people ("amount '1,000' is not a number …"). */
  notes?: string[];
}

/** One page of changed deals and the cursor to resume after it. */
export interface DealPage {
  deals: DealRecord[];
  /**
   * Opaque to src/: stored after the page's deals are in the ledger, given back to `pull` next time.
   * Resuming from any stored cursor must re-read nothing that would be lost and may re-read a little
   * (an overlap window): src/ de-duplicates by deal id and what was last sent.
   */
  cursor: string;
}

/** What `test` reports: the CRM answered, who we are there, and one page read. */
export interface ConnectorTestResult {
  /** e.g. "acme.my.salesforce.com as ops@acme.com", "HubSpot portal 123456". */
  signedInAs: string;
  /** Deals read on the first page. */
  dealsRead: number;
  /** Facts worth showing (multi-currency org, API usage "used/limit", missing click-ID field …). */
  notes: string[];
}

/** What a connector reports while it works (API calls, usage, waits for rate limits). */
export interface ConnectorEvents {
  /** Called once per HTTP request made to the CRM (the benchmark counts them). */
  onApiCall?: (what: string) => void;
  /** API usage as the CRM reports it (Salesforce Sforce-Limit-Info "api-usage=25/15000"). */
  onUsage?: (used: number, limit: number) => void;
  /** The connector waits before retrying (rate limit, REQUEST_LIMIT_EXCEEDED, 429 Retry-After). */
  onWait?: (ms: number, reason: string) => void;
  /**
   * The SDK refreshed an OAuth access token (and maybe a new refresh token): src/ stores the
   * credentials encrypted at once.
   */
  onTokens?: (tokens: {
    accessToken: string;
    refreshToken?: string;
    instanceUrl?: string;
  }) => void | Promise<void>;
}

/** A connector's error: one shape for every CRM (STYLE.md habit 9). */
export class ConnectorError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  /** The request that failed, without secrets ("GET /services/data/v62.0/query?q=…"). */
  readonly request: string | undefined;
  constructor(
    code: string,
    message: string,
    options: { retryable: boolean; request?: string; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.name = 'ConnectorError';
    this.code = code;
    this.retryable = options.retryable;
    this.request = options.request;
  }
}

/** A connected CRM, created from its stored settings and decrypted secrets. */
export interface DealSource {
  /** Sign in and read one page. */
  test(signal?: AbortSignal): Promise<ConnectorTestResult>;
  /**
   * Every deal changed since `cursor` (null: from the beginning, as `--full` does), a page at a time,
   * pages followed to the end and never truncated. The connector holds only one page in memory.
   */
  pull(cursor: string | null, signal?: AbortSignal): AsyncIterable<DealPage>;
}

/**
 * Where a connector may connect: src/ builds it from the address policy (CLOSELOOP_ALLOW_PRIVATE_SOURCES)
 * and every connector uses it on every connection its SDK makes (login URL, instance URL, base URL,
 * redirects), so a connector pointed at 127.0.0.1, the metadata service or an internal host sends it no
 * secret. A refusal is an Error whose `code` is 'private_address' and whose message says why and how to
 * allow it.
 */
export interface ConnectionGuard {
  /**
   * A `lookup` for node's net and tls (an http(s).Agent's or undici's connect options): resolves as
   * dns.lookup does and yields only allowed addresses, or fails with the refusal. Node skips it for a
   * host written as an IP address, so connectors call `checkLiteral` on those.
   */
  lookup: (hostname: string, options: unknown, callback: (...args: never[]) => void) => void;
  /** Throws the refusal when `host` is an IP address ("127.0.0.1", "[::1]") the policy refuses; names pass. */
  checkLiteral(host: string): void;
}

/** The error code of a connection the guard refused (the cause chain of an SDK's error holds it). */
export const privateAddressCode = 'private_address';

/** The guard's refusal somewhere in `error`'s cause chain (SDKs wrap it: fetch failed → cause), or undefined. */
export function guardRefusal(error: unknown): Error | undefined {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 8; depth++) {
    const candidate = e as { code?: unknown; cause?: unknown };
    if (e instanceof Error && candidate.code === privateAddressCode) return e;
    e = candidate.cause;
  }
  return undefined;
}

/** A CRM connector module: `connectors/<crm>/index.ts` exports one of these. */
export interface CrmConnector<Settings, Secrets> {
  /** "salesforce", "hubspot". */
  kind: string;
  create(options: {
    settings: Settings;
    secrets: Secrets;
    events?: ConnectorEvents;
    /** Required: no connector connects anywhere without it. */
    guard: ConnectionGuard;
  }): DealSource;
}
