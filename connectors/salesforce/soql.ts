/** The few SOQL statements the connector sends, built in one place. */

/**
 * Ids per `IN (…)` list. Queries go in the URL of a GET, and Salesforce refuses a URI plus headers over
 * 16,384 bytes (414 / 431, help.salesforce.com article 000386264): an Id costs 23 bytes there ('…' plus
 * an encoded comma), so 500 Ids stay near 11.5 KB, with room for the headers.
 */
export const idsPerQuery = 500;

/** A SOQL string literal: Salesforce escapes ' and \ with a backslash. */
export function soqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** A SOQL datetime literal in UTC, to the second (SOQL has no fractional-second literal). */
export function soqlDateTime(at: Date): string {
  return `${at.toISOString().slice(0, 19)}Z`;
}

export function inList(ids: readonly string[]): string {
  return `(${ids.map(soqlString).join(',')})`;
}

export function chunks<T>(items: readonly T[], size = idsPerQuery): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function opportunitiesQuery(options: {
  clickIdField: string;
  multiCurrency: boolean;
  since: Date | null;
}): string {
  const fields = [
    'Id',
    'Name',
    'StageName',
    'IsWon',
    'IsClosed',
    'IsDeleted',
    'Amount',
    'CloseDate',
    'SystemModstamp',
    options.clickIdField,
    ...(options.multiCurrency ? ['CurrencyIsoCode'] : []),
  ];
  const where = options.since ? ` WHERE SystemModstamp >= ${soqlDateTime(options.since)}` : '';
  return `SELECT ${fields.join(', ')} FROM Opportunity${where} ORDER BY SystemModstamp, Id`;
}

export const wonStagesQuery = 'SELECT ApiName, IsWon FROM OpportunityStage';
export const organizationQuery = 'SELECT Id, Name, TimeZoneSidKey FROM Organization';

export function historyQuery(opportunityIds: readonly string[]): string {
  return `SELECT Id, OpportunityId, StageName, CreatedDate FROM OpportunityHistory WHERE OpportunityId IN ${inList(opportunityIds)} ORDER BY OpportunityId, CreatedDate, Id`;
}

export function leadsByOpportunityQuery(clickIdField: string, opportunityIds: readonly string[]): string {
  return `SELECT Id, ConvertedOpportunityId, ${clickIdField}, CreatedDate FROM Lead WHERE ConvertedOpportunityId IN ${inList(opportunityIds)} AND ${clickIdField} != null ORDER BY CreatedDate DESC, Id`;
}

export function contactRolesQuery(clickIdField: string, opportunityIds: readonly string[]): string {
  return `SELECT Id, OpportunityId, ContactId, IsPrimary, CreatedDate, Contact.${clickIdField}, Contact.CreatedDate FROM OpportunityContactRole WHERE OpportunityId IN ${inList(opportunityIds)} ORDER BY OpportunityId, IsPrimary DESC, CreatedDate, Id`;
}

export function leadsByContactQuery(clickIdField: string, contactIds: readonly string[]): string {
  return `SELECT Id, ConvertedContactId, ${clickIdField}, CreatedDate FROM Lead WHERE ConvertedContactId IN ${inList(contactIds)} AND ${clickIdField} != null ORDER BY CreatedDate DESC, Id`;
}
