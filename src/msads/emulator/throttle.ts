/*
 * Microsoft limits calls per customer in a sliding 60 s window and answers 117 CallRateExceeded past it
 * (msads-api.md §5). The emulator keeps each customer's admitted call times in a queue; refused calls
 * do not count, so a client that waits 60 s gets through again.
 */

export const throttleWindowMs = 60_000;

interface Window {
  times: number[];
  head: number;
}

export interface Throttle {
  /** Admit a call for this customer at `nowMs`, or refuse it (false) when the window is full. */
  admit(customerId: string, nowMs: number): boolean;
  /** The most calls admitted for one customer within any 60 s. */
  maxInAnyWindow(): number;
  reset(): void;
}

export function createThrottle(callsPerMinute: number | undefined): Throttle {
  const limit = callsPerMinute ?? Number.POSITIVE_INFINITY;
  const windows = new Map<string, Window>();
  let max = 0;
  return {
    admit(customerId, nowMs) {
      let w = windows.get(customerId);
      if (!w) {
        w = { times: [], head: 0 };
        windows.set(customerId, w);
      }
      while (w.head < w.times.length && w.times[w.head]! <= nowMs - throttleWindowMs) w.head++;
      if (w.head > 1024) {
        w.times.splice(0, w.head);
        w.head = 0;
      }
      const inWindow = w.times.length - w.head;
      if (inWindow >= limit) return false;
      w.times.push(nowMs);
      if (inWindow + 1 > max) max = inWindow + 1;
      return true;
    },
    maxInAnyWindow: () => max,
    reset() {
      windows.clear();
      max = 0;
    },
  };
}
