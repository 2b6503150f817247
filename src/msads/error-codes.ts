/**
 * Microsoft's error codes and what closeloop does about each (../shared/reference/msads-api.md §4).
 * One table: a new code, or a code whose handling turns out different, is one line.
 */

/**
 * What an error means for the rows it touches:
 * - `permanent`: the row is wrong; it is rejected with the code and never retried.
 * - `expired`: too old for Microsoft (5609); the row becomes expired.
 * - `goal_not_ready`: the goal is under 2 hours old in Microsoft (5615); the row is held until it is not.
 * - `transient`: try again later with backoff (0, 5612, HTTP 5xx, timeouts, an empty or unreadable 2xx).
 * - `throttle`: the account is over its call rate (117, HTTP 429); the account pauses ≥60 s.
 * - `token_expired`: refresh the access token and resend once (109).
 * - `account`: credentials or account configuration; the account pauses until fixed, rows stay queued.
 * - `split`: Microsoft could not read an item of the request (113) and names none: halve the batch until
 *   the unreadable row is alone. The only signal that one row spoils its batch, so the only one split on.
 * - `too_large`: the request carries too many items (5601, HTTP 413): halve it; one item alone refused so
 *   is `unrecognized`.
 * - `unrecognized`: an answer closeloop cannot act on row by row — not Microsoft's (an HTML page, a 404
 *   from a wrong MSADS_API_BASE_URL or a proxy), a code it does not know, or a refusal of the whole
 *   request that no row explains. A whole call refused so pauses the account with the answer shown and
 *   its rows stay queued; an item named with such a code is rejected (Microsoft named the item).
 */
export type ErrorClass =
  | 'permanent'
  | 'expired'
  | 'goal_not_ready'
  | 'transient'
  | 'throttle'
  | 'token_expired'
  | 'account'
  | 'split'
  | 'too_large'
  | 'unrecognized';

export interface ErrorInfo {
  name: string;
  class: ErrorClass;
  /** What to fix, in the user's words. */
  explain: string;
}

