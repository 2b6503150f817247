import type { WireBatchError, WireOperationError } from '../wire.ts';
import type { Answer } from './call.ts';

/*
 * The error vocabulary the emulator answers with: Microsoft's codes, symbolic names and descriptions
 * (MicrosoftDocs/Advertising-docs `guides/operation-error-codes.md`), and the fault body shapes of
 * msads-api.md §3. test/msads/emulator-codes.test.ts checks the names against src/msads/error-codes.ts.
 */

/**
 * The OperationError code of a request Microsoft cannot deserialize (a date like "06/01/2017 1:00 PM",
 * a body that is not JSON). Microsoft refuses the whole batch with no per-item errors (ISS
 * BingAds-PHP-SDK#41); which code it carries is unverified, 113 InvalidDateObject is the best guess.
 */
export const malformedRequestCode = 113;

// biome-ignore format: one code a line reads like Microsoft's table
const codes: Record<number, readonly [errorCode: string, message: string]> = {
  0: ['InternalError', 'An unidentified error has occurred.'],
  105: ['InvalidCredentials', 'Authentication failed. Either supplied credentials are invalid or the account is inactive.'],
  109: ['AuthenticationTokenExpired', 'Authentication token expired. Please renew it or obtain a new token.'],
  113: ['InvalidDateObject', 'The date specified in the request is not valid.'],
  116: ['RequestMissingHeaders', 'One or more required header elements are missing from the request.'],
  117: ['CallRateExceeded', 'You have exceeded the number of calls that you are allowed to make in a minute. Please reduce the number of calls that you make per minute.'],
  201: ['ApiInputValidationError', 'One or more input elements failed validation.'],
  206: ['NullArrayArgument', 'A null array argument is not allowed.'],
  1029: ['CampaignServiceCustomerIdHasToBeSpecified', 'The CustomerId header element cannot be null or empty.'],
  1030: ['CampaignServiceAccountIdHasToBeSpecified', 'The CustomerAccountId header element cannot be null or empty.'],
  1102: ['CampaignServiceInvalidAccountId', 'The account ID is invalid.'],
  1490: ['CampaignServiceInvalidCustomerId', 'The customer ID is invalid.'],
  3347: ['InvalidGoalCategory', 'The Goal Category is invalid.'],
  5314: ['InvalidConversionGoalId', 'The Conversion Goal ID is invalid.'],
  5316: ['DuplicateConversionGoalName', 'Duplicate Conversion Goal names are not allowed.'],
  5317: ['ConversionGoalNameAlreadyExists', 'The Conversion Goal with the same name already exists for the customer.'],
  5319: ['ConversionGoalNameNotPassed', 'The Conversion Goal name is required.'],
  5320: ['InvalidConversionGoalName', 'The Conversion Goal name is invalid or exceeds the length limit.'],
  5321: ['ConversionGoalsNotPassed', 'The Conversion Goals are required.'],
  5322: ['ConversionGoalArrayExceedsLimit', 'The list of Conversion Goals exceeds the limit.'],
  5323: ['ConversionGoalIsNull', 'The Conversion Goal is required.'],
  5324: ['ConversionGoalIdIsNotNull', 'The Conversion Goal ID must be null.'],
  5328: ['InvalidConversionGoalStatus', 'The Conversion Goal status is invalid.'],
  5329: ['ConversionGoalTypesNotPassed', 'The Conversion Goal types are required.'],
  5331: ['ConversionGoalTypeNotMatched', 'The Conversion Goal type should be matched to the goal entity.'],
  5332: ['InvalidConversionGoalRevenueType', 'The Conversion Goal revenue type is invalid.'],
  5333: ['InvalidConversionGoalRevenueValue', 'The Conversion Goal revenue value is invalid.'],
  5337: ['InvalidConversionGoalConversionWindow', 'The Conversion Window for Conversion Goal is invalid.'],
  5351: ['InvalidGoalCurrencyCode', 'The currency code of the goal is invalid.'],
  5355: ['GoalCurrencyCodeIsNull', 'The currency code is required for this goal type.'],
  5600: ['OfflineConversionsNullOrEmpty', 'The list of offline conversions cannot be null or empty.'],
  5601: ['OfflineConversionsLimitExceeded', 'The list of offline conversions exceeds the limit.'],
  5602: ['OfflineConversionIsNull', 'The offline conversion cannot be null.'],
  5603: ['OfflineConversionMicrosoftClickIdNullOrEmpty', 'The Microsoft Click Id of offline conversion cannot be null or empty.'],
  5604: ['OfflineConversionMicrosoftClickIdInvalid', 'The Microsoft Click Id of the offline conversion is invalid.'],
  5605: ['OfflineConversionNameNullOrEmpty', 'The conversion name of offline conversion cannot be null or empty.'],
  5606: ['OfflineConversionNameInvalid', 'The conversion name do not match an existing offline conversion goal.'],
  5607: ['OfflineConversionTimeInvalid', 'The conversion time of offline conversion is invalid.'],
  5608: ['OfflineConversionTimeNullOrEmpty', 'The conversion time of offline conversion cannot be null or empty.'],
  5609: ['OfflineConversionTimeOutOfWindow', 'The conversion time is out of the conversion window.'],
  5610: ['OfflineConversionValueInvalid', 'The conversion value of offline conversion is invalid.'],
  5611: ['OfflineConversionCurrencyCodeInvalid', 'The currency code of offline conversion is invalid.'],
  5612: ['OfflineConversionsApplyFailed', 'Failed to send offline conversions to internal server.'],
  5614: ['FutureConversionTimeCannotBeSet', 'A future conversion time cannot be set.'],
  5615: ['OfflineConversionNotAcceptedForGoal', 'Offline conversions cannot be accepted for the conversion goal at this time. You must wait 2 hours after the goal was created before uploading offline conversions.'],
  5616: ['ConversionTimeEarlierThanClickTime', 'The conversion time must be later than the click time.'],
  5617: ['ClickIdDateTimeOutsideGoalConversionWindow', 'The date and time for the click ID is outside the conversion window for this goal.'],
  5618: ['OfflineConversionInvalidAdjustmentType', 'The offline conversion adjustment type is invalid.'],
  5619: ['OfflineConversionAdjustmentTimeNullOrEmpty', 'The offline conversion adjustment time is empty.'],
  5620: ['OfflineConversionAdjustmentTimeEarlierThanConversionTime', 'The offline conversion adjustment time is earlier than conversion time.'],
  5621: ['OfflineConversionAdjustmentTimeInvalid', 'The offline conversion adjustment time is invalid.'],
  5622: ['OfflineConversionFutureAdjustmentTimeCannotBeSet', 'The offline conversion adjustment time cannot be in the future.'],
  5623: ['OfflineConversionAdjustmentTimeOutOfWindow', 'The offline conversion adjustment time is out of the window.'],
  5624: ['OfflineConversionAdjustmentValueNotExpected', 'The offline conversion adjustment value is not expected.'],
  5625: ['OfflineConversionAdjustmentValueRequired', 'The offline conversion adjustment value is required.'],
  5626: ['OfflineConversionCurrencyValueRequired', 'The offline conversion currency value is required.'],
};

