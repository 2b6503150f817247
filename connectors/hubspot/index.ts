import type { CrmConnector } from '../deals.ts';
import { defaultRequestPolicy } from './requests.ts';
import type { HubspotSecrets, HubspotSettings } from './settings.ts';
import { createHubspotSource, type SourceOptions } from './source.ts';

export type HubspotConnectorOptions = Partial<SourceOptions>;

const defaults: SourceOptions = { ...defaultRequestPolicy, overlapMs: 5 * 60_000, pageSize: 100 };

/**
 * The HubSpot connector (@hubspot/api-client): deals changed since a cursor, through CRM search on
 * hs_lastmodifieddate windows, archived deals through the basic API, the won time from dealstage's
 * history, the click ID from the deal or its contacts (crm-flow.md rule A). Options exist for tests
 * and benchmarks (a fast limiter, short backoff); production uses the defaults.
 */
export function createHubspotConnector(
  options: HubspotConnectorOptions = {},
): CrmConnector<HubspotSettings, HubspotSecrets> {
  for (const [name, value] of Object.entries(options)) {
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value < 0)) {
      throw new TypeError(
        `Expected \`${name}\` to be a number ≥ 0, got \`${String(value)}\` (${typeof value})`,
      );
    }
  }
  const policy: SourceOptions = { ...defaults, ...options };
  if (policy.pageSize < 1 || policy.pageSize > 200) {
    throw new TypeError(
      `Expected \`pageSize\` to be from 1 to 200 (HubSpot's search limit), got \`${policy.pageSize}\``,
    );
  }
  if (policy.requestsPerSecond < 1) {
    throw new TypeError(
      `Expected \`requestsPerSecond\` to be at least 1, got \`${policy.requestsPerSecond}\``,
    );
  }
  return {
    kind: 'hubspot',
    create: ({ settings, secrets, events, guard }) =>
      createHubspotSource({ settings, secrets, events, policy, guard }),
  };
}

export const hubspotConnector = createHubspotConnector();
