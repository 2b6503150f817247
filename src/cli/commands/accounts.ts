import type { AccountView } from '../../services/accounts.ts';
import { resumeCommand } from '../../submit/pause-reason.ts';
import { CliError } from '../cli-error.ts';
import type { Command } from '../command.ts';
import { secretFromEnv } from '../env-secret.ts';

const usage = `closeloop accounts list [--json]
       closeloop accounts add --name NAME --customer-id ID --account-id ID --client-id ID
                              --developer-token-env VAR [--client-secret-env VAR] [--refresh-token-env VAR]
                              [--api-base-url URL] [--oauth-token-url URL] [--calls-per-minute N] [--default]
       closeloop accounts auto-tagging [--account ID] [--enable]
       closeloop accounts resume [--account ID] [--force] [--json]`;

const details = `The account configured by MSADS_* appears by itself; add registers more, kept in the database.
Without any, closeloop runs a dry run against its built-in emulator: nothing reaches Microsoft.

Secrets are given as the NAME of an environment variable (--*-env), so they stay out of your shell
history and the process list, e.g.
  read -rs DEV_TOKEN && export DEV_TOKEN
  closeloop accounts add … --developer-token-env DEV_TOKEN
They are stored encrypted (CLOSELOOP_SECRET_KEY, or the key file).

auto-tagging reads MSCLKIDAutoTaggingEnabled from Microsoft (and stores it, so list and the dashboard can
warn); --enable turns it on. Without auto-tagging, ad clicks carry no msclkid and there is nothing to send.

resume lifts the account's pause now. Microsoft refusing its credentials or configuration, or an answer
that is not Microsoft's (a wrong MSADS_API_BASE_URL), pauses it 15 minutes; once you have fixed that
(signed in again, corrected the URL), resume sends its queued rows on the submitter's next pass instead
of at the end of the pause. A pause for throttling (117, 429) is Microsoft asking to wait about a
minute: it is lifted only with --force.`;

export const accountsCommand: Command = {
  name: 'accounts',
  summary:
    'List and register Microsoft Advertising accounts; check or turn on MSCLKID auto-tagging; lift a pause.',
  usage,
  details,
  options: {
    json: { type: 'boolean', description: 'list, resume: print the accounts (the account) as JSON' },
    name: { type: 'string', value: 'NAME', description: 'add: a name for the account' },
    'customer-id': {
      type: 'string',
      value: 'ID',
      description: "add: Microsoft's numeric customer (manager) id",
    },
    'account-id': { type: 'string', value: 'ID', description: "add: Microsoft's numeric ad account id" },
    'client-id': { type: 'string', value: 'ID', description: 'add: the OAuth app registration (Azure) id' },
    'developer-token-env': {
      type: 'string',
      value: 'VAR',
      description: 'add: the environment variable holding the developer token',
    },
    'client-secret-env': {
      type: 'string',
      value: 'VAR',
      description: "add: the environment variable holding the app's client secret (Web apps)",
    },
    'refresh-token-env': {
      type: 'string',
      value: 'VAR',
      description:
        'add: the environment variable holding a refresh token you already have; otherwise sign in afterwards with closeloop auth login --account ID',
    },
    'api-base-url': {
      type: 'string',
      value: 'URL',
      description: 'add: another Campaign Management host, e.g. the sandbox (default MSADS_API_BASE_URL)',
    },
    'oauth-token-url': {
      type: 'string',
      value: 'URL',
      description: 'add: another token endpoint (default MSADS_OAUTH_TOKEN_URL)',
    },
    'calls-per-minute': {
      type: 'string',
      value: 'N',
      description: "add: this account's rate limit (default MSADS_CALLS_PER_MINUTE)",
    },
    default: { type: 'boolean', description: 'add: send to this account when nothing names one' },
    account: {
      type: 'string',
      value: 'ID',
      description:
        "auto-tagging, resume: closeloop's or Microsoft's account id (default: the default account)",
    },
    enable: { type: 'boolean', description: 'auto-tagging: turn MSCLKID auto-tagging on' },
    force: {
      type: 'boolean',
      description: 'resume: lift a pause for throttling (117, 429) too, before Microsoft said to call again',
    },
  },
  async run({ values, positionals }) {
    const [sub] = positionals;
    if (sub === 'list') {
      const [{ withAccounts }, { listAccounts }] = await Promise.all([
        import('../with-accounts.ts'),
        import('../../services/accounts.ts'),
      ]);
      return withAccounts(async (ctx) => {
        const list = await listAccounts({ ctx });
        if (values.json) console.log(JSON.stringify(list, null, 2));
        else console.log(accountTable(list));
        return 0;
      });
    }
    if (sub === 'add') {
      const input = addInput(values);
      const [{ withAccounts }, { registerAccount }] = await Promise.all([
        import('../with-accounts.ts'),
        import('../../services/accounts.ts'),
      ]);
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
    if (sub === 'auto-tagging') {
      const [{ withDatabase }, { createLogger }, { autoTagging }, { openSending }, { accountForCli }] =
        await Promise.all([
          import('../runtime.ts'),
          import('../../log.ts'),
          import('../../services/auto-tagging.ts'),
          import('../../submit/runtime.ts'),
          import('./account-arg.ts'),
        ]);
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
    }
    if (sub === 'resume') {
      const [{ withDatabase }, { resumeAccount }, { accountForCli }] = await Promise.all([
        import('../runtime.ts'),
        import('../../services/account-resume.ts'),
        import('./account-arg.ts'),
      ]);
      return withDatabase(async (ctx) => {
        const account = await accountForCli(ctx, values.account as string | undefined);
        const view = await resumeAccount({ ctx, idOrRef: account.id, force: Boolean(values.force) });
        console.log(values.json ? JSON.stringify(view, null, 2) : view.message);
        return 0;
      });
    }
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
  const fromEnv = (flag: string) => secretFromEnv(flag, str(flag));

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
    return 'No accounts. Set MSADS_* (docs/sending.md, "Setting up an account") or run: closeloop accounts add --help';
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
  if (a.pausedUntil) {
    out.push(`Paused until ${a.pausedUntil}${a.pauseReason ? `: ${a.pauseReason}` : ''}`);
    // A throttling pause ends within about a minute; an error's pause lasts 15 and the user may fix it.
    const resume = resumeCommand(a);
    if (resume) out.push(`Fixed it? Lift the pause now: ${resume}`);
  }
  return out;
}
