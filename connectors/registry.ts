import type { CrmConnector } from './deals.ts';
import type { HubspotSecrets, HubspotSettings } from './hubspot/settings.ts';
import type { SalesforceSecrets, SalesforceSettings } from './salesforce/settings.ts';

/** Every CRM closeloop connects to, by kind. A third CRM is one folder and one line here. */
export interface CrmKinds {
  salesforce: CrmConnector<SalesforceSettings, SalesforceSecrets>;
  hubspot: CrmConnector<HubspotSettings, HubspotSecrets>;
}

/** Each connector's module is loaded only when a connector of its kind is used (jsforce alone takes ~300 ms). */
export const crmConnectors: { [K in keyof CrmKinds]?: () => Promise<CrmKinds[K]> } = {
  // One line per CRM, as each lands (issue 10):
  salesforce: async () => (await import('./salesforce/index.ts')).salesforceConnector,
  hubspot: async () => (await import('./hubspot/index.ts')).hubspotConnector,
};
