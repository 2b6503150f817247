/** What `closeloop connectors add hubspot` stores for a HubSpot connector (not secret). */
export interface HubspotSettings {
  /** Where the SDK sends requests; null for HubSpot itself (https://api.hubapi.com). Tests point it at a fake. */
  baseUrl: string | null;
  /** The deal and contact property holding the click ID. @default 'msclkid' */
  clickIdProperty: string;
  /** Deal stage ids that mean won. @default ['closedwon'] */
  wonStages: string[];
  /** The currency when a deal has no deal_currency_code and the portal's company currency is unknown (else null). */
  currency: string | null;
}

/** Encrypted at rest. */
export interface HubspotSecrets {
  /** A private app's access token (scopes: crm.objects.deals.read, crm.objects.contacts.read). */
  token: string;
  /** The app's client secret, for the optional webhook's signature v3 (POST /webhooks/hubspot/:connectorId). */
  webhookSecret?: string;
}

export const defaultHubspotClickIdProperty = 'msclkid';
export const defaultHubspotWonStages = ['closedwon'];