/** The codes the emulator can answer with. */
export const emulatorErrorCodes = Object.keys(codes).map(Number);

export function errorName(code: number): string {
  return codes[code]?.[0] ?? `Error${code}`;
}

function message(code: number, detail: string | undefined): string {
  const base = codes[code]?.[1] ?? 'Error.';
  return detail ? `${base} ${detail}` : base;
}

export function batchError(code: number, index: number, fieldPath: string | null, detail?: string) {
  return {
    Code: code,
    ErrorCode: errorName(code),
    Message: message(code, detail),
    Details: null,
    FieldPath: fieldPath,
    Index: index,
    Type: 'BatchError',
  } satisfies WireBatchError;
}

export function operationError(code: number, detail?: string): WireOperationError {
  return { Code: code, ErrorCode: errorName(code), Message: message(code, detail), Details: null };
}

/** Authentication, throttling and header faults. */
export function adApiFault(status: number, trackingId: string, code: number, detail?: string): Answer {
  const { Details: _, ...error } = operationError(code, detail);
  return {
    status,
    body: { Type: 'AdApiFaultDetail', TrackingId: trackingId, Errors: [{ ...error, Detail: null }] },
  };
}

/** Operation-level faults: the request as a whole was refused (5600, 5601, a malformed body, 0, 5612). */
export function apiFault(status: number, trackingId: string, code: number, detail?: string): Answer {
  return {
    status,
    body: {
      Type: 'ApiFaultDetail',
      TrackingId: trackingId,
      OperationErrors: [operationError(code, detail)],
      BatchErrors: [],
    },
  };
}

export function malformedRequest(trackingId: string, detail: string): Answer {
  return apiFault(400, trackingId, malformedRequestCode, detail);
}

export function internalErrorFault(trackingId: string): Answer {
  return {
    status: 500,
    body: {
      Type: 'AdCenterInternalErrorFault',
      TrackingId: trackingId,
      Message: 'An internal error has occurred. Please try again later.',
    },
  };
}
