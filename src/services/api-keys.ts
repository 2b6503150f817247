import { randomBytes } from 'node:crypto';
import { and, asc, eq, isNull, lt, or } from 'drizzle-orm';
import { type ApiKey, apiKeys } from '../db/schema/index.ts';
import { sha256Hex } from '../domain/identifiers.ts';
import { nameProblem } from '../domain/names.ts';
import { AppError } from '../errors.ts';
import type { ServiceContext } from './context.ts';
import { isUuid } from './ids.ts';

const keyPrefix = 'cl_';

export const hashApiKey = sha256Hex;

/** A new key: 32 random bytes. Returned once; only its hash is stored. */
export async function createApiKey({
  ctx,
  name,
}: {
  ctx: ServiceContext;
  name: string;
}): Promise<{ key: string; record: ApiKey }> {
  const trimmed = name.trim();
  if (!trimmed || trimmed.length > 100)
    throw new AppError(
      'validation_failed',
      'An API key needs a name of 1 to 100 characters (e.g. "zapier").',
    );
  const problem = nameProblem(trimmed);
  if (problem) throw new AppError('validation_failed', `The API key's name ${problem}.`);
  const key = `${keyPrefix}${randomBytes(32).toString('base64url')}`;
  const [record] = await ctx.database.db
    .insert(apiKeys)
    .values({ name: trimmed, prefix: key.slice(0, 10), hash: hashApiKey(key), createdAt: ctx.now() })
    .returning();
  return { key, record: record! };
}

export async function listApiKeys({ ctx }: { ctx: ServiceContext }): Promise<ApiKey[]> {
  return ctx.database.db.select().from(apiKeys).orderBy(asc(apiKeys.createdAt));
}

export async function revokeApiKey({
  ctx,
  idOrPrefix,
}: {
  ctx: ServiceContext;
  idOrPrefix: string;
}): Promise<ApiKey> {
  // Text that cannot be a key's id or prefix (a NUL, which PostgreSQL refuses) matches nothing.
  const [row] = nameProblem(idOrPrefix)
    ? []
    : await ctx.database.db
        .update(apiKeys)
        .set({ revokedAt: ctx.now() })
        .where(
          and(
            isNull(apiKeys.revokedAt),
            isUuid(idOrPrefix) ? eq(apiKeys.id, idOrPrefix) : eq(apiKeys.prefix, idOrPrefix.slice(0, 10)),
          ),
        )
        .returning();
  if (!row)
    throw new AppError(
      'not_found',
      `No active API key "${idOrPrefix}". List keys with \`closeloop keys list\`.`,
    );
  return row;
}

/** The key's record if the key is known and not revoked; last use is recorded at most once a minute. */
export async function verifyApiKey({
  ctx,
  key,
}: {
  ctx: ServiceContext;
  key: string;
}): Promise<ApiKey | undefined> {
  if (!key.startsWith(keyPrefix) || key.length > 200) return undefined;
  const [row] = await ctx.database.db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.hash, hashApiKey(key)), isNull(apiKeys.revokedAt)));
  if (!row) return undefined;
  const now = ctx.now();
  await ctx.database.db
    .update(apiKeys)
    .set({ lastUsedAt: now })
    .where(
      and(
        eq(apiKeys.id, row.id),
        or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, new Date(now.getTime() - 60_000))),
      ),
    );
  return row;
}
