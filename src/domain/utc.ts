/** The form Microsoft receives: `YYYY-MM-DDTHH:mm:ssZ`, UTC, whole seconds. */
export function formatUtc(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

/** Two digits, for clock times in messages: 5 → "05". */
export function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
