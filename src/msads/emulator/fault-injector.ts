import type { FaultKind, FaultOperation, FaultSpec } from './types.ts';

/*
 * Injected faults: each spec hits the next `count` matching calls, or each matching call with
 * probability `rate` from a seeded generator, so a run with the same seed fails the same calls.
 */

const kinds = new Set<FaultKind>([
  'http500',
  'applied500',
  'error0',
  '5612',
  'timeout',
  '109',
  '117',
  'apiFault',
  'http404html',
  'empty200',
  'garbage200',
]);
const operations = new Set<FaultOperation>(['conversions', 'adjustments', 'goals', 'any']);

/** The API operations, as faults name them; account properties are only hit by 'any'. */
export type Operation = Exclude<FaultOperation, 'any'> | 'accountProperties' | 'reports';

/** mulberry32: a small, fast, seedable generator; plenty for choosing which calls fail. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Throws a TypeError naming the bad field and the value received. */
export function validateFault(spec: unknown): FaultSpec {
  const f = (spec ?? {}) as Record<string, unknown>;
  const bad = (field: string, expected: string) =>
    new TypeError(`Fault ${field} must be ${expected}; got ${JSON.stringify(f[field])}`);
  if (!kinds.has(f.kind as FaultKind)) throw bad('kind', [...kinds].join(' | '));
  if (f.operation !== undefined && !operations.has(f.operation as FaultOperation))
    throw bad('operation', [...operations].join(' | '));
  if (f.count !== undefined && !(Number.isInteger(f.count) && (f.count as number) > 0))
    throw bad('count', 'a positive integer');
  if (f.rate !== undefined && !(typeof f.rate === 'number' && f.rate >= 0 && f.rate <= 1))
    throw bad('rate', 'a number from 0 to 1');
  if (f.hangMs !== undefined && !(typeof f.hangMs === 'number' && f.hangMs >= 0))
    throw bad('hangMs', 'a number of milliseconds ≥ 0');
  if (f.applyBeforeHang !== undefined && typeof f.applyBeforeHang !== 'boolean')
    throw bad('applyBeforeHang', 'a boolean');
  if (f.kind === 'apiFault' && !Number.isInteger(f.code))
    throw bad('code', 'an integer error code for apiFault');
  if (f.code !== undefined && !Number.isInteger(f.code)) throw bad('code', 'an integer');
  if (
    f.status !== undefined &&
    !(Number.isInteger(f.status) && (f.status as number) >= 400 && (f.status as number) <= 599)
  )
    throw bad('status', 'an HTTP error status (400-599)');
  return f as unknown as FaultSpec;
}

export interface FaultInjector {
  add(spec: FaultSpec): void;
  /** The fault that hits this call, if any (and uses up one of its count). */
  take(operation: Operation): FaultSpec | undefined;
  clear(): void;
}

export function createFaultInjector(random: () => number): FaultInjector {
  let active: { spec: FaultSpec; remaining: number }[] = [];
  return {
    add(spec) {
      const valid = validateFault(spec);
      const remaining = valid.count ?? (valid.rate === undefined ? 1 : Number.POSITIVE_INFINITY);
      active.push({ spec: { ...valid }, remaining });
    },
    take(operation) {
      for (const fault of active) {
        const target = fault.spec.operation ?? 'any';
        if (target !== 'any' && target !== operation) continue;
        if (fault.spec.rate !== undefined && random() >= fault.spec.rate) continue;
        fault.remaining--;
        if (fault.remaining <= 0) active = active.filter((f) => f !== fault);
        return fault.spec;
      }
      return undefined;
    },
    clear() {
      active = [];
    },
  };
}
