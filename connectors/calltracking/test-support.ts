/** Shared by the adapters' tests: a fixture's delivery as the request the receiver hands an adapter. */
import { expect } from 'vitest';
import type { AdapterOptions, CallAdapter, NormalizedCall, ProviderRequest } from './types.ts';

export interface Delivery {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body: string;
  query: Record<string, string>;
}

export type SampleDelivery = (call: {
  callId: string;
  msclkid: string | null;
  startUtc: Date;
  durationSec: number;
  value?: string;
}) => Delivery;

export function requestOf(delivery: Partial<Delivery> & { body?: string | Uint8Array }): ProviderRequest {
  const body = delivery.body ?? '';
  return {
    method: delivery.method ?? 'POST',
    headers: delivery.headers ?? {},
    body: typeof body === 'string' ? new TextEncoder().encode(body) : body,
    query: delivery.query ?? {},
  };
}

/** Parses `delivery` and returns its one call, failing the test with the adapter's reason otherwise. */
export function parseOne(
  adapter: CallAdapter,
  delivery: Partial<Delivery>,
  options: AdapterOptions = {},
): NormalizedCall {
  const result = adapter.parse(requestOf(delivery), options);
  if (!result.ok) throw new Error(`expected a call, got: ${result.reason}`);
  expect(result.calls).toHaveLength(1);
  return result.calls[0]!;
}

/** The reason the adapter gives for refusing `delivery`. */
export function reasonFor(
  adapter: CallAdapter,
  delivery: Partial<Delivery>,
  options: AdapterOptions = {},
): string {
  const result = adapter.parse(requestOf(delivery), options);
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.calls)}`);
  return result.reason;
}

/** The fixture's delivery parses back to the call it was built from (with and without a click ID and value). */
export function expectFixtureRoundTrip(
  adapter: CallAdapter,
  sample: SampleDelivery,
  options: AdapterOptions = {},
) {
  const startUtc = new Date('2026-03-29T00:30:07Z');
  const withAll = {
    callId: 'call-0001',
    msclkid: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
    startUtc,
    durationSec: 187,
    value: '149.95',
  };
  const call = parseOne(adapter, sample(withAll), options);
  expect(call.providerCallId).toBe('call-0001');
  expect(call.startUtc.toISOString()).toBe('2026-03-29T00:30:07.000Z');
  expect(call.durationSec).toBe(187);
  expect(call.msclkid).toBe(withAll.msclkid);
  expect(call.value).toBe('149.95');
  expect(call.cancelled).toBe(false);
  const bare = parseOne(
    adapter,
    sample({ callId: 'call-0002', msclkid: null, startUtc, durationSec: 45 }),
    options,
  );
  expect(bare.providerCallId).toBe('call-0002');
  expect(bare.msclkid).toBeNull();
  expect(bare.value).toBeNull();
}
