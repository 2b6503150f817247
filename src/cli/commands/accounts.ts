import { createLogger } from '../../log.ts';
import { type AccountView, listAccounts, registerAccount } from '../../services/accounts.ts';
import { autoTagging } from '../../services/auto-tagging.ts';
import { openSending } from '../../submit/runtime.ts';
import type { Command } from '../command.ts';
import { CliError, withDatabase } from '../runtime.ts';
import { withAccounts } from '../with-accounts.ts';
import { accountForCli } from './account-arg.ts';

const usage = `closeloop accounts list [--json]
       closeloop accounts add --name NAME --customer-id ID --account-id ID --client-id ID
                              --developer-token-env VAR [--client-secret-env VAR] [--refresh-token-env VAR]
                              [--api-base-url URL] [--oauth-token-url URL] [--calls-per-minute N] [--default]

  The account configured by MSADS_* appears by itself; add registers more, kept in the database.
  Without any, closeloop runs a dry run against its built-in emulator: nothing reaches Microsoft.

  --customer-id, --account-id  Microsoft's numeric customer (manager) id and ad account id
  --client-id                  the OAuth app registration (Azure) id
  --*-env VAR                  the NAME of an environment variable holding that secret, so the secret
                               stays out of your shell history and the process list, e.g.
                                 read -rs DEV_TOKEN && export DEV_TOKEN
                                 closeloop accounts add … --developer-token-env DEV_TOKEN
                               Secrets are stored encrypted (CLOSELOOP_SECRET_KEY, or the key file).
  --refresh-token-env VAR      a refresh token you already have; otherwise sign in afterwards with
                               closeloop auth login --account ID
  --api-base-url, --oauth-token-url  other hosts (e.g. the sandbox); default MSADS_API_BASE_URL and
                               MSADS_OAUTH_TOKEN_URL
  --calls-per-minute N         this account's rate limit (default MSADS_CALLS_PER_MINUTE)
  --default                    send to this account when nothing names one

       closeloop accounts auto-tagging [--account ID] [--enable]

  Reads MSCLKIDAutoTaggingEnabled from Microsoft (and stores it, so list and the dashboard can warn);
  --enable turns it on. Without auto-tagging, ad clicks carry no msclkid and there is nothing to send.`;

export const accountsCommand: Command = {
  name: 'accounts',
  summary: 'List and register Microsoft Advertising accounts; check or turn on MSCLKID auto-tagging.',
  usage,
  options: {
    json: { type: 'boolean' },
    name: { type: 'string' },
    'customer-id': { type: 'string' },
    'account-id': { type: 'string' },
    'client-id': { type: 'string' },
    'developer-token-env': { type: 'string' },
    'client-secret-env': { type: 'string' },
    'refresh-token-env': { type: 'string' },
    'api-base-url': { type: 'string' },
    'oauth-token-url': { type: 'string' },
    'calls-per-minute': { type: 'string' },
    default: { type: 'boolean' },
    account: { type: 'string' },
    enable: { type: 'boolean' },
  },
  async run({ values, positionals }) {
    const [sub] = positionals;
    if (sub === 'list')
      return withAccounts(async (ctx) => {
        const list = await listAccounts({ ctx });
        if (values.json) console.log(JSON.stringify(list, null, 2));
        else console.log(accountTable(list));
        return 0;
      });
    if (sub === 'add') {
      const input = addInput(values);
      return withAccounts(async (ctx, _config, secrets) => {
        const account = await registerAccount({ ctx, secrets, input });
        console.log(
          `Registered account "${account.name}" (${account.id}), Microsoft account ${account.msAccountId}${account.isDefault ? ', the default' : ''}.`,
        );
        if (!account.refreshTokenEnc)
          console.log(`Next, sign in for it: closeloop auth login --account ${account.msAccountId}`);
        return 0;
      });
    }
    if (sub === 'auto-tagging')
      return withDatabase(async (ctx, config) => {
        const sending = await openSending(
          ctx,
          config,
          createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel),
        );
        const account = await accountForCli(ctx, values.account as string | undefined);
        const view = await autoTagging({
          ctx,
          accountId: account.id,
          client: sending.clientFor,
          enable: Boolean(values.enable),
        });
        const label = view.dryRun ? ' (dry run: the built-in emulator)' : '';
        console.log(`MSCLKID auto-tagging for ${view.name}${label}: ${view.autoTagging ? 'on' : 'OFF'}.`);
        if (view.autoTaggingWarning && !view.autoTagging) console.log(view.autoTaggingWarning);
        return view.autoTagging ? 0 : 1;
      });
    throw new CliError(`Unknown accounts subcommand ${sub ? `"${sub}"` : '(none)'}.\n\nUsage: ${usage}`);
  },
};

