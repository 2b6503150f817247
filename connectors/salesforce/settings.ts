/** What `closeloop connectors add salesforce` stores for a Salesforce connector (not secret). */
export interface SalesforceSettings {
  /** OAuth2 login URL: https://login.salesforce.com, https://test.salesforce.com, a My Domain, or a fake in tests. */
  loginUrl: string;
  /** The connected app's consumer key. */
  clientId: string;
  /** The custom field that holds the click ID on Opportunity, Lead and Contact. @default 'MSCLKID__c' */
  clickIdField: string;
  /** The currency when the org is not multi-currency and has no default (else null). */
  currency: string | null;
}

/** Encrypted at rest; the instance URL and access token come from the token response and are kept too. */
export interface SalesforceSecrets {
  clientSecret: string;
  refreshToken: string;
  accessToken?: string;
  instanceUrl?: string;
}

export const defaultSalesforceClickIdField = 'MSCLKID__c';
