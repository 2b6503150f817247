/**
 * A count with its noun, right in the singular too: "1 row", "2 rows", "1,000 calls". Every count in
 * closeloop's output goes through it.
 */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}
