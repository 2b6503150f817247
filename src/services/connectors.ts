import { and, desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import type {
  ConnectionGuard,
  ConnectorEvents,
  ConnectorTestResult,
  DealSource,
} from '../../connectors/deals.ts';
import { crmConnectors } from '../../connectors/registry.ts';
import { type Connector, connectorRuns, connectors, crmDeals } from '../db/schema/index.ts';
import { nameProblem } from '../domain/names.ts';
import { AppError } from '../errors.ts';
import type { AddressPolicy } from '../ingest/sources/address-policy.ts';
import { checkConnectorUrl, connectionGuard } from '../ingest/sources/connection-guard.ts';
import type { Secrets } from '../secrets.ts';
import type { ServiceContext } from './context.ts';
import { getGoal } from './goals.ts';
import { isUuid } from './ids.ts';
import { validationError } from './zod-error.ts';

/*
 * Connected CRMs: add, list, remove, test. What a CRM is (its settings and secrets) is checked here, one
 * schema per kind; talking to it is the connector module's job (connectors/<kind>/), loaded from
 * connectors/registry.ts only when a connector of that kind is used.
 */

const url = z.url({ protocol: /^https?$/ });
const currency = z
  .string()
  .regex(/^[A-Za-z]{3}$/, 'a three-letter ISO currency code, e.g. USD')
  .transform((c) => c.toUpperCase());
const secretText = z.string().min(1, 'must not be empty');

/** Settings (stored as they are) and secrets (stored encrypted) of each kind of CRM. */
export const connectorKinds = {
  salesforce: {
    settings: z.strictObject({
      loginUrl: url,
      clientId: z.string().min(1),
      clickIdField: z
        .string()
        .regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'a Salesforce field API name, e.g. MSCLKID__c')
        .default('MSCLKID__c'),
      currency: currency.nullable().default(null),
    }),
    secrets: z.strictObject({
      clientSecret: secretText,
      refreshToken: secretText,
      accessToken: z.string().optional(),
      instanceUrl: z.string().optional(),
    }),
  },
  hubspot: {
    settings: z.strictObject({
      baseUrl: url.nullable().default(null),
      clickIdProperty: z
        .string()
        .regex(/^[a-z0-9_]+$/, 'a HubSpot property internal name (lowercase), e.g. msclkid')
        .default('msclkid'),
      wonStages: z.array(z.string().min(1)).min(1).default(['closedwon']),
      currency: currency.nullable().default(null),
    }),
    secrets: z.strictObject({ token: secretText, webhookSecret: secretText.optional() }),
  },
} as const;
export type ConnectorKind = keyof typeof connectorKinds;
export const connectorKindNames = Object.keys(connectorKinds) as ConnectorKind[];

const kindSchema = z.enum(connectorKindNames, {
  error: (issue) =>
    `unknown kind ${JSON.stringify(issue.input)}; closeloop connects to ${connectorKindNames.join(', ')}`,
});
const intervalMinutes = z.number().int().min(1).max(10_080);

/** The body of POST /api/v1/connectors: `settings` and `secrets` are checked by `connectorKinds[kind]`. */
export const connectorInput = z.object({
  kind: kindSchema,
  name: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .refine((n) => !nameProblem(n), 'a name without control characters'),
  /** The goal's name or id. */
  goal: z.string().min(1),
  intervalMinutes: intervalMinutes.default(15),
  settings: z.record(z.string(), z.unknown()).default({}),
  secrets: z.record(z.string(), z.unknown()),
});

/** A connector as the API and the CLI show it: never its secrets, only which ones are set. */
export interface ConnectorView {
  id: string;
  kind: string;
  name: string;
  goalId: string;
  settings: Record<string, unknown>;
  secretsSet: string[];
  intervalMinutes: number;
  nextSyncAt: string;
  lastSyncAt: string | null;
  lastError: string | null;
  failures: number;
  /** Null until the first sync: that one is a backfill. */
  synced: boolean;
  createdAt: string;
}

export function connectorView(c: Connector, secrets: Secrets): ConnectorView {
  return {
    id: c.id,
    kind: c.kind,
    name: c.name,
    goalId: c.goalId,
    settings: c.settings,
    secretsSet: Object.keys(readSecrets(c, secrets)).sort(),
    intervalMinutes: c.intervalMinutes,
    nextSyncAt: c.nextSyncAt.toISOString(),
    lastSyncAt: c.lastSyncAt?.toISOString() ?? null,
    lastError: c.lastError,
    failures: c.failures,
    synced: c.cursor !== null,
    createdAt: c.createdAt.toISOString(),
  };
}

export function readSecrets(c: Connector, secrets: Secrets): Record<string, unknown> {
  return JSON.parse(secrets.decrypt(c.secretsEnc)) as Record<string, unknown>;
}

