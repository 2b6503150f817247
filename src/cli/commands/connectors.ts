import type { ConnectorRunCounts } from '../../db/schema/connector-runs.ts';
import type { SyncReport } from '../../services/connector-sync.ts';
import type { ConnectorView } from '../../services/connectors.ts';
import { CliError } from '../cli-error.ts';
import { closest } from '../closest.ts';
import type { Command } from '../command.ts';
import { secretFromEnv } from '../env-secret.ts';

const kinds = ['salesforce', 'hubspot'];

const usage = `closeloop connectors add salesforce --name NAME --goal GOAL --login-url URL --client-id ID
                     --client-secret-env VAR --refresh-token-env VAR [--click-id-field MSCLKID__c]
                     [--currency USD] [--every MINUTES]
       closeloop connectors add hubspot --name NAME --goal GOAL --token-env VAR [--base-url URL]
                     [--click-id-property msclkid] [--won-stage closedwon]… [--currency C]
                     [--webhook-secret-env VAR] [--every MINUTES]
       closeloop connectors list [--json]
       closeloop connectors test NAME
       closeloop connectors sync NAME [--full] [--json]
       closeloop connectors runs NAME [--json]
       closeloop connectors every NAME MINUTES
       closeloop connectors remove NAME`;

const details = `Won deals with a Microsoft Click ID become conversions of the goal; later changes become Restate
or Retract (docs/crm.md has the rules). Secrets are given as the NAME of an environment variable
(--*-env), so they stay out of your shell history; they are stored encrypted.

sync runs one incremental sync (the first one, and --full, read every deal; nothing already sent is sent
again) and prints deals read, conversions, restates, retracts and skipped deals by reason. Exit 1 when
the CRM failed (what was read before the failure is kept; the next sync resumes).
closeloop serve syncs every connector on its interval (default 15 minutes; --every, or connectors every).`;

