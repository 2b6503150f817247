/**
 * Every reason closeloop gives for not sending a row, with a stable code. Codes never change meaning;
 * the message of each problem is written where it is detected and says what to fix.
 * `scope: 'file'` problems stop the whole upload; `scope: 'row'` problems affect one row only.
 */
export const rowErrorCodes = {
  // whole file
  EMPTY_FILE: { scope: 'file', summary: 'The file has no header row or no data rows.' },
  UNREADABLE_FILE: { scope: 'file', summary: 'The file is not a readable CSV or XLSX file.' },
  MISSING_REQUIRED_COLUMN: { scope: 'file', summary: 'A required column is missing from the header row.' },
  DUPLICATE_COLUMN: { scope: 'file', summary: 'Two header cells name the same column.' },
  TOO_MANY_ROWS: { scope: 'file', summary: 'More than 100,000 data rows in one upload.' },
  WORKBOOK_TOO_LARGE: {
    scope: 'file',
    summary:
      'The Excel workbook unpacks to far more data than 100,000 rows of the template need (damaged, or built to exhaust the service).',
  },
  INVALID_PARAMETERS_ROW: { scope: 'file', summary: 'The Parameters row is not understood.' },
  WRONG_FILE_KIND: {
    scope: 'file',
    summary: 'Adjustments were asked for and the file holds conversions, or the other way round.',
  },
  INTERRUPTED: {
    scope: 'file',
    summary:
      'The preview stopped before it finished (the file did not arrive whole, or the process was stopped); upload the file again.',
  },
  // row shape
  MALFORMED_ROW: {
    scope: 'row',
    summary: 'The row could not be read (unclosed quote, binary data, wrong cell count).',
  },
  CELL_TOO_LARGE: { scope: 'row', summary: 'A cell is longer than any valid value.' },
  // click ID and enhanced-conversion identifiers
  MISSING_CLICK_ID: { scope: 'row', summary: 'No Microsoft Click ID and no hashed email or phone.' },
  INVALID_CLICK_ID: { scope: 'row', summary: 'The Microsoft Click ID is not 32 hexadecimal characters.' },
  INVALID_HASHED_EMAIL: { scope: 'row', summary: 'The hashed email is not a SHA-256 lowercase hex string.' },
  INVALID_HASHED_PHONE: { scope: 'row', summary: 'The hashed phone is not a SHA-256 lowercase hex string.' },
  INVALID_EMAIL: { scope: 'row', summary: 'The email address is not valid.' },
  INVALID_PHONE: { scope: 'row', summary: 'The phone number cannot be read as an E.164 number.' },
  // goal
  MISSING_CONVERSION_NAME: { scope: 'row', summary: 'The Conversion Name is empty.' },
  CONVERSION_NAME_TOO_LONG: { scope: 'row', summary: 'The Conversion Name is longer than 100 characters.' },
  UNKNOWN_GOAL: { scope: 'row', summary: 'The Conversion Name matches no offline conversion goal.' },
  GOAL_PAUSED: { scope: 'row', summary: 'The goal is paused; Microsoft does not count conversions for it.' },
  // times
  MISSING_CONVERSION_TIME: { scope: 'row', summary: 'The Conversion Time is empty.' },
  INVALID_TIME_FORMAT: { scope: 'row', summary: 'The time is in none of the accepted formats.' },
  INVALID_DATE: {
    scope: 'row',
    summary: 'The time names a date or clock time that does not exist (31 June, 25:00).',
  },
  INVALID_TIME_ZONE: {
    scope: 'row',
    summary: 'The time zone is neither an offset like -0500 nor a Microsoft time zone name.',
  },
  NONEXISTENT_LOCAL_TIME: {
    scope: 'row',
    summary: 'The local time falls in a daylight saving gap and never happened.',
  },
  FUTURE_CONVERSION_TIME: { scope: 'row', summary: 'The Conversion Time is in the future.' },
  CONVERSION_TOO_OLD: { scope: 'row', summary: 'The Conversion Time is more than 90 days ago.' },
  OUTSIDE_CONVERSION_WINDOW: {
    scope: 'row',
    summary: "The conversion is later than the goal's conversion window after the click.",
  },
  CONVERSION_BEFORE_CLICK: { scope: 'row', summary: 'The Conversion Time is before the click.' },
  // value and currency
  INVALID_VALUE: { scope: 'row', summary: 'The value is not a number.' },
  VALUE_COMMA_DECIMAL: {
    scope: 'row',
    summary: 'The value uses a comma; use a period as the decimal separator.',
  },
  VALUE_TOO_MANY_DECIMALS: { scope: 'row', summary: 'The value has more than 3 decimal places.' },
  VALUE_NEGATIVE: { scope: 'row', summary: 'The value is negative.' },
  VALUE_OUT_OF_RANGE: { scope: 'row', summary: 'The value is larger than 999,999,999,999.' },
  INVALID_CURRENCY: { scope: 'row', summary: "The currency is not one of Microsoft's currency codes." },
  // duplicates
  DUPLICATE_IN_FILE: {
    scope: 'row',
    summary: 'An earlier row of the same upload has the same goal, click ID and time.',
  },
  DUPLICATE_IN_LEDGER: {
    scope: 'row',
    summary: 'This conversion was already received; it is not sent twice.',
  },
  // adjustments
  INVALID_ADJUSTMENT_TYPE: { scope: 'row', summary: 'The Adjustment Type is neither Restate nor Retract.' },
  MISSING_ADJUSTMENT_TIME: { scope: 'row', summary: 'The Adjustment Time is empty.' },
  ADJUSTMENT_BEFORE_CONVERSION: {
    scope: 'row',
    summary: 'The Adjustment Time is earlier than the Conversion Time.',
  },
  FUTURE_ADJUSTMENT_TIME: { scope: 'row', summary: 'The Adjustment Time is in the future.' },
  ADJUSTMENT_VALUE_REQUIRED: { scope: 'row', summary: 'A Restate needs an Adjustment Value.' },
  ADJUSTMENT_VALUE_NOT_EXPECTED: { scope: 'row', summary: 'A Retract must not have an Adjustment Value.' },
  ADJUSTMENT_NO_MATCHING_CONVERSION: {
    scope: 'row',
    summary: 'No conversion with this goal, click ID and time is known.',
  },
  ADJUSTMENT_CONVERSION_NOT_SENDABLE: {
    scope: 'row',
    summary: 'The conversion this adjusts was rejected or expired, so there is nothing to adjust.',
  },
} as const satisfies Record<string, { scope: 'file' | 'row'; summary: string }>;

export type RowErrorCode = keyof typeof rowErrorCodes;
