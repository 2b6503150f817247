import { eq } from 'drizzle-orm';
import { type Account, accounts } from '../../db/schema/index.ts';
import type { ServiceContext } from '../../services/context.ts';
import { isUuid } from '../../services/ids.ts';
import { CliError } from '../runtime.ts';

/** `--account ID`: closeloop's account id, or Microsoft's account id; without it, the default account. */
export async function accountForCli(ctx: ServiceContext, arg: string | undefined): Promise<Account> {
  const all = await ctx.database.db.select().from(accounts).where(eq(accounts.customerId, ctx.customerId));
  const found = arg
    ? all.find((a) => (isUuid(arg) && a.id === arg) || a.msAccountId === arg)
    : (all.find((a) => a.isDefault) ?? (all.length === 1 ? all[0] : undefined));
  if (found) return found;
  throw new CliError(
    arg
      ? `No account "${arg}". List them with: closeloop accounts list`
      : 'No default account; name one with --account ID (closeloop accounts list shows them).',
  );
}