export const connectorsCommand: Command = {
  name: 'connectors',
  summary: 'Connect Salesforce or HubSpot: won deals become conversions, later changes adjustments.',
  usage,
  details,
  options: {
    name: { type: 'string', value: 'NAME', description: 'add: a name for the connector' },
    goal: { type: 'string', value: 'GOAL', description: "add: the offline conversion goal's name or id" },
    'login-url': {
      type: 'string',
      value: 'URL',
      description: 'salesforce: https://login.salesforce.com, https://test.salesforce.com or your My Domain',
    },
    'client-id': { type: 'string', value: 'ID', description: "salesforce: the connected app's consumer key" },
    'client-secret-env': {
      type: 'string',
      value: 'VAR',
      description: "salesforce: the environment variable holding the connected app's consumer secret",
    },
    'refresh-token-env': {
      type: 'string',
      value: 'VAR',
      description: 'salesforce: the environment variable holding an OAuth refresh token',
    },
    'click-id-field': {
      type: 'string',
      value: 'FIELD',
      description: 'salesforce: the click-ID field on Opportunity, Lead and Contact (default MSCLKID__c)',
    },
    'token-env': {
      type: 'string',
      value: 'VAR',
      description: "hubspot: the environment variable holding the private app's access token",
    },
    'base-url': { type: 'string', value: 'URL', description: 'hubspot: another API host (tests)' },
    'click-id-property': {
      type: 'string',
      value: 'NAME',
      description: 'hubspot: the click-ID property on deals and contacts (default msclkid)',
    },
    'won-stage': {
      type: 'string',
      multiple: true,
      value: 'STAGE',
      description: 'hubspot: a deal stage id that means won; repeat for several (default closedwon)',
    },
    'webhook-secret-env': {
      type: 'string',
      value: 'VAR',
      description:
        "hubspot: the environment variable holding the app's client secret, to accept POST /webhooks/hubspot/ID",
    },
    currency: {
      type: 'string',
      value: 'CODE',
      description: "add: the currency of deals that carry none (else the goal's)",
    },
    every: {
      type: 'string',
      value: 'MINUTES',
      description: 'add: minutes between syncs in serve (default 15)',
    },
    full: {
      type: 'boolean',
      description: 'sync: read every deal, not only those changed since the last sync',
    },
    json: { type: 'boolean', description: 'list, sync, runs: print JSON (sync: one object)' },
  },
  async run({ values, positionals }) {
    const [sub, target, extra] = positionals;
    const [{ withAccounts }, service] = await Promise.all([
      import('../with-accounts.ts'),
      import('../../services/connectors.ts'),
    ]);
    if (sub === 'add') {
      const input = addInput(target, values);
      return withAccounts(async (ctx, config, secrets) => {
        const policy = { allowPrivate: config.allowPrivateSources };
        const connector = await service.addConnector({ ctx, secrets, policy, input }).catch(async (err) => {
          throw await withGoalSuggestion(ctx, err, String(values.goal));
        });
        console.log(
          `Added connector "${connector.name}" (${connector.kind}, ${connector.id}), syncing every ${connector.intervalMinutes} minutes in closeloop serve. Check it with: closeloop connectors test "${connector.name}"`,
        );
        if (connector.kind === 'hubspot' && input.secrets && 'webhookSecret' in input.secrets)
          console.log(`HubSpot webhook URL: https://<your closeloop>/webhooks/hubspot/${connector.id}`);
        return 0;
      });
    }
    if (sub === 'list')
      return withAccounts(async (ctx, _config, secrets) => {
        const list = (await service.listConnectors({ ctx })).map((c) => service.connectorView(c, secrets));
        if (values.json) console.log(JSON.stringify(list, null, 2));
        else if (list.length === 0)
          console.log('No connectors yet. Add one with: closeloop connectors add salesforce|hubspot …');
        else for (const c of list) console.log(connectorLine(c));
        return 0;
      });
    if (!target) throw new CliError(`connectors ${sub ?? ''} needs the connector's name.\n\nUsage: ${usage}`);
    if (sub === 'test')
      return withAccounts(async (ctx, config, secrets) => {
        const policy = { allowPrivate: config.allowPrivateSources };
        const r = await service.testConnector({ ctx, secrets, policy, idOrName: target });
        console.log(
          `Connector "${target}": signed in as ${r.signedInAs}; ${r.dealsRead} deals on the first page.`,
        );
        for (const note of r.notes) console.log(`  ${note}`);
        return 0;
      });
    if (sub === 'sync') {
      const { syncConnector } = await import('../../services/connector-sync.ts');
      return withAccounts(async (ctx, config, secrets) => {
        const report = await syncConnector({
          ctx,
          secrets,
          policy: { allowPrivate: config.allowPrivateSources },
          id: target,
          full: values.full === true,
          trigger: 'cli',
        });
        if (values.json) console.log(JSON.stringify(report, null, 2));
        else console.log(syncText(report));
        return report.status === 'succeeded' ? 0 : 1;
      });
    }
    if (sub === 'runs')
      return withAccounts(async (ctx) => {
        const runs = await service.listRuns({ ctx, idOrName: target });
        if (values.json) console.log(JSON.stringify(runs, null, 2));
        else if (runs.length === 0) console.log(`No syncs of "${target}" yet.`);
        else
          for (const r of runs)
            console.log(
              `${r.startedAt.toISOString()}  ${r.status.padEnd(9)} ${r.mode.padEnd(11)} ${r.trigger.padEnd(8)} ${countsText(r.counts)}${r.error ? `  error: ${r.error}` : ''}`,
            );
        return 0;
      });
    if (sub === 'every') {
      const minutes = minutesOf(extra, 'connectors every NAME MINUTES');
      return withAccounts(async (ctx) => {
        const c = await service.updateConnector({
          ctx,
          idOrName: target,
          patch: { intervalMinutes: minutes },
        });
        console.log(
          `Connector "${c.name}" syncs every ${c.intervalMinutes} minutes; next at ${c.nextSyncAt.toISOString()}.`,
        );
        return 0;
      });
    }
    if (sub === 'remove')
      return withAccounts(async (ctx) => {
        const c = await service.removeConnector({ ctx, idOrName: target });
        console.log(`Removed connector "${c.name}". What it put in the ledger stays.`);
        return 0;
      });
    throw new CliError(`Unknown connectors subcommand ${sub ? `"${sub}"` : '(none)'}.\n\nUsage: ${usage}`);
  },
};

type Values = Record<string, string | boolean | string[] | undefined>;

