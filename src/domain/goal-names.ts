/*
 * Goal names. A row names its goal in "Conversion Name", exactly: Microsoft matches it case included.
 * But Microsoft refuses a second goal whose name differs only in case from an existing one, and the
 * names people type into spreadsheets differ from the goal's in case and spacing more than in anything
 * else ("purchase", "Phone  lead"): such a row is still refused, with the goal it probably meant.
 */

/** Names Microsoft takes for the same goal: compared without case (and Unicode compatibility forms). */
export function goalNameKey(name: string): string {
  return name.normalize('NFKC').toLowerCase();
}

/** Names that differ only in case or spacing compare equal under this key. */
function looseKey(name: string): string {
  return goalNameKey(name).replace(/\s+/g, '');
}

/** Goals by exact name, and the goal a name that matches none probably meant. */
export function goalDirectory<G extends { name: string }>(goals: readonly G[]) {
  const byName = new Map(goals.map((g) => [g.name, g]));
  const byLooseKey = new Map<string, string>();
  for (const g of goals) if (!byLooseKey.has(looseKey(g.name))) byLooseKey.set(looseKey(g.name), g.name);
  return {
    /** The goal with exactly this name. */
    find: (name: string): G | undefined => byName.get(name),
    /** The name of a goal that differs from `name` only in case or spacing. */
    similar: (name: string): string | undefined => {
      const found = byLooseKey.get(looseKey(name));
      return found === name ? undefined : found;
    },
  };
}
