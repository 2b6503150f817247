/** Quote user text in a message, cut with … when long, so a huge cell cannot flood a message. */
export function quote(text: string, max = 40): string {
  const chars = Array.from(text);
  return chars.length > max ? `"${chars.slice(0, max - 1).join('')}…"` : `"${text}"`;
}