function addInput(kind: string | undefined, values: Values) {
  if (!kind || !kinds.includes(kind)) {
    const meant = kind ? closest(kind, kinds) : undefined;
    throw new CliError(
      `${kind ? `Unknown kind "${kind}"` : 'connectors add needs a kind'}${meant ? `; did you mean "${meant}"?` : ''}. closeloop connects to: ${kinds.join(', ')}.\n\nUsage: ${usage}`,
    );
  }
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const required =
    kind === 'salesforce'
      ? ['name', 'goal', 'login-url', 'client-id', 'client-secret-env', 'refresh-token-env']
      : ['name', 'goal', 'token-env'];
  const missing = required.filter((k) => str(k) === undefined);
  if (missing.length > 0)
    throw new CliError(
      `connectors add ${kind} needs ${missing.map((k) => `--${k}`).join(', ')}.\n\nUsage: ${usage}`,
    );
  const fromEnv = (flag: string) => secretFromEnv(flag, str(flag));
  const defined = (o: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const common = {
    kind,
    name: str('name'),
    goal: str('goal'),
    ...(str('every') !== undefined ? { intervalMinutes: minutesOf(str('every'), '--every MINUTES') } : {}),
  };
  if (kind === 'salesforce')
    return {
      ...common,
      settings: defined({
        loginUrl: str('login-url'),
        clientId: str('client-id'),
        clickIdField: str('click-id-field'),
        currency: str('currency'),
      }),
      secrets: { clientSecret: fromEnv('client-secret-env'), refreshToken: fromEnv('refresh-token-env') },
    };
  const stages = values['won-stage'];
  return {
    ...common,
    settings: defined({
      baseUrl: str('base-url'),
      clickIdProperty: str('click-id-property'),
      wonStages: Array.isArray(stages) && stages.length > 0 ? stages : undefined,
      currency: str('currency'),
    }),
    secrets: defined({ token: fromEnv('token-env'), webhookSecret: fromEnv('webhook-secret-env') }),
  };
}

function minutesOf(text: string | undefined, where: string): number {
  const n = Number(text);
  if (!text || !/^\d+$/.test(text) || n < 1 || n > 10_080)
    throw new CliError(
      `${where}: MINUTES must be a whole number from 1 to 10080 (a week); got ${JSON.stringify(text ?? '')}.`,
    );
  return n;
}

/** An unknown goal: "did you mean" among all goal names, not only those that differ in case. */
async function withGoalSuggestion(
  ctx: Parameters<typeof import('../../services/goals.ts').listGoals>[0]['ctx'],
  err: unknown,
  goal: string,
): Promise<unknown> {
  const message = (err as Error).message ?? '';
  if (!(err instanceof Error) || !message.startsWith('No goal') || message.includes('did you mean'))
    return err;
  const { listGoals } = await import('../../services/goals.ts');
  const names = (await listGoals({ ctx })).map((g) => g.name);
  const meant = closest(goal, names);
  return new CliError(
    meant
      ? `No goal "${goal}"; did you mean "${meant}"? Goals: ${names.join(', ')}.`
      : `No goal "${goal}". ${names.length ? `Goals: ${names.join(', ')}.` : 'Create one first: closeloop goals add --name NAME.'}`,
    1,
  );
}

function connectorLine(c: ConnectorView): string {
  const state = c.lastError
    ? `last sync failed (${c.failures}×): ${c.lastError}`
    : c.lastSyncAt
      ? `last sync ${c.lastSyncAt}`
      : 'never synced';
  return `${c.name}  [${c.kind}; every ${c.intervalMinutes} min; next ${c.nextSyncAt}; ${state}]  ${c.id}`;
}

const reasonWords: Record<string, string> = {
  no_click_id: 'no click ID',
  invalid_click_id: 'invalid click ID',
  click_too_old: 'click too old',
  conversion_before_click: 'conversion before click',
  no_won_time: 'no won time',
  zero_amount: 'zero amount',
  invalid_amount: 'invalid amount',
  invalid_currency: 'invalid currency',
  not_won: 'not won',
  deleted: 'deleted before sent',
  too_soon_to_adjust: 'too soon to adjust',
};

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function countsText(c: ConnectorRunCounts): string {
  const skipped = Object.values(c.skipped).reduce((a, b) => a + b, 0);
  return `${plural(c.dealsRead, 'deal')} read, ${plural(c.conversions, 'conversion')}, ${plural(c.restates, 'restate')}, ${plural(c.retracts, 'retract')}, ${c.unchanged} unchanged, ${skipped} skipped`;
}

export function syncText(r: SyncReport): string {
  const seconds = ((Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000).toFixed(1);
  const lines = [
    `${r.status === 'succeeded' ? 'Synced' : 'Sync failed:'} "${r.connector.name}" (${r.connector.kind}, ${r.mode}) in ${seconds} s: ${countsText(r.counts)}.`,
  ];
  const skipped = Object.entries(r.counts.skipped);
  if (skipped.length > 0)
    lines.push(`  skipped by reason: ${skipped.map(([k, n]) => `${reasonWords[k] ?? k} ${n}`).join(', ')}`);
  const rejected = Object.entries(r.counts.rejected);
  if (rejected.length > 0)
    lines.push(`  refused by the checks: ${rejected.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  lines.push(`  API calls: ${r.counts.apiCalls}`);
  for (const s of r.skippedDeals.filter((d) => d.reason !== 'not_won'))
    lines.push(
      `  ${s.dealId}${s.name ? ` "${s.name}"` : ''}: ${reasonWords[s.reason] ?? s.reason}: ${s.message}`,
    );
  if (r.error)
    lines.push(
      `  error: ${r.error.replace(/\.$/, '')}. What was read before it is kept; the next sync resumes.`,
    );
  return lines.join('\n');
}
