/** Configuration of the snippet; the IIFE build reads it from `data-` attributes of its script tag. */
export interface SnippetOptions {
  /**
   * Days the `msclkid` cookie lives after the click. Microsoft imports offline conversions up to 90 days
   * after the click, so a longer cookie only carries click IDs that can no longer be used.
   * @default 90
   */
  cookieDays?: number;
  /**
   * Cookie `Domain`, e.g. `example.com` so that `www.example.com` and `shop.example.com` share the click ID.
   * @default undefined (a host-only cookie)
   */
  cookieDomain?: string;
  /** Names of the inputs that receive the click ID. @default ['msclkid'] */
  fields?: string[];
  /** A CSS selector for more inputs that receive the click ID (e.g. a CRM's generated field id). */
  selector?: string;
  /** Name of the inputs that receive the click time (UTC, `yyyy-MM-ddTHH:mm:ssZ`). @default 'msclkid_time' */
  timeField?: string;
  /**
   * A CSS selector of forms that get a hidden `fields[0]` input when they have none (opt-in: a search
   * form would carry the click ID too); `''` means every form. @default undefined (never add inputs)
   */
  addField?: string;
  /** Store nothing until `grant()` or the UET consent mode signal `ad_storage: 'granted'`. @default false */
  waitForConsent?: boolean;
  /**
   * Honour Global Privacy Control: when the browser sends it, store nothing and fill no form until an
   * explicit `grant()` (the UET consent signal does not lift it). @default false
   */
  respectGpc?: boolean;
  /**
   * Same-origin path of the closeloop service (e.g. `/closeloop/msclkid`) that answers with an HTTP
   * `Set-Cookie`, which Safari keeps longer than a cookie written by a script.
   * @default undefined (the snippet makes no network request)
   */
  endpoint?: string;
  /**
   * Also put the API on `window` under this name (the script tag uses `closeloop`). A name the page
   * already uses for something else is left alone. @default undefined (no global)
   */
  global?: string;
}

/** The small API the snippet exposes (on `window.closeloop` in the IIFE build). */
export interface CloseloopApi {
  /** The current click ID, or undefined (none, or Global Privacy Control honoured). */
  clickId(): string | undefined;
  /** When the current click ID was captured (UTC, `yyyy-MM-ddTHH:mm:ssZ`), if known. */
  clickTime(): string | undefined;
  /** Consent given: store the click ID now and from now on. */
  grant(): void;
  /** Consent withdrawn: delete the cookies and store nothing more (forms of this page still get the ID). */
  revoke(): void;
  /** Fill the forms again (e.g. after rendering a form outside the DOM and attaching it). */
  fill(): void;
  /** Queue-style call, the same before the snippet loads (on an array) and after: `push('grant')`. */
  push(command: Command): void;
}

export type Command = 'grant' | 'revoke' | 'fill';
