/**
 * The little SOQL the fake Salesforce understands: exactly the shapes connectors/salesforce sends
 * (SELECT fields FROM object [WHERE a AND b …] [ORDER BY f [ASC|DESC], …] [LIMIT n]) with the
 * comparisons =, !=, >=, >, <=, <, IN (…) and the literals 'string', true/false, null and
 * datetimes (2026-01-01T00:00:00Z). Anything else is a MALFORMED_QUERY, as Salesforce would answer,
 * so a connector that starts sending something new fails loudly here instead of being answered wrongly.
 */

export type SoqlValue = string | number | boolean | null;

export interface SoqlCondition {
  field: string;
  op: '=' | '!=' | '>=' | '>' | '<=' | '<' | 'IN';
  value: SoqlValue | SoqlValue[];
}

export interface SoqlQuery {
  fields: string[];
  object: string;
  where: SoqlCondition[];
  orderBy: { field: string; desc: boolean }[];
  limit: number | null;
}

export class SoqlError extends Error {}

const datetimeLiteral = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

function parseLiteral(text: string): SoqlValue {
  const t = text.trim();
  if (t.startsWith("'") && t.endsWith("'") && t.length >= 2) {
    return t.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  if (/^(true|false)$/i.test(t)) return t.toLowerCase() === 'true';
  if (/^null$/i.test(t)) return null;
  if (datetimeLiteral.test(t)) return t;
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  throw new SoqlError(`unexpected literal: ${t}`);
}

/** Splits a comma-separated list of literals, respecting quotes. */
function splitList(text: string): string[] {
  const items: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\\' && quoted) {
      current += c + (text[i + 1] ?? '');
      i++;
    } else if (c === "'") {
      quoted = !quoted;
      current += c;
    } else if (c === ',' && !quoted) {
      items.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  if (current.trim() !== '') items.push(current);
  return items;
}

export function parseSoql(soql: string): SoqlQuery {
  const m =
    /^\s*SELECT\s+(.+?)\s+FROM\s+(\w+)(?:\s+WHERE\s+(.+?))?(?:\s+ORDER\s+BY\s+(.+?))?(?:\s+LIMIT\s+(\d+))?\s*$/is.exec(
      soql,
    );
  if (!m) throw new SoqlError(`cannot parse: ${soql.slice(0, 200)}`);
  const fields = (m[1] as string).split(',').map((f) => f.trim());
  const where: SoqlCondition[] = [];
  if (m[3]) {
    // Only AND: the connector never sends OR; a quoted ' AND ' inside a string is not expected either.
    for (const part of m[3].split(/\s+AND\s+/i)) {
      const c = /^\s*([\w.]+)\s*(=|!=|>=|<=|>|<|IN)\s*(.+?)\s*$/is.exec(part);
      if (!c) throw new SoqlError(`cannot parse condition: ${part}`);
      const op = (c[2] as string).toUpperCase() as SoqlCondition['op'];
      const raw = c[3] as string;
      if (op === 'IN') {
        const list = /^\((.*)\)$/s.exec(raw);
        if (!list) throw new SoqlError(`IN needs a list: ${raw}`);
        where.push({ field: c[1] as string, op, value: splitList(list[1] as string).map(parseLiteral) });
      } else {
        where.push({ field: c[1] as string, op, value: parseLiteral(raw) });
      }
    }
  }
  const orderBy = m[4]
    ? m[4].split(',').map((part) => {
        const o = /^\s*([\w.]+)(?:\s+(ASC|DESC))?\s*$/i.exec(part);
        if (!o) throw new SoqlError(`cannot parse ORDER BY: ${part}`);
        return { field: o[1] as string, desc: (o[2] ?? '').toUpperCase() === 'DESC' };
      })
    : [];
  return { fields, object: m[2] as string, where, orderBy, limit: m[5] ? Number(m[5]) : null };
}

/** Reads a (possibly dotted: Contact.CreatedDate) field from a flat record of the fake. */
export function fieldValue(record: Record<string, unknown>, field: string): SoqlValue {
  let value: unknown = record;
  for (const part of field.split('.')) {
    if (value === null || typeof value !== 'object') return null;
    value = (value as Record<string, unknown>)[part];
  }
  return (value ?? null) as SoqlValue;
}

/** Salesforce's datetime format "2026-01-01T00:00:00.000+0000" → ms; plain values as they are. */
function comparable(v: SoqlValue): SoqlValue {
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(v))
    return Date.parse(v.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
  return v;
}

const inSets = new WeakMap<SoqlCondition, Set<SoqlValue>>();

export function matches(record: Record<string, unknown>, where: SoqlCondition[]): boolean {
  return where.every((c) => {
    const actual = comparable(fieldValue(record, c.field));
    if (c.op === 'IN') {
      let set = inSets.get(c);
      if (!set) {
        set = new Set((c.value as SoqlValue[]).map(comparable));
        inSets.set(c, set);
      }
      return set.has(actual);
    }
    const expected = comparable(c.value as SoqlValue);
    switch (c.op) {
      case '=':
        return actual === expected;
      case '!=':
        return actual !== expected;
      default: {
        if (actual === null || expected === null) return false;
        if (c.op === '>=') return actual >= expected;
        if (c.op === '>') return actual > expected;
        if (c.op === '<=') return actual <= expected;
        return actual < expected;
      }
    }
  });
}

export function compareBy(orderBy: SoqlQuery['orderBy']) {
  return (a: Record<string, unknown>, b: Record<string, unknown>): number => {
    for (const { field, desc } of orderBy) {
      const x = comparable(fieldValue(a, field));
      const y = comparable(fieldValue(b, field));
      if (x === y) continue;
      // Salesforce sorts nulls first in ascending order.
      const r = x === null ? -1 : y === null ? 1 : x < y ? -1 : 1;
      return desc ? -r : r;
    }
    return 0;
  };
}
