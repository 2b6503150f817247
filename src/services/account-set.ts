import { and, eq, sql } from 'drizzle-orm';
import { queryVia } from '../db/client.ts';
import { accounts } from '../db/schema/index.ts';
import type { ServiceContext } from './context.ts';
import { forgetDryRunGoalLinks } from './msads-goals.ts';

export type Tx = Parameters<Parameters<ServiceContext['database']['db']['transaction']>[0]>[0];

/**
 * Changes to the set of accounts (which one is the default, whether the dry run exists) run one at a
 * time per customer: several processes start at once on one PostgreSQL and each syncs the MSADS_*
 * account. The lock is held until the transaction ends.
 */
export async function lockAccounts(tx: Tx, customerId: string): Promise<void> {
  // 7_361_003: closeloop's advisory lock class for account changes (7_361_002 is the migration lock).
  await tx.execute(sql`select pg_advisory_xact_lock(7361003, hashtext(${customerId}))`);
}

/**
 * Once a real Microsoft account exists, the built-in dry run must not stay the default, or conversions
 * would keep going nowhere; the goals it carried are created anew in the real account. It is deleted when nothing refers to it (no goal, no submission) — the
 * usual case: credentials were added before anything was sent. Otherwise it stays, not default, so
 * the goals and the record of what was "sent" to it keep pointing at a real row.
 */
export async function retireDryRun(tx: Tx, customerId: string, now: Date): Promise<void> {
  const [dry] = await tx
    .select({ id: accounts.id, isDefault: accounts.isDefault })
    .from(accounts)
    .where(and(eq(accounts.customerId, customerId), eq(accounts.origin, 'dry-run')));
  if (!dry) return;
  // The switch from the dry run (its default) to a real account: goals it created are not at Microsoft.
  if (dry.isDefault) await forgetDryRunGoalLinks(queryVia(tx), { customerId, now });
  const deleted = await queryVia(tx)(sql`
    delete from accounts a where a.id = ${dry.id}
       and not exists (select 1 from goals g where g.account_id in (a.id::text, a.ms_account_id))
       and not exists (select 1 from submissions s where s.account_id = a.id)
    returning a.id`);
  if (deleted.length === 0 && dry.isDefault)
    await tx.update(accounts).set({ isDefault: false }).where(eq(accounts.id, dry.id));
}
