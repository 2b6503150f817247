import { CliError } from '../cli-error.ts';
import type { Command } from '../command.ts';

const usage = `closeloop webhooks add PROVIDER --name NAME --goal GOAL [--min-duration SECONDS] [--value V --currency C]
                        [--secret-env VAR] [--json]
       closeloop webhooks list [--json]
       closeloop webhooks url NAME [--rotate] [--public-url URL] [--json]
       closeloop webhooks events ID [--json] [--limit N]
       closeloop webhooks remove NAME

  PROVIDER is one of avanser, calltrackingmetrics, dialogtech, generic, infinity, invoca, responsetap,
  wildjar (those this version has). add prints the endpoint to give the provider; --json prints
  {"id", "path", "url"}, where url includes the source's secret token for providers that cannot sign.
  CallTrackingMetrics signs every webhook with the account secret: --secret-env names the variable
  that holds it. ResponseTap is polled: --secret-env (its API key) and --account.
  url prints a source's endpoint again (with its token); --rotate gives it a new token first, so the
  old URL stops working (paste the new one into the provider).`;

export const webhooksCommand: Command = {
  name: 'webhooks',
  summary: 'Receive calls from call-tracking providers: add, list and remove sources, see their events.',
  usage,
  options: {
    name: { type: 'string', value: 'NAME', description: 'add: a name to recognise the source by' },
    goal: { type: 'string', value: 'GOAL', description: 'add: the goal its qualifying calls convert to' },
    'min-duration': {
      type: 'string',
      value: 'SECONDS',
      description: 'add: calls shorter than this (total duration) do not qualify',
    },
    'min-talk': {
      type: 'string',
      value: 'SECONDS',
      description: 'add: calls with less connected (talk) time do not qualify',
    },
    'answered-only': { type: 'boolean', description: 'add: only calls the provider reports as answered' },
    value: {
      type: 'string',
      value: 'V',
      description: 'add: a fixed value for every call (default: the value in the payload, else the goal’s)',
    },
    currency: {
      type: 'string',
      value: 'C',
      description: 'add: the currency of --value, and of payload values that carry none',
    },
    'secret-env': {
      type: 'string',
      value: 'VAR',
      description: 'add: the environment variable holding the signing secret (CTM) or API key (polled)',
    },
    'basic-auth-env': {
      type: 'string',
      value: 'VAR',
      description: 'add: the variable holding "user:password" the provider also sends as basic auth',
    },
    field: {
      type: 'string',
      multiple: true,
      value: 'NAME=PARAM',
      description: 'add: templated providers: the parameter that holds a field, e.g. providerCallId=uniqueid',
    },
    'time-zone': {
      type: 'string',
      value: 'ZONE',
      description: 'add: the IANA zone of times sent without an offset (default UTC)',
    },
    account: { type: 'string', value: 'ID', description: 'add: a polled provider’s account id' },
    'base-url': { type: 'string', value: 'URL', description: 'add: a polled provider’s API address (tests)' },
    'public-url': {
      type: 'string',
      value: 'URL',
      description:
        'add, url: where providers reach closeloop, for the printed URL (default CLOSELOOP_PUBLIC_URL, else http://localhost:PORT)',
    },
    rotate: { type: 'boolean', description: 'url: a new token first (the old URL stops working)' },
    limit: { type: 'string', value: 'N', description: 'events: how many, newest first (default 50)' },
    json: { type: 'boolean', description: 'add, list, url, events: print JSON' },
  },
  details: `Examples:
  CTM_SECRET=… closeloop webhooks add calltrackingmetrics --name CTM --goal "Phone call" \\
      --min-duration 60 --secret-env CTM_SECRET
  closeloop webhooks add generic --name Ringba --goal "Phone call" --value 50 --currency USD --json
See docs/call-tracking.md.`,
  async run({ values, positionals }) {
    const [sub, target] = positionals;
    const [{ withDatabase }, service] = await Promise.all([
      import('../runtime.ts'),
      import('../../services/webhook-sources.ts'),
    ]);
    if (sub === 'add') {
      if (!target) throw new CliError(`webhooks add needs the provider.\n\nUsage: ${usage}`);
      if (!values.name) throw new CliError(`webhooks add needs --name.\n\nUsage: ${usage}`);
      if (!values.goal) throw new CliError(`webhooks add needs --goal.\n\nUsage: ${usage}`);
      service.adapterFor(target);
      const input = {
        provider: target,
        name: values.name,
        goal: values.goal,
        ...seconds('min-duration', values['min-duration'], 'minDurationSec'),
        ...seconds('min-talk', values['min-talk'], 'minTalkSec'),
        ...(values['answered-only'] ? { answeredOnly: true } : {}),
        ...(values.value !== undefined ? { value: values.value } : {}),
        ...(values.currency !== undefined ? { currency: values.currency } : {}),
        ...(values['secret-env'] ? { secret: fromEnv(String(values['secret-env']), '--secret-env') } : {}),
        ...(values['basic-auth-env']
          ? { basicAuth: fromEnv(String(values['basic-auth-env']), '--basic-auth-env') }
          : {}),
        ...(values.field ? { fields: fieldMap(values.field as unknown as string[]) } : {}),
        ...(values['time-zone'] ? { timeZone: values['time-zone'] } : {}),
        ...(values.account ? { account: values.account } : {}),
        ...(values['base-url'] ? { baseUrl: values['base-url'] } : {}),
      };
      const [{ createSecrets, loadSecretKey }] = await Promise.all([import('../../secrets.ts')]);
      return withDatabase(async (ctx, config) => {
        const secrets = createSecrets(loadSecretKey(config));
        const source = await service.createWebhookSource({ ctx, secrets, input });
        const publicUrl = publicUrlOf(values, config.port);
        const endpoint = service.webhookEndpoint(source, secrets, publicUrl);
        if (values.json) {
          console.log(JSON.stringify(endpoint));
          return 0;
        }
        const adapter = service.adapterFor(source.provider);
        console.log(
          `Created webhook source "${source.name}" (${source.provider} → goal "${values.goal}"), id ${source.id}.`,
        );
        if (adapter.poller) {
          console.log(
            `No URL to paste: closeloop serve polls ${source.provider} every ${Math.round(adapter.poller.intervalMs / 60_000)} minutes with the API key.`,
          );
          return 0;
        }
        console.log(`Give ${source.provider} this URL:\n  ${endpoint.url}`);
        console.log(
          adapter.auth === 'ctm-signature'
            ? 'In CallTrackingMetrics: Settings → Integrations → Webhooks → new webhook, this URL, trigger at the end of the call. It is signed with the account secret; unsigned requests are refused.'
            : `The URL carries the source’s secret token: treat it like a password (closeloop webhooks url "${source.name}" --rotate replaces it).`,
        );
        return 0;
      });
    }
    if (sub === 'list') {
      return withDatabase(async (ctx) => {
        const rows = await service.listWebhookSources({ ctx });
        const views = rows.map((r) => service.webhookSourceView(r.source, r.goalName));
        if (values.json) console.log(JSON.stringify(views, null, 2));
        else if (views.length === 0)
          console.log(
            'No webhook sources. Add one with: closeloop webhooks add PROVIDER --name NAME --goal GOAL',
          );
        else
          for (const v of views) {
            console.log(`${v.name}  ${v.provider} → ${v.goal}  ${v.path}  ${v.id}`);
            // Polled providers: when the next poll is due, and why the last one failed.
            if ('nextPollAt' in v) {
              console.log(`  polled (account ${v.account}), next poll ${v.nextPollAt ?? 'not planned'}`);
              if (v.lastPollError) console.log(`  last poll failed: ${v.lastPollError}`);
            }
          }
        return 0;
      });
    }
    if (sub === 'url') {
      if (!target) throw new CliError(`webhooks url needs the source's name or id.\n\nUsage: ${usage}`);
      const [{ createSecrets, loadSecretKey }] = await Promise.all([import('../../secrets.ts')]);
      return withDatabase(async (ctx, config) => {
        const secrets = createSecrets(loadSecretKey(config));
        const source = values.rotate
          ? await service.rotateWebhookToken({ ctx, secrets, idOrName: target })
          : (await service.getWebhookSource({ ctx, idOrName: target })).source;
        const publicUrl = publicUrlOf(values, config.port);
        const endpoint = service.webhookEndpoint(source, secrets, publicUrl);
        if (values.json) console.log(JSON.stringify(endpoint));
        else if (endpoint.url === null)
          console.log(`"${source.name}" is polled (${source.provider}): it has no URL to give the provider.`);
        else {
          if (values.rotate)
            console.log(`New token for "${source.name}": the old URL stops working within 10 seconds.`);
          console.log(endpoint.url);
        }
        return 0;
      });
    }
    if (sub === 'events') {
      if (!target) throw new CliError(`webhooks events needs the source's id or name.\n\nUsage: ${usage}`);
      const limit = values.limit === undefined ? 50 : Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw new CliError(`--limit must be a whole number from 1 to 1000; got "${values.limit}".`);
      return withDatabase(async (ctx) => {
        const { source, events } = await service.listWebhookEvents({ ctx, idOrName: target, limit });
        const views = events.map(service.webhookEventView);
        if (values.json) console.log(JSON.stringify(views, null, 2));
        else if (views.length === 0) console.log(`No events yet for "${source.name}".`);
        else
          for (const e of views)
            console.log(
              [
                e.receivedAt,
                e.providerCallId ?? '-',
                e.state === 'pending'
                  ? 'pending'
                  : `${e.outcome}${e.ledgerState ? ` (${e.ledgerState})` : ''}`,
                e.reason ?? '',
              ]
                .join('  ')
                .trimEnd(),
            );
        return 0;
      });
    }
    if (sub === 'remove') {
      if (!target) throw new CliError(`webhooks remove needs the source's name or id.\n\nUsage: ${usage}`);
      return withDatabase(async (ctx) => {
        const source = await service.removeWebhookSource({ ctx, idOrName: target });
        console.log(
          `Removed webhook source "${source.name}"; its URL no longer works. Its conversions stay in the ledger.`,
        );
        return 0;
      });
    }
    throw new CliError(`Unknown webhooks subcommand ${sub ? `"${sub}"` : '(none)'}.\n\nUsage: ${usage}`);
  },
};

/** Where providers reach closeloop, for printed URLs: --public-url, CLOSELOOP_PUBLIC_URL, else localhost. */
function publicUrlOf(values: Record<string, unknown>, port: number): string {
  return String(values['public-url'] ?? process.env.CLOSELOOP_PUBLIC_URL ?? `http://localhost:${port}`);
}

function seconds(option: string, value: unknown, key: string) {
  if (value === undefined) return {};
  const n = Number(value);
  if (!/^\d+$/.test(String(value)) || n > 86_400)
    throw new CliError(`--${option} takes whole seconds from 0 to 86400; got "${String(value)}".`);
  return { [key]: n };
}

function fromEnv(name: string, option: string): string {
  const value = process.env[name];
  if (!value)
    throw new CliError(
      `${option} ${name}: the environment variable ${name} is not set (or empty). Export it first, e.g. ${name}=… closeloop webhooks add …`,
    );
  return value;
}

function fieldMap(pairs: string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0 || at === pair.length - 1)
      throw new CliError(`--field takes NAME=PARAM, e.g. --field providerCallId=uniqueid; got "${pair}".`);
    fields[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return fields;
}