const table: Record<number, ErrorInfo> = {
  0: {
    name: 'InternalError',
    class: 'transient',
    explain: 'Microsoft had an internal error; closeloop retries with backoff.',
  },
  105: {
    name: 'InvalidCredentials',
    class: 'account',
    explain:
      'The access token or developer token is not valid for this environment (production vs sandbox); check MSADS_DEVELOPER_TOKEN and run `closeloop auth login`.',
  },
  106: {
    name: 'UserIsNotAuthorized',
    class: 'account',
    explain:
      'The signed-in user has no access to this account; sign in with a user of the account (`closeloop auth login`) or fix MSADS_CUSTOMER_ID / MSADS_ACCOUNT_ID.',
  },
  109: {
    name: 'AuthenticationTokenExpired',
    class: 'token_expired',
    explain: 'The access token expired; closeloop refreshes it and resends.',
  },
  113: {
    name: 'InvalidDateObject',
    class: 'split',
    explain:
      'Microsoft could not read a date in the request; closeloop halves the batch until the row it cannot read is alone.',
  },
  116: {
    name: 'RequestMissingHeaders',
    class: 'account',
    explain:
      'A required header is missing (DeveloperToken, CustomerId or CustomerAccountId); check the MSADS_* settings.',
  },
  117: {
    name: 'CallRateExceeded',
    class: 'throttle',
    explain:
      'Too many calls per minute for this account; closeloop pauses the account for at least 60 seconds.',
  },
  1029: {
    name: 'CampaignServiceCustomerIdHasToBeSpecified',
    class: 'account',
    explain: "The CustomerId header is missing; set MSADS_CUSTOMER_ID or the account's customer id.",
  },
  1030: {
    name: 'CampaignServiceAccountIdHasToBeSpecified',
    class: 'account',
    explain: "The CustomerAccountId header is missing; set MSADS_ACCOUNT_ID or the account's id.",
  },
  1102: {
    name: 'CampaignServiceInvalidAccountId',
    class: 'account',
    explain: 'Microsoft does not know this account id; check MSADS_ACCOUNT_ID.',
  },
  1490: {
    name: 'CampaignServiceInvalidCustomerId',
    class: 'account',
    explain: 'Microsoft does not know this customer id; check MSADS_CUSTOMER_ID.',
  },
  // closeloop never sends an empty list: Microsoft reading none means the request did not reach it
  // intact (a proxy that drops bodies, a changed API). Halving would only repeat that, so it pauses.
  5600: {
    name: 'OfflineConversionsNullOrEmpty',
    class: 'unrecognized',
    explain:
      'Microsoft read no conversions in a request that carried some: the request did not reach it intact (a proxy in between, or a changed API). The account pauses and its rows wait.',
  },
  5601: {
    name: 'OfflineConversionsLimitExceeded',
    class: 'too_large',
    explain: 'Too many items in one call (Microsoft documents 1,000); closeloop halves the batch.',
  },
  5602: { name: 'OfflineConversionIsNull', class: 'permanent', explain: 'An item was empty.' },
  5603: {
    name: 'OfflineConversionMicrosoftClickIdNullOrEmpty',
    class: 'permanent',
    explain:
      'The Microsoft Click ID is missing; every conversion needs the MSCLKID (or a hashed email/phone).',
  },
  5604: {
    name: 'OfflineConversionMicrosoftClickIdInvalid',
    class: 'permanent',
    explain:
      'Microsoft does not know this click ID; check it was captured from the msclkid URL parameter of a Microsoft ad click and that auto-tagging is on.',
  },
  5605: {
    name: 'OfflineConversionNameNullOrEmpty',
    class: 'permanent',
    explain: 'The Conversion Name is missing.',
  },
  5606: {
    name: 'OfflineConversionNameInvalid',
    class: 'permanent',
    explain:
      'No offline conversion goal in the Microsoft account has this name; create the goal there or run `closeloop goals sync`, and make the names match exactly.',
  },
  5607: {
    name: 'OfflineConversionTimeInvalid',
    class: 'permanent',
    explain: 'Microsoft could not use the Conversion Time.',
  },
  5608: {
    name: 'OfflineConversionTimeNullOrEmpty',
    class: 'permanent',
    explain: 'The Conversion Time is missing.',
  },
  5609: {
    name: 'OfflineConversionTimeOutOfWindow',
    class: 'expired',
    explain: 'The conversion is more than 90 days old; Microsoft no longer imports it.',
  },
  5610: {
    name: 'OfflineConversionValueInvalid',
    class: 'permanent',
    explain: 'Microsoft refused the Conversion Value.',
  },
  5611: {
    name: 'OfflineConversionCurrencyCodeInvalid',
    class: 'permanent',
    explain:
      'Microsoft refused the currency code; use one from its list (e.g. USD, EUR, TRL for Turkish lira).',
  },
  5612: {
    name: 'OfflineConversionsApplyFailed',
    class: 'transient',
    explain: 'Microsoft failed to apply the conversions internally; closeloop retries with backoff.',
  },
  5613: {
    name: 'OfflineConversionPilotNotEnabledForCustomer',
    class: 'account',
    explain:
      'Offline conversions are not enabled for this customer; ask Microsoft Advertising support to enable them.',
  },
  5614: {
    name: 'FutureConversionTimeCannotBeSet',
    class: 'permanent',
    explain: 'The Conversion Time is in the future; usually a time zone mistake in the source.',
  },
  5615: {
    name: 'OfflineConversionNotAcceptedForGoal',
    class: 'goal_not_ready',
    explain:
      'The goal is less than 2 hours old in Microsoft; closeloop holds the row and sends it when the goal is ready.',
  },
  5616: {
    name: 'ConversionTimeEarlierThanClickTime',
    class: 'permanent',
    explain: 'The conversion is earlier than the click; usually a time zone mistake in the source.',
  },
  5617: {
    name: 'ClickIdDateTimeOutsideGoalConversionWindow',
    class: 'permanent',
    explain:
      "The click is older than the goal's conversion window allows; widen the goal's window for future conversions.",
  },
  5618: {
    name: 'OfflineConversionInvalidAdjustmentType',
    class: 'permanent',
    explain: 'The Adjustment Type must be Restate or Retract.',
  },
  5619: {
    name: 'OfflineConversionAdjustmentTimeNullOrEmpty',
    class: 'permanent',
    explain: 'The Adjustment Time is missing.',
  },
  5620: {
    name: 'OfflineConversionAdjustmentTimeEarlierThanConversionTime',
    class: 'permanent',
    explain: 'The Adjustment Time is before the conversion time; it must be the same or later.',
  },
  5621: {
    name: 'OfflineConversionAdjustmentTimeInvalid',
    class: 'permanent',
    explain: 'Microsoft could not use the Adjustment Time.',
  },
  5622: {
    name: 'OfflineConversionFutureAdjustmentTimeCannotBeSet',
    class: 'permanent',
    explain: 'The Adjustment Time is in the future; check the time zone.',
  },
  5623: {
    name: 'OfflineConversionAdjustmentTimeOutOfWindow',
    class: 'permanent',
    explain: 'The Adjustment Time is outside the window Microsoft allows.',
  },
  5624: {
    name: 'OfflineConversionAdjustmentValueNotExpected',
    class: 'permanent',
    explain: 'A Retract takes no value; remove the Adjustment Value.',
  },
  5625: {
    name: 'OfflineConversionAdjustmentValueRequired',
    class: 'permanent',
    explain: 'A Restate needs the new value in Adjustment Value.',
  },
  5626: {
    name: 'OfflineConversionCurrencyValueRequired',
    class: 'permanent',
    explain: 'The adjustment needs a currency code.',
  },
  5627: {
    name: 'OfflineConversionRestateRetractNotSupported',
    class: 'permanent',
    explain: 'Microsoft does not support restating or retracting this conversion.',
  },
  5317: {
    name: 'ConversionGoalNameAlreadyExists',
    class: 'permanent',
    explain: 'A goal with this name already exists in the account; run `closeloop goals sync` to adopt it.',
  },
  5337: {
    name: 'InvalidConversionGoalConversionWindow',
    class: 'permanent',
    explain: 'The conversion window must be 1 to 129,600 minutes (90 days).',
  },
};

/**
 * A code closeloop does not know is `unrecognized`: an item Microsoft names with it is rejected (resending
 * what Microsoft refused for an unknown reason wastes calls), but a whole call refused with it pauses the
 * account and keeps its rows — an unknown reason is no proof that every row is wrong.
 */
export function errorInfo(code: number, errorCode?: string): ErrorInfo {
  return (
    table[code] ?? {
      name: errorCode || `Error${code}`,
      class: 'unrecognized',
      explain: 'Microsoft answered with a code closeloop does not know; see the message.',
    }
  );
}

export const knownErrorCodes = Object.keys(table).map(Number);