function addInput(values: Record<string, string | boolean | undefined>): Record<string, unknown> {
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const missing = ['name', 'customer-id', 'account-id', 'client-id', 'developer-token-env'].filter(
    (k) => str(k) === undefined,
  );
  if (missing.length > 0)
    throw new CliError(`accounts add needs ${missing.map((k) => `--${k}`).join(', ')}.\n\nUsage: ${usage}`);
  const fromEnv = (flag: string) => {
    const name = str(flag);
    if (name === undefined) return undefined;
    const value = process.env[name];
    if (!value)
      throw new CliError(
        `--${flag} names the environment variable ${name}, which is not set or empty. Export it first (read -rs ${name} && export ${name}).`,
      );
    return value;
  };
  const perMinute = str('calls-per-minute');
  return {
    name: str('name'),
    msCustomerId: str('customer-id'),
    msAccountId: str('account-id'),
    clientId: str('client-id'),
    developerToken: fromEnv('developer-token-env'),
    clientSecret: fromEnv('client-secret-env'),
    refreshToken: fromEnv('refresh-token-env'),
    apiBaseUrl: str('api-base-url'),
    oauthTokenUrl: str('oauth-token-url'),
    callsPerMinute: perMinute === undefined ? undefined : Number(perMinute),
    makeDefault: values.default === true ? true : undefined,
  };
}

/** Accounts as a table, with what needs doing under each one. */
export function accountTable(list: AccountView[]): string {
  if (list.length === 0)
    return 'No accounts. Set MSADS_* (see the README) or run: closeloop accounts add --help';
  const rows = list.map((a) => ({
    a,
    cells: [
      a.isDefault ? '*' : '',
      a.name,
      a.dryRun ? 'DRY RUN' : 'microsoft',
      a.dryRun ? '-' : `${a.msCustomerId}/${a.msAccountId}`,
      a.dryRun ? '-' : a.authStatus,
      a.dryRun ? '-' : a.autoTagging === null ? 'not checked' : a.autoTagging ? 'on' : 'OFF',
      a.id,
    ],
  }));
  const header = ['', 'NAME', 'TARGET', 'CUSTOMER/ACCOUNT', 'AUTH', 'AUTO-TAGGING', 'ID'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r.cells[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const out = [line(header)];
  for (const { a, cells } of rows) {
    out.push(line(cells));
    for (const note of notes(a)) out.push(`     ${note}`);
  }
  out.push(
    '',
    `* the default account.${list.some((a) => a.dryRun) ? ' DRY RUN: the built-in emulator; nothing reaches Microsoft.' : ''}`,
  );
  return out.join('\n');
}

function notes(a: AccountView): string[] {
  if (a.dryRun)
    return ['Dry run: set MSADS_* or run `closeloop accounts add` to send to Microsoft Advertising.'];
  const out: string[] = [];
  if (!a.hasRefreshToken || a.authStatus === 'reconsent_needed')
    out.push(
      `Sign-in needed${a.authError ? ` (${a.authError})` : ''}: closeloop auth login --account ${a.msAccountId}`,
    );
  else if (a.authStatus === 'error' && a.authError) out.push(`Sign-in error: ${a.authError}`);
  if (a.autoTagging === false && a.autoTaggingWarning) out.push(a.autoTaggingWarning);
  if (a.pausedUntil) out.push(`Paused until ${a.pausedUntil}${a.pauseReason ? `: ${a.pauseReason}` : ''}`);
  return out;
}
