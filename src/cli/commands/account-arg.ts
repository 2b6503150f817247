import type { Account } from '../../db/schema/index.ts';
import { AppError } from '../../errors.ts';
import { defaultAccount, getAccount } from '../../services/accounts.ts';
import type { ServiceContext } from '../../services/context.ts';
import { CliError } from '../runtime.ts';

/** `--account ID`: closeloop's account id, or Microsoft's account id; without it, the default account. */
export async function accountForCli(ctx: ServiceContext, arg: string | undefined): Promise<Account> {
  try {
    const found = arg === undefined ? await defaultAccount({ ctx }) : await getAccount({ ctx, id: arg });
    if (found) return found;
  } catch (err) {
    // A wrong --account is a usage error (exit 2), like any other bad argument.
    if (err instanceof AppError && err.code === 'not_found') throw new CliError(err.message, 2);
    throw err;
  }
  throw new CliError('No default account; name one with --account ID (closeloop accounts list shows them).');
}
