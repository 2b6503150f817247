import type {
  ConnectionGuard,
  ConnectorEvents,
  DealPage,
  DealRecord,
  DealSource,
} from '../../connectors/deals.ts';
import { createHubspotConnector, type HubspotConnectorOptions } from '../../connectors/hubspot/index.ts';
import type { HubspotSettings } from '../../connectors/hubspot/settings.ts';
import { openGuard } from './guard.ts';

/** Settings of a connector pointed at a fake HubSpot. */
export function fakeSettings(baseUrl: string, overrides: Partial<HubspotSettings> = {}): HubspotSettings {
  return { baseUrl, clickIdProperty: 'msclkid', wonStages: ['closedwon'], currency: null, ...overrides };
}

/** A source on a fake, fast (no 4/s pacing, short backoff) unless options say otherwise. */
export function fakeSource(
  fake: { url: string; token: string },
  options: {
    settings?: Partial<HubspotSettings>;
    token?: string;
    connector?: HubspotConnectorOptions;
    events?: ConnectorEvents;
    /** @default openGuard (the fake is on 127.0.0.1) */
    guard?: ConnectionGuard;
  } = {},
): DealSource {
  const connector = createHubspotConnector({
    requestsPerSecond: 10_000,
    backoffMs: 5,
    overlapMs: 0,
    ...options.connector,
  });
  return connector.create({
    settings: fakeSettings(fake.url, options.settings),
    secrets: { token: options.token ?? fake.token },
    events: options.events ?? {},
    guard: options.guard ?? openGuard,
  });
}

/** Every page of one pull. */
export async function pullAll(
  source: DealSource,
  cursor: string | null,
  signal?: AbortSignal,
): Promise<{ deals: DealRecord[]; pages: DealPage[]; cursor: string | null }> {
  const pages: DealPage[] = [];
  let last = cursor;
  for await (const page of source.pull(cursor, signal)) {
    pages.push(page);
    last = page.cursor;
  }
  return { deals: pages.flatMap((p) => p.deals), pages, cursor: last };
}
