import { eq } from 'drizzle-orm';
import { type Account, accounts } from '../db/schema/index.ts';
import type { MsadsClient } from '../msads/client.ts';
import { unwrap } from '../msads/client.ts';
import { type AccountView, accountView, getAccount } from './accounts.ts';
import type { ServiceContext } from './context.ts';

/**
 * MSCLKID auto-tagging (GetAccountProperties / SetAccountProperties, MSCLKIDAutoTaggingEnabled): with it
 * off, Microsoft adds no msclkid to ad clicks and there is nothing to send. Read from Microsoft, stored
 * on the account so the dashboard and `accounts list` can warn without a call.
 */
export async function autoTagging({
  ctx,
  accountId,
  client,
  enable = false,
}: {
  ctx: ServiceContext;
  /** closeloop's account id or Microsoft's. */
  accountId: string;
  client: (account: Account) => Promise<MsadsClient> | MsadsClient;
  /** Turn it on first; what is stored is then read back — what Microsoft says, not what was asked. */
  enable?: boolean;
}): Promise<AccountView> {
  const account = await getAccount({ ctx, id: accountId });
  const msads = await client(account);
  if (enable) unwrap(await msads.setAutoTagging(true));
  const enabled = unwrap(await msads.getAutoTagging());
  const now = ctx.now();
  const [row] = await ctx.database.db
    .update(accounts)
    .set({ autoTagging: enabled, autoTaggingCheckedAt: now, updatedAt: now })
    .where(eq(accounts.id, account.id))
    .returning();
  return accountView(row!);
}
