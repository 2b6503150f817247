import type { Config } from '../../config.ts';
import type { Account } from '../../db/schema/index.ts';
import {
  createConsentRequest,
  exchangeAuthorizationCode,
  nativeClientRedirectUri,
  parseAuthorizationResponse,
} from '../../msads/consent.ts';
import type { Secrets } from '../../secrets.ts';
import type { ServiceContext } from '../../services/context.ts';
import { CliError } from '../cli-error.ts';
import type { Command } from '../command.ts';
import { clearPendingLogin, readPendingLogin, savePendingLogin } from '../pending-login.ts';

const usage = `closeloop auth login [--account ID] [--redirect-uri URI] [--code CODE_OR_URL]

  Signs closeloop in to Microsoft Advertising for one account and stores the refresh token, encrypted.
  Run it once per account, and again when \`closeloop accounts list\` says "reconsent_needed".

  1. It prints a consent URL. Open it in a browser, sign in with a user who can manage the account,
     and accept.
  2. Microsoft sends the browser to the redirect URI with ?code=… in the address. Paste the code, or
     the whole address, when asked.
  Consenting on another machine: run without --code, stop it (Ctrl-D) after copying the URL, and
  within the hour run it again with --code and what the browser showed. The consent request (with
  its PKCE verifier) waits in the data folder until then.`;

export const authCommand: Command = {
  name: 'auth',
  summary: 'Sign in to Microsoft Advertising (OAuth consent) and store the refresh token.',
  usage,
  options: {
    account: {
      type: 'string',
      value: 'ID',
      description:
        "closeloop's account id or Microsoft's account id (default: the default account, normally the one configured by MSADS_*)",
    },
    'redirect-uri': {
      type: 'string',
      value: 'URI',
      description: `one of the app registration's redirect URIs, exactly (default ${nativeClientRedirectUri}, for public "mobile and desktop" apps; a Web app with a client secret needs its own Web URI)`,
    },
    code: {
      type: 'string',
      value: 'CODE_OR_URL',
      description: 'the code, or the whole URL Microsoft redirected to, from the last consent URL',
    },
  },
  async run({ values, positionals }) {
    const [sub] = positionals;
    if (sub !== 'login')
      throw new CliError(`Unknown auth subcommand ${sub ? `"${sub}"` : '(none)'}.\n\nUsage: ${usage}`);
    const { withAccounts } = await import('../with-accounts.ts');
    return withAccounts(async (ctx, config, secrets) =>
      login({
        ctx,
        config,
        secrets,
        accountId: values.account === undefined ? undefined : String(values.account),
        redirectUri: values['redirect-uri'] === undefined ? undefined : String(values['redirect-uri']),
        code: values.code === undefined ? undefined : String(values.code),
      }),
    );
  },
};

async function login(o: {
  ctx: ServiceContext;
  config: Config;
  secrets: Secrets;
  accountId: string | undefined;
  redirectUri: string | undefined;
  code: string | undefined;
}): Promise<number> {
  const { ctx, config, secrets } = o;
  const [{ storeRefreshToken }, { promptLine }] = await Promise.all([
    import('../../services/accounts.ts'),
    import('../with-accounts.ts'),
  ]);
  const account = await pickAccount(ctx, o.accountId);
  const tokenUrl = account.oauthTokenUrl ?? config.msads.tokenUrl;
  const clientId = account.clientId!;
  const now = ctx.now();
  let pasted = o.code;
  let pending = pasted === undefined ? undefined : readPendingLogin(config.dataDir, account.id, now);
  if (pasted === undefined) {
    const request = createConsentRequest({
      tokenUrl,
      clientId,
      redirectUri: o.redirectUri ?? nativeClientRedirectUri,
    });
    pending = {
      accountId: account.id,
      state: request.state,
      codeVerifier: request.codeVerifier,
      redirectUri: request.redirectUri,
      createdAt: now.toISOString(),
    };
    savePendingLogin(config.dataDir, pending, now);
    console.error(
      `Open this URL in a browser, sign in with a user who can manage Microsoft Advertising account ${account.msAccountId} ("${account.name}"), and accept:`,
    );
    console.log(request.url);
    console.error(`Microsoft then sends the browser to ${request.redirectUri}?code=…`);
    pasted = await promptLine('Paste the code (or the whole URL you were redirected to): ');
    if (pasted === undefined) {
      console.error(
        `\nNo code given. After consenting, run within the hour:\n  closeloop auth login --account ${account.id} --code CODE_OR_URL`,
      );
      return 1;
    }
  }
  const redirectUri = o.redirectUri ?? pending?.redirectUri ?? nativeClientRedirectUri;
  const code = parseAuthorizationResponse(pasted, pending?.state);
  const grant = await exchangeAuthorizationCode({
    tokenUrl,
    clientId,
    clientSecret: account.clientSecretEnc ? secrets.decrypt(account.clientSecretEnc) : undefined,
    code,
    redirectUri,
    codeVerifier: pending?.codeVerifier,
    timeoutMs: config.submit.timeoutMs,
  });
  await storeRefreshToken({
    ctx,
    secrets,
    accountId: account.id,
    refreshToken: grant.refreshToken,
    accessToken: {
      token: grant.accessToken,
      expiresAt: new Date(now.getTime() + grant.expiresInSeconds * 1000),
    },
  });
  clearPendingLogin(config.dataDir, account.id, now);
  console.log(
    `Signed in: account "${account.name}" (Microsoft account ${account.msAccountId}) has a refresh token, stored encrypted. closeloop can send its conversions now.`,
  );
  return 0;
}

async function pickAccount(ctx: ServiceContext, id: string | undefined): Promise<Account> {
  const { defaultAccount, getAccount } = await import('../../services/accounts.ts');
  const account = id === undefined ? await defaultAccount({ ctx }) : await getAccount({ ctx, id });
  if (!account || account.target === 'emulator')
    throw new CliError(
      id === undefined
        ? 'No Microsoft Advertising account is configured, only the built-in dry run (which needs no sign-in). Set MSADS_CUSTOMER_ID, MSADS_ACCOUNT_ID, MSADS_DEVELOPER_TOKEN and MSADS_CLIENT_ID (docs/sending.md, "Setting up an account"), or register one with `closeloop accounts add`.'
        : `Account ${id} is the built-in dry run: it needs no sign-in.`,
      2,
    );
  if (!account.clientId)
    throw new CliError(
      `Account ${account.id} has no OAuth client id: set MSADS_CLIENT_ID, or register the account again with --client-id.`,
      2,
    );
  return account;
}
