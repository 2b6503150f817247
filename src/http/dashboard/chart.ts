import { html } from 'hono/html';
import type { DayOutcomes, Outcome } from '../../services/overview.ts';
import type { Html } from './layout.ts';

const fixed: Record<string, string> = {
  accepted: '#1e7b34',
  waiting: '#4a6fb5',
  held: '#c99700',
  duplicate: '#7d7d7d',
  expired: '#7a4fa0',
  failed: '#b35900',
};
/** Rejections, one shade per error code (as many codes as a period has, cycling). */
const rejectedShades = ['#c62828', '#ef6c6c', '#8e0000', '#e0457b', '#a84646'];
const order = ['accepted', 'waiting', 'held', 'duplicate', 'expired', 'failed'];

export function seriesOf(days: readonly DayOutcomes[]): { outcome: Outcome; color: string }[] {
  const present = new Set(days.flatMap((d) => Object.keys(d.counts)));
  const rejected = [...present].filter((o) => o.startsWith('rejected ')).sort();
  return [
    ...order.filter((o) => present.has(o)).map((o) => ({ outcome: o as Outcome, color: fixed[o]! })),
    ...rejected.map((o, i) => ({ outcome: o as Outcome, color: rejectedShades[i % rejectedShades.length]! })),
  ];
}

/**
 * Conversions per day as stacked bars, one colour per outcome: inline SVG, so no script, no CDN and no
 * inline style (colours are presentation attributes, which the CSP allows). Each bar segment has a
 * title (hover, screen readers); the same numbers are in the table below the chart.
 */
export function outcomeChart(days: readonly DayOutcomes[]): Html {
  const series = seriesOf(days);
  const width = 900;
  const height = 260;
  const left = 44;
  const bottom = 28;
  const top = 10;
  const plotW = width - left - 8;
  const plotH = height - top - bottom;
  const totals = days.map((d) => Object.values(d.counts).reduce<number>((a, b) => a + (b ?? 0), 0));
  const max = Math.max(1, ...totals);
  // A round top for the axis: 1, 2 or 5 times a power of ten.
  const magnitude = 10 ** Math.floor(Math.log10(max));
  const axisMax = ([1, 2, 5, 10].map((m) => m * magnitude).find((m) => m >= max) ?? max) as number;
  const slot = plotW / Math.max(1, days.length);
  const barW = Math.max(2, slot * 0.75);
  const y = (n: number) => top + plotH - (n / axisMax) * plotH;
  // A middle line only where it falls on a whole number.
  const ticks = axisMax % 2 === 0 ? [0, axisMax / 2, axisMax] : [0, axisMax];
  const labelEvery = Math.ceil(days.length / 10);
  return html`<svg viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">
    <title id="chart-title">Conversions per day by outcome</title>
    <desc id="chart-desc">Stacked bars, one per day from ${days[0]?.day ?? ''} to ${days[days.length - 1]?.day ?? ''}; the table below has the same numbers.</desc>
    ${ticks.map(
      (
        t,
      ) => html`<line x1="${left}" x2="${width - 8}" y1="${y(t)}" y2="${y(t)}" stroke="#d0d0d7" stroke-width="1" />
        <text x="${left - 6}" y="${y(t) + 4}" text-anchor="end" font-size="12" fill="#4a4a4f">${Math.round(t)}</text>`,
    )}
    ${days.map((d, i) => {
      const x = left + i * slot + (slot - barW) / 2;
      let base = 0;
      return html`<g>${series.map(({ outcome, color }) => {
        const n = d.counts[outcome] ?? 0;
        if (n === 0) return '';
        const y0 = y(base);
        base += n;
        const y1 = y(base);
        return html`<rect x="${x.toFixed(1)}" y="${y1.toFixed(1)}" width="${barW.toFixed(1)}" height="${Math.max(0.5, y0 - y1).toFixed(1)}" fill="${color}"><title>${d.day}: ${n} ${outcome}</title></rect>`;
      })}${
        i % labelEvery === 0
          ? html`<text x="${(x + barW / 2).toFixed(1)}" y="${height - 8}" text-anchor="middle" font-size="11" fill="#4a4a4f">${d.day.slice(5)}</text>`
          : ''
      }</g>`;
    })}
  </svg>`;
}

/** The legend: a swatch (a tiny SVG) and the outcome's name. */
export function legend(days: readonly DayOutcomes[]): Html {
  return html`<ul class="legend">${seriesOf(days).map(
    ({ outcome, color }) =>
      html`<li><svg class="swatch" width="14" height="14" aria-hidden="true"><rect width="14" height="14" fill="${color}" /></svg>${outcome}</li>`,
  )}</ul>`;
}
