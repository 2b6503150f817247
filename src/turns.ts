/**
 * Work that must not overlap for one key (an account), in the order it was asked for; work for other
 * keys runs side by side. A failure is passed to its caller and does not stop the next turn.
 */
export function createTurns() {
  const chains = new Map<string, Promise<unknown>>();
  return function turn<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const next = (chains.get(key) ?? Promise.resolve()).then(fn, fn);
    chains.set(
      key,
      next.catch(() => {}),
    );
    return next;
  };
}
