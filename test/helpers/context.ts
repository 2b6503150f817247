import type { Database } from '../../src/db/client.ts';
import type { ServiceContext } from '../../src/services/context.ts';

/** A clock the test moves by hand: no test ever sleeps. */
export function testClock(start: string | Date) {
  let t = new Date(start).getTime();
  return {
    now: () => new Date(t),
    set: (to: string | Date) => {
      t = new Date(to).getTime();
    },
    advance: (ms: number) => {
      t += ms;
    },
  };
}

export function testContext(database: Database, now: () => Date, customerId = 'default'): ServiceContext {
  return { database, customerId, now };
}

/** Input for the file readers from a string. */
export async function* textInput(text: string): AsyncGenerator<Uint8Array> {
  yield new TextEncoder().encode(text);
}
