import { AppError } from '../errors.ts';

/** A CLI failure: the message is printed as is, and the process exits with `exitCode`. */
export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** Domain errors become CLI errors with their message. */
export function explain(err: unknown): CliError | undefined {
  if (err instanceof CliError) return err;
  if (err instanceof AppError) return new CliError(err.message, err.code === 'validation_failed' ? 2 : 1);
  return undefined;
}