export async function addConnector({
  ctx,
  secrets,
  policy,
  input,
}: {
  ctx: ServiceContext;
  secrets: Secrets;
  /** Where connectors may connect (CLOSELOOP_ALLOW_PRIVATE_SOURCES): a login or base URL it refuses is not saved. */
  policy: AddressPolicy;
  input: unknown;
}): Promise<Connector> {
  const parsed = connectorInput.safeParse(input);
  if (!parsed.success) throw validationError(parsed.error, 'connector');
  const c = parsed.data;
  const kind = connectorKinds[c.kind];
  const settings = kind.settings.safeParse(c.settings);
  if (!settings.success) throw validationError(settings.error, `${c.kind} settings`);
  const secretValues = kind.secrets.safeParse(c.secrets);
  if (!secretValues.success) throw validationError(secretValues.error, `${c.kind} secrets`);
  const where = settings.data as { loginUrl?: string; baseUrl?: string | null };
  if (where.loginUrl) await checkConnectorUrl(policy, where.loginUrl, 'The login URL');
  if (where.baseUrl) await checkConnectorUrl(policy, where.baseUrl, 'The base URL');
  const goal = await getGoal({ ctx, idOrName: c.goal });
  const now = ctx.now();
  const [existing] = await ctx.database.db
    .select({ id: connectors.id })
    .from(connectors)
    .where(and(eq(connectors.customerId, ctx.customerId), eq(connectors.name, c.name)));
  if (existing)
    throw new AppError(
      'conflict',
      `A connector named "${c.name}" exists already; choose another name, or remove it first (closeloop connectors remove "${c.name}").`,
    );
  const [row] = await ctx.database.db
    .insert(connectors)
    .values({
      customerId: ctx.customerId,
      kind: c.kind,
      name: c.name,
      goalId: goal.id,
      settings: settings.data as Record<string, unknown>,
      secretsEnc: secrets.encrypt(JSON.stringify(secretValues.data)),
      intervalMinutes: c.intervalMinutes,
      nextSyncAt: now,
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  return row!;
}

export async function listConnectors({ ctx }: { ctx: ServiceContext }): Promise<Connector[]> {
  return ctx.database.db
    .select()
    .from(connectors)
    .where(eq(connectors.customerId, ctx.customerId))
    .orderBy(connectors.name);
}

/** A connector by id or exact name. */
export async function getConnector({
  ctx,
  idOrName,
}: {
  ctx: ServiceContext;
  idOrName: string;
}): Promise<Connector> {
  const [row] = nameProblem(idOrName)
    ? []
    : await ctx.database.db
        .select()
        .from(connectors)
        .where(
          and(
            eq(connectors.customerId, ctx.customerId),
            isUuid(idOrName) ? eq(connectors.id, idOrName) : eq(connectors.name, idOrName),
          ),
        );
  if (!row) {
    const names = (await listConnectors({ ctx })).map((c) => c.name);
    throw new AppError(
      'not_found',
      `No connector "${idOrName}". ${names.length ? `Connectors: ${names.join(', ')}.` : 'Add one with `closeloop connectors add salesforce|hubspot …` or POST /api/v1/connectors.'}`,
    );
  }
  return row;
}

/** The body of PATCH /api/v1/connectors/:idOrName. */
export const connectorPatch = z.strictObject({
  intervalMinutes: intervalMinutes.optional(),
  goal: z.string().min(1).optional(),
});

/** Change the interval or the goal (the secrets and settings: remove and add again). */
export async function updateConnector({
  ctx,
  idOrName,
  patch,
}: {
  ctx: ServiceContext;
  idOrName: string;
  patch: unknown;
}): Promise<Connector> {
  const parsed = connectorPatch.safeParse(patch);
  if (!parsed.success) throw validationError(parsed.error, 'connector change');
  const c = await getConnector({ ctx, idOrName });
  const goalId = parsed.data.goal ? (await getGoal({ ctx, idOrName: parsed.data.goal })).id : c.goalId;
  const now = ctx.now();
  const interval = parsed.data.intervalMinutes ?? c.intervalMinutes;
  const [row] = await ctx.database.db
    .update(connectors)
    .set({
      goalId,
      intervalMinutes: interval,
      // A shorter interval takes effect at once, not after the old one ran out.
      nextSyncAt: new Date(Math.min(c.nextSyncAt.getTime(), now.getTime() + interval * 60_000)),
      updatedAt: now,
    })
    .where(eq(connectors.id, c.id))
    .returning();
  return row!;
}

/** Remove a connector, its runs and its per-deal state. What it put in the ledger stays. */
export async function removeConnector({
  ctx,
  idOrName,
}: {
  ctx: ServiceContext;
  idOrName: string;
}): Promise<Connector> {
  const c = await getConnector({ ctx, idOrName });
  await ctx.database.db.transaction(async (tx) => {
    await tx.delete(crmDeals).where(eq(crmDeals.connectorId, c.id));
    await tx.delete(connectorRuns).where(eq(connectorRuns.connectorId, c.id));
    await tx.delete(connectors).where(eq(connectors.id, c.id));
  });
  return c;
}

export async function listRuns({
  ctx,
  idOrName,
  limit = 20,
}: {
  ctx: ServiceContext;
  idOrName: string;
  limit?: number;
}) {
  const c = await getConnector({ ctx, idOrName });
  return ctx.database.db
    .select()
    .from(connectorRuns)
    .where(eq(connectorRuns.connectorId, c.id))
    .orderBy(desc(connectorRuns.startedAt))
    .limit(limit);
}

/** Creates the CRM client of a connector: the registry's module, or in tests a source of their own. */
export type DealSourceFactory = (connector: {
  kind: string;
  settings: Record<string, unknown>;
  secrets: Record<string, unknown>;
  events: ConnectorEvents;
  /** Every connection the connector makes goes through it (the address policy). */
  guard: ConnectionGuard;
}) => Promise<DealSource>;

/** The connector modules of connectors/registry.ts. */
export const registrySources: DealSourceFactory = async ({ kind, settings, secrets, events, guard }) => {
  const load = (
    crmConnectors as Record<string, (() => Promise<{ create: (o: unknown) => DealSource }>) | undefined>
  )[kind];
  if (!load)
    throw new AppError(
      'service_unavailable',
      `The ${kind} connector module is not part of this build (connectors/registry.ts has no entry for it); update closeloop.`,
    );
  return (await load()).create({ settings, secrets, events, guard });
};

/**
 * The connector's client with its decrypted secrets. Tokens the SDK refreshes are stored encrypted at
 * once (merged into the stored secrets), so a crash right after a refresh loses no refresh token.
 */
export async function openSource({
  ctx,
  secrets,
  connector,
  sources,
  policy,
  events = {},
}: {
  ctx: ServiceContext;
  secrets: Secrets;
  connector: Connector;
  sources: DealSourceFactory;
  /** Where the connector may connect (CLOSELOOP_ALLOW_PRIVATE_SOURCES), checked on every connection. */
  policy: AddressPolicy;
  events?: ConnectorEvents;
}): Promise<DealSource> {
  let current = readSecrets(connector, secrets);
  return sources({
    kind: connector.kind,
    guard: connectionGuard(policy),
    settings: connector.settings,
    secrets: current,
    events: {
      ...events,
      onTokens: async (tokens) => {
        current = {
          ...current,
          accessToken: tokens.accessToken,
          ...(tokens.refreshToken ? { refreshToken: tokens.refreshToken } : {}),
          ...(tokens.instanceUrl ? { instanceUrl: tokens.instanceUrl } : {}),
        };
        await ctx.database.db
          .update(connectors)
          .set({ secretsEnc: secrets.encrypt(JSON.stringify(current)), updatedAt: ctx.now() })
          .where(eq(connectors.id, connector.id));
        await events.onTokens?.(tokens);
      },
    },
  });
}

/** Sign in and read one page. A CRM error is answered as a problem naming the connector and the cause. */
export async function testConnector({
  ctx,
  secrets,
  idOrName,
  sources = registrySources,
  policy,
  signal,
}: {
  ctx: ServiceContext;
  secrets: Secrets;
  idOrName: string;
  sources?: DealSourceFactory;
  policy: AddressPolicy;
  signal?: AbortSignal;
}): Promise<ConnectorTestResult & { apiCalls: number }> {
  const connector = await getConnector({ ctx, idOrName });
  let apiCalls = 0;
  const source = await openSource({
    ctx,
    secrets,
    connector,
    sources,
    policy,
    events: { onApiCall: () => apiCalls++ },
  });
  try {
    return { ...(await source.test(signal)), apiCalls };
  } catch (err) {
    throw new AppError(
      'bad_request',
      `Connector "${connector.name}" (${connector.kind}) failed its test: ${describeCrmError(err)}`,
    );
  }
}

/**
 * A CRM error in one line: the connector's code and request when it has them. Stored as text, so
 * without NUL (PostgreSQL refuses it) and at most 2,000 characters.
 */
export function describeCrmError(err: unknown): string {
  let text = String(err);
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; request?: unknown };
    const code = typeof e.code === 'string' && e.name === 'ConnectorError' ? `${e.code}: ` : '';
    const request = typeof e.request === 'string' ? ` (${e.request})` : '';
    text = `${code}${e.message}${request}`;
  }
  text = text.replaceAll('\0', '\\0');
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
}
