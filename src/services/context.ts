import type { Database } from '../db/client.ts';

/** What every domain verb gets: the database, the customer it acts for and the clock (tests pass a fixed one). */
export interface ServiceContext {
  database: Database;
  customerId: string;
  now: () => Date;
}
