import { CliError } from './cli-error.ts';

/**
 * A secret given as the NAME of an environment variable (`--token-env HS_TOKEN`), so it stays out of
 * shell history and the process list: its value, undefined when the option is absent, or an error that
 * names the variable when it is not set.
 */
export function secretFromEnv(flag: string, name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const value = process.env[name];
  if (!value)
    throw new CliError(
      `--${flag} names the environment variable ${name}, which is not set or empty. Export it first (read -rs ${name} && export ${name}).`,
    );
  return value;
}
