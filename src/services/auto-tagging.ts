import { eq } from 'drizzle-orm';
import { accounts } from '../db/schema/index.ts';
import type { MsadsClient } from '../msads/client.ts';
import { unwrap } from '../msads/client.ts';
import { type AccountView, accountView, getAccount } from './accounts.ts';
import type { ServiceContext } from './context.ts';

/**
 * MSCLKID auto-tagging (GetAccountProperties / SetAccountProperties, MSCLKIDAutoTaggingEnabled): with it
 * off, Microsoft adds no msclkid to ad clicks and there is nothing to send. Read from Microsoft, stored
 * on the account so the dashboard and `accounts list` can warn without a call.
 */
export async function checkAutoTagging({
  ctx,
  accountId,
  client,
}: {
  ctx: ServiceContext;
  accountId: string;
  client: MsadsClient;
}): Promise<AccountView> {
  await getAccount({ ctx, id: accountId });
  const enabled = unwrap(await client.getAutoTagging());
  return store(ctx, accountId, enabled);
}

/** Turn auto-tagging on, then read it back (what is stored is what Microsoft says, not what was asked). */
export async function enableAutoTagging({
  ctx,
  accountId,
  client,
}: {
  ctx: ServiceContext;
  accountId: string;
  client: MsadsClient;
}): Promise<AccountView> {
  await getAccount({ ctx, id: accountId });
  unwrap(await client.setAutoTagging(true));
  return store(ctx, accountId, unwrap(await client.getAutoTagging()));
}

async function store(ctx: ServiceContext, accountId: string, enabled: boolean): Promise<AccountView> {
  const now = ctx.now();
  const [row] = await ctx.database.db
    .update(accounts)
    .set({ autoTagging: enabled, autoTaggingCheckedAt: now, updatedAt: now })
    .where(eq(accounts.id, accountId))
    .returning();
  return accountView(row!);
}
