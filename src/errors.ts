/**
 * One error vocabulary for the service: every error a caller can see has a stable code, an HTTP status
 * and a message that says what to do next. Rendered as RFC 9457 problem+json by the HTTP layer and as
 * a plain message by the CLI.
 */
export const errorStatus = {
  bad_request: 400,
  validation_failed: 422,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  internal: 500,
  service_unavailable: 503,
  /** The database cannot be reached or has stopped; closeloop reconnects (or reopens it) by itself. */
  database_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof errorStatus;

export class AppError extends Error {
  override name = 'AppError';
  readonly code: ErrorCode;
  readonly details?: unknown;
  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.code = code;
    this.details = details;
  }
  get status(): number {
    return errorStatus[this.code];
  }
}
