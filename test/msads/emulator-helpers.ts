import { createEmulator, type EmulatorOptions } from '../../src/msads/emulator/index.ts';
import { paths } from '../../src/msads/wire.ts';

export const customerId = '1000';
export const accountId = '2000';
export const t0 = new Date('2026-03-01T12:00:00Z');
export const hourMs = 60 * 60 * 1000;
export const dayMs = 24 * hourMs;

/** A clock the test moves by hand. */
export function testClock(start = t0) {
  let ms = start.getTime();
  return {
    now: () => new Date(ms),
    advance: (by: number) => {
      ms += by;
    },
  };
}

export const apiHeaders: Record<string, string> = {
  Authorization: 'Bearer test-token',
  DeveloperToken: 'dev-token',
  CustomerId: customerId,
  CustomerAccountId: accountId,
  'Content-Type': 'application/json',
};

/** Click id number n as a well-formed MSCLKID. */
export const clickId = (n: number) => n.toString(16).padStart(32, '0');

/** An ISO time `ms` before t0. */
export const ago = (ms: number) => `${new Date(t0.getTime() - ms).toISOString().slice(0, 19)}Z`;

export function conversion(overrides: Record<string, unknown> = {}) {
  return {
    MicrosoftClickId: clickId(1),
    ConversionName: 'Deal',
    ConversionTime: ago(dayMs),
    ...overrides,
  };
}

/**
 * An emulator on a hand-moved clock with one Account-scope goal "Deal" (a day old, USD revenue), open
 * auth, and helpers that call it in-process.
 */
export function setup(options: EmulatorOptions = {}) {
  const clock = testClock();
  const emulator = createEmulator({ now: clock.now, auth: 'open', seed: 1, ...options });
  const goal = emulator.addGoal({
    customerId,
    accountId,
    name: 'Deal',
    createdAt: new Date(t0.getTime() - dayMs),
    revenue: { type: 'VariableValue', value: 10, currencyCode: 'USD' },
  });
  const call = (
    path: string,
    body: unknown,
    headers: Record<string, string | undefined> = {},
    init: RequestInit = {},
  ) => {
    const merged = Object.fromEntries(
      Object.entries({ ...apiHeaders, ...headers }).filter((e): e is [string, string] => e[1] !== undefined),
    );
    return emulator.app.request(path, {
      method: 'POST',
      headers: merged,
      body: typeof body === 'string' ? body : JSON.stringify(body),
      ...init,
    });
  };
  const apply = (items: unknown[], headers?: Record<string, string | undefined>) =>
    call(paths.applyOfflineConversions, { OfflineConversions: items }, headers);
  const adjust = (items: unknown[], headers?: Record<string, string | undefined>) =>
    call(paths.applyOfflineConversionAdjustments, { OfflineConversionAdjustments: items }, headers);
  return { emulator, clock, goalId: goal.id, call, apply, adjust };
}

/** The [Index, Code] pairs of an apply answer, in order. */
export async function errorPairs(response: Response): Promise<[number, number][]> {
  const body = (await response.json()) as { PartialErrors: { Index: number; Code: number }[] };
  return body.PartialErrors.map((e) => [e.Index, e.Code]);
}
