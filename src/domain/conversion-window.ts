import { plural } from './plural.ts';

/** Microsoft: ConversionWindowInMinutes is 1 to 129,600 (90 days); default 43,200 (30 days). */
export const maxConversionWindowMinutes = 129_600;
export const defaultConversionWindowMinutes = 43_200;

/** "90d", "12h", "30m" or a plain number of minutes → minutes. */
export function parseWindow(text: string): number | undefined {
  const m = /^\s*(\d+)\s*(d|h|m|days?|hours?|minutes?)?\s*$/i.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? 'm')[0]!.toLowerCase();
  return unit === 'd' ? n * 1440 : unit === 'h' ? n * 60 : n;
}

/** Minutes → the largest whole unit: "30 days", "12 hours", "90 minutes" (what `parseWindow` reads back). */
export function formatWindow(minutes: number): string {
  if (minutes % 1440 === 0) return plural(minutes / 1440, 'day');
  if (minutes % 60 === 0) return plural(minutes / 60, 'hour');
  return plural(minutes, 'minute');
}
