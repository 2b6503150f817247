/**
 * What every call-tracking adapter (connectors/calltracking/<provider>.ts) translates a provider's
 * request into, and the adapter interface itself. Adapters are pure: no database, no routes, no clock
 * of their own, no network (ResponseTap's poller gets its fetch passed in). The shape follows
 * ../shared/reference/calltracking-payloads.md §0.
 */

/** The provider's request exactly as it arrived (the receiver has authenticated it before parsing). */
export interface ProviderRequest {
  method: 'GET' | 'POST';
  /** Header names in lower case. */
  headers: Record<string, string>;
  /** The raw body bytes (empty for GET). */
  body: Uint8Array;
  /** The query string's parameters (a repeated name keeps its first value). */
  query: Record<string, string>;
}

/** One call, normalized. */
export interface NormalizedCall {
  /**
   * The provider's id for the call (the idempotency key is `${provider}:${providerCallId}`). For a
   * correction (Invoca `corrects_transaction_id`), the id of the call it corrects.
   */
  providerCallId: string;
  /** The new id of a correction (Invoca `transaction_id` when `corrects_transaction_id` is set). */
  correctionId?: string;
  /** When the call started, UTC, to the second. */
  startUtc: Date;
  /** Total seconds (ring + IVR + talk where the provider has only one number). */
  durationSec: number | null;
  /** Connected / bridged seconds, when the provider reports it: thresholds use it first. */
  talkSec: number | null;
  /** Answered, when the provider says; null when it does not. */
  answered: boolean | null;
  callerE164: string | null;
  /** The value as the provider wrote it (decimal string), null when none: the source's fixed value applies. */
  value: string | null;
  currency: string | null;
  /** The explicit click-ID field, else parsed (case-insensitively) from `landingUrl`'s query; null when none. */
  msclkid: string | null;
  landingUrl: string | null;
  /** The sale was cancelled or refunded (a Retract of the conversion already sent), when the provider says so. */
  cancelled: boolean;
}

/** An adapter's answer: calls (a request may carry several), or why the request cannot be read. */
export type AdapterResult =
  | { ok: true; calls: NormalizedCall[] }
  /** Malformed body or missing required field: the receiver answers 400 with `reason`. */
  | { ok: false; reason: string };

/** Per-source options for templated providers (DialogTech, Avanser, generic): which parameter holds what. */
export type FieldOverrides = Partial<Record<keyof NormalizedCall | 'startLocal', string>>;

export interface AdapterOptions {
  /** Field overrides for templated providers (the source's settings). */
  fields?: FieldOverrides;
  /** IANA zone for providers that send account-local times without an offset. @default 'UTC' */
  timeZone?: string;
}

export interface CallAdapter {
  /** 'avanser', 'calltrackingmetrics', 'dialogtech', 'infinity', 'invoca', 'responsetap', 'wildjar', 'generic'. */
  provider: string;
  /** The HTTP methods the provider uses to deliver (ResponseTap: none, it is polled). */
  methods: ('GET' | 'POST')[];
  /**
   * How requests are authenticated: CTM signs (X-CTM-Signature over X-CTM-Time + raw body); the others
   * cannot sign and carry a per-source secret token (URL or header), compared in constant time.
   */
  auth: 'ctm-signature' | 'token' | 'polled';
  parse(request: ProviderRequest, options: AdapterOptions): AdapterResult;
  /** Providers with only a pull API (ResponseTap): serve polls each source of this provider on a schedule. */
  poller?: CallPoller;
}

/** A pull API's client. It makes its HTTP requests through the fetch it is given (tests pass a fake server's). */
export interface CallPoller {
  /** How often serve polls a source of this provider. */
  intervalMs: number;
  /**
   * Calls since `cursor` (null: since `now` minus one interval), all pages, and the cursor to resume
   * after them; re-reading a little (an overlap) is fine, the receiver de-duplicates by call id.
   */
  poll(options: {
    fetch: typeof globalThis.fetch;
    /** The source's decrypted credentials (e.g. ResponseTap's API key and account id). */
    credentials: Record<string, string>;
    /** Where the API lives; tests point it at a fake. */
    baseUrl?: string;
    cursor: string | null;
    now: Date;
    adapter: AdapterOptions;
    signal?: AbortSignal;
  }): Promise<{ calls: NormalizedCall[]; cursor: string }>;
}
