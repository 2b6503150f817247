import type { ServiceContext } from './context.ts';

/**
 * A small Prometheus registry: metric families computed at each scrape (`register`), and counters kept
 * in this process (`counter`), written in the text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/).
 *
 * How a capability adds its series, with one call where it is set up:
 *
 *   metrics.register('webhooks', async (ctx) => [
 *     { name: 'closeloop_webhook_events_total', help: 'Webhook events received, by provider and outcome.',
 *       type: 'counter', samples: rows.map((r) => ({ labels: { provider: r.provider, outcome: r.outcome }, value: r.n })) },
 *   ]);
 *
 * or, for what only this process sees: `const runs = metrics.counter({ name, help, labelNames })` and
 * `runs.inc({ outcome: 'ok' })`. Prefer `register` with a count from the database: every process then
 * reports the same figures, and a restart loses nothing.
 */

export type MetricType = 'counter' | 'gauge';

export interface Sample {
  labels?: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  /** [a-zA-Z_:][a-zA-Z0-9_:]*; counters end in _total. */
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

/** Computes families at a scrape; it should cost one or two indexed, aggregated queries. */
export type Collect = (ctx: ServiceContext) => Promise<MetricFamily[]> | MetricFamily[];

export interface ProcessCounter {
  inc(labels?: Record<string, string>, by?: number): void;
}

export interface MetricsRegistry {
  /** Adds (or replaces, by `id`) a collector run at every scrape. */
  register(id: string, collect: Collect): void;
  /** A counter kept in this process's memory (reset at restart, per process). */
  counter(spec: { name: string; help: string; labelNames?: readonly string[] }): ProcessCounter;
  /** Every family, in the text format. A collector that fails is reported, not fatal to the others. */
  expose(ctx: ServiceContext, onError?: (collector: string, err: unknown) => void): Promise<string>;
}

export const contentType = 'text/plain; version=0.0.4; charset=utf-8';

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function createMetricsRegistry(): MetricsRegistry {
  const collectors = new Map<string, Collect>();
  const counters: MetricFamily[] = [];
  return {
    register(id, collect) {
      collectors.set(id, collect);
    },
    counter({ name, help, labelNames = [] }) {
      if (!metricName.test(name)) throw new TypeError(`counter: name must match ${metricName}; got ${name}`);
      for (const l of labelNames)
        if (!labelName.test(l)) throw new TypeError(`counter ${name}: label ${l} must match ${labelName}`);
      const family: MetricFamily = { name, help, type: 'counter', samples: [] };
      counters.push(family);
      const byKey = new Map<string, Sample>();
      return {
        inc(labels = {}, by = 1) {
          if (!(by >= 0)) throw new TypeError(`counter ${name}: inc by ${by}; a counter only goes up`);
          const key = labelNames.map((l) => labels[l] ?? '').join('\u0000');
          let sample = byKey.get(key);
          if (!sample) {
            sample = { labels: Object.fromEntries(labelNames.map((l) => [l, labels[l] ?? ''])), value: 0 };
            byKey.set(key, sample);
            family.samples.push(sample);
          }
          sample.value += by;
        },
      };
    },
    async expose(ctx, onError) {
      const started = performance.now();
      const families: MetricFamily[] = [];
      const failures: Sample[] = [];
      for (const [id, collect] of collectors) {
        try {
          families.push(...(await collect(ctx)));
          failures.push({ labels: { collector: id }, value: 0 });
        } catch (err) {
          onError?.(id, err);
          // A scrape still answers: the failing collector's series are missing and this says so.
          failures.push({ labels: { collector: id }, value: 1 });
        }
      }
      families.push(...counters, {
        name: 'closeloop_metrics_collector_failed',
        help: 'Whether a collector failed at this scrape (1: its series are missing; see the server log).',
        type: 'gauge',
        samples: failures,
      });
      families.push({
        name: 'closeloop_metrics_scrape_duration_seconds',
        help: 'How long this scrape took to compute.',
        type: 'gauge',
        samples: [{ value: (performance.now() - started) / 1000 }],
      });
      return writeExposition(families);
    },
  };
}

/** The families in the text exposition format: HELP and TYPE once per name, then its samples. */
export function writeExposition(families: MetricFamily[]): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const f of families) {
    if (!metricName.test(f.name)) throw new TypeError(`metric name ${JSON.stringify(f.name)} is not valid`);
    if (seen.has(f.name)) throw new TypeError(`metric ${f.name} is written twice`);
    seen.add(f.name);
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) lines.push(`${f.name}${writeLabels(s.labels)} ${writeValue(s.value)}`);
  }
  return `${lines.join('\n')}\n`;
}

function writeLabels(labels: Record<string, string> | undefined): string {
  const entries = Object.entries(labels ?? {});
  if (entries.length === 0) return '';
  return `{${entries
    .map(([k, v]) => {
      if (!labelName.test(k)) throw new TypeError(`label name ${JSON.stringify(k)} is not valid`);
      return `${k}="${escapeLabel(v)}"`;
    })
    .join(',')}}`;
}

const escapeHelp = (text: string) => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabel = (text: string) => text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

function writeValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}
