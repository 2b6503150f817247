import { defaultConversionWindowMinutes, maxConversionWindowMinutes } from '../../domain/goal.ts';
import { msadsCurrencies } from '../../domain/values.ts';
import type { WireConversionGoal } from '../wire.ts';
import { errorName } from './faults.ts';
import type { EmulatorGoal, GoalScope, GoalSpec, RevenueType } from './types.ts';

/*
 * Offline conversion goals and the account property they switch on (msads-api.md §8). Names are unique
 * per customer; an Account-scope goal is visible to its account, a Customer-scope goal to every account
 * of the customer.
 */

const maxNameLength = 100;
const maxRevenueValue = 999_999_999_999;
/** The GoalCategory values an offline goal takes (msads-api.md §8); Microsoft refuses a goal without one. */
const offlineGoalCategories = new Set([
  'AddToCart',
  'BeginCheckout',
  'BookAppointment',
  'Contact',
  'GetDirections',
  'Other',
  'OutboundClick',
  'PageView',
  'Purchase',
  'RequestQuote',
  'Signup',
  'SubmitLeadForm',
  'Subscribe',
]);
const revenueTypes = new Set<string>(['FixedValue', 'VariableValue', 'NoValue']);

export interface GoalProblem {
  code: number;
  field: string;
}

export type NewGoal = Omit<EmulatorGoal, 'id' | 'createdAt' | 'customerId'>;

/**
 * Checks one AddConversionGoals item against Microsoft's rules; `names` are the goal names the request
 * already holds (5316) and the customer already has (5317) are checked by the caller's `nameTaken`.
 */
export function checkGoal(
  item: unknown,
  accountId: string,
  nameTaken: (name: string) => 5316 | 5317 | undefined,
): { problems: GoalProblem[]; goal?: NewGoal } {
  if (item === null || typeof item !== 'object') return { problems: [{ code: 5323, field: '' }] };
  const g = item as Partial<Record<keyof WireConversionGoal, unknown>>;
  const problems: GoalProblem[] = [];
  const problem = (code: number, field: string) => problems.push({ code, field });

  if (g.Type !== 'OfflineConversion') problem(5331, 'Type');
  if (g.Id !== undefined && g.Id !== null) problem(5324, 'Id');

  const name = typeof g.Name === 'string' ? g.Name.trim() : '';
  if (name === '') problem(5319, 'Name');
  else if (name.length > maxNameLength) problem(5320, 'Name');
  else {
    const taken = nameTaken(name);
    if (taken) problem(taken, 'Name');
  }

  const window = g.ConversionWindowInMinutes ?? defaultConversionWindowMinutes;
  if (typeof window !== 'number' || !Number.isInteger(window) || window < 1)
    problem(5337, 'ConversionWindowInMinutes');
  else if (window > maxConversionWindowMinutes) problem(5337, 'ConversionWindowInMinutes');

  const countType = g.CountType ?? 'All';
  if (countType !== 'All' && countType !== 'Unique') problem(201, 'CountType');
  const scope = g.Scope ?? 'Account';
  if (scope !== 'Account' && scope !== 'Customer') problem(201, 'Scope');
  const status = g.Status ?? 'Active';
  if (status !== 'Active' && status !== 'Paused') problem(5328, 'Status');
  if (typeof g.GoalCategory !== 'string' || !offlineGoalCategories.has(g.GoalCategory))
    problem(3347, 'GoalCategory');

  const revenue = checkRevenue(g.Revenue, scope === 'Customer', problem);
  if (problems.length > 0) return { problems };
  return {
    problems,
    goal: {
      accountId: scope === 'Account' ? accountId : undefined,
      name,
      scope: scope as GoalScope,
      conversionWindowMinutes: window as number,
      countType: countType as EmulatorGoal['countType'],
      revenue,
      status: status as EmulatorGoal['status'],
      goalCategory: g.GoalCategory as string,
    },
  };
}

/** ConversionGoalRevenue: FixedValue needs a value, NoValue takes none, a customer-wide value needs a currency. */
function checkRevenue(
  input: unknown,
  customerScope: boolean,
  problem: (code: number, field: string) => void,
): EmulatorGoal['revenue'] {
  if (input === undefined || input === null) return { type: 'NoValue' };
  if (typeof input !== 'object') {
    problem(5332, 'Revenue');
    return { type: 'NoValue' };
  }
  const r = input as { Type?: unknown; Value?: unknown; CurrencyCode?: unknown };
  const type = r.Type ?? 'NoValue';
  if (typeof type !== 'string' || !revenueTypes.has(type)) {
    problem(5332, 'Revenue.Type');
    return { type: 'NoValue' };
  }
  const value = r.Value ?? undefined;
  if (value !== undefined && (typeof value !== 'number' || !(value >= 0 && value <= maxRevenueValue)))
    problem(5333, 'Revenue.Value');
  else if (type === 'FixedValue' && value === undefined) problem(5333, 'Revenue.Value');
  else if (type === 'NoValue' && value !== undefined && value !== 0) problem(5333, 'Revenue.Value');
  const currency = r.CurrencyCode ?? undefined;
  if (currency !== undefined && (typeof currency !== 'string' || !msadsCurrencies.has(currency)))
    problem(5351, 'Revenue.CurrencyCode');
  else if (customerScope && type !== 'NoValue' && currency === undefined)
    problem(5355, 'Revenue.CurrencyCode');
  return {
    type: type as RevenueType,
    ...(typeof value === 'number' && type !== 'NoValue' ? { value } : {}),
    ...(typeof currency === 'string' ? { currencyCode: currency } : {}),
  };
}

export function toWireGoal(goal: EmulatorGoal): WireConversionGoal {
  return {
    Type: 'OfflineConversion',
    Id: goal.id,
    Name: goal.name,
    ConversionWindowInMinutes: goal.conversionWindowMinutes,
    CountType: goal.countType,
    Revenue: {
      Type: goal.revenue.type,
      Value: goal.revenue.value ?? null,
      CurrencyCode: goal.revenue.currencyCode ?? null,
    },
    Scope: goal.scope,
    Status: goal.status,
    GoalCategory: goal.goalCategory,
  };
}

export interface GoalStore {
  /** In-process creation; a goal Microsoft would refuse throws a TypeError naming the rule. */
  addSpec(spec: GoalSpec, now: Date): EmulatorGoal;
  create(customerId: string, goal: NewGoal, now: Date): EmulatorGoal;
  list(customerId?: string): EmulatorGoal[];
  byId(id: string): EmulatorGoal | undefined;
  byName(customerId: string, name: string): EmulatorGoal | undefined;
  visibleTo(goal: EmulatorGoal, customerId: string, accountId: string): boolean;
  autoTagging(accountId: string): boolean;
  setAutoTagging(accountId: string, enabled: boolean): void;
  reset(): void;
}

export function createGoalStore(): GoalStore {
  let nextId = 100_000_001;
  const all: EmulatorGoal[] = [];
  const byKey = new Map<string, EmulatorGoal>();
  const byId = new Map<string, EmulatorGoal>();
  const tagging = new Map<string, boolean>();
  const nameKey = (customerId: string, name: string) => `${customerId}\u0000${name}`;

  const store: GoalStore = {
    addSpec(spec, now) {
      if (typeof spec?.customerId !== 'string' || spec.customerId === '')
        throw new TypeError(
          `addGoal: customerId must be a non-empty string; got ${JSON.stringify(spec?.customerId)}`,
        );
      const scope = spec.scope ?? (spec.accountId ? 'Account' : 'Customer');
      if (scope === 'Account' && !spec.accountId)
        throw new TypeError(
          `addGoal: an Account-scope goal needs accountId (goal ${JSON.stringify(spec.name)})`,
        );
      const wire = {
        Type: 'OfflineConversion',
        Name: spec.name,
        ConversionWindowInMinutes: spec.conversionWindowMinutes,
        CountType: spec.countType,
        Scope: scope,
        Status: spec.status,
        GoalCategory: spec.goalCategory ?? 'Other',
        Revenue: spec.revenue && {
          Type: spec.revenue.type ?? (spec.revenue.value === undefined ? 'NoValue' : 'FixedValue'),
          Value: spec.revenue.value,
          CurrencyCode: spec.revenue.currencyCode,
        },
      };
      const { problems, goal } = checkGoal(wire, spec.accountId ?? '', (name) =>
        byKey.has(nameKey(spec.customerId, name)) ? 5317 : undefined,
      );
      if (!goal) {
        const list = problems.map((p) => `${errorName(p.code)} (${p.code}) on ${p.field}`).join(', ');
        throw new TypeError(`addGoal: Microsoft would refuse goal ${JSON.stringify(spec.name)}: ${list}`);
      }
      const createdAt = spec.createdAt ? new Date(spec.createdAt) : now;
      if (Number.isNaN(createdAt.getTime()))
        throw new TypeError(`addGoal: createdAt must be a date; got ${JSON.stringify(spec.createdAt)}`);
      if (spec.id !== undefined && byId.has(spec.id))
        throw new TypeError(`addGoal: a goal with id ${JSON.stringify(spec.id)} exists already`);
      const created = store.create(spec.customerId, goal, createdAt);
      if (spec.id !== undefined) {
        byId.delete(created.id);
        created.id = spec.id;
        byId.set(created.id, created);
      }
      if (spec.accountId) tagging.set(spec.accountId, true);
      return created;
    },
    create(customerId, goal, now) {
      const created: EmulatorGoal = { id: String(nextId++), customerId, createdAt: now, ...goal };
      all.push(created);
      byKey.set(nameKey(customerId, created.name), created);
      byId.set(created.id, created);
      // "Creating an offline conversion goal sets MSCLKIDAutoTaggingEnabled to true" (msads-api.md §8).
      if (created.accountId) tagging.set(created.accountId, true);
      return created;
    },
    list: (customerId) => (customerId ? all.filter((g) => g.customerId === customerId) : [...all]),
    byId: (id) => byId.get(id),
    byName: (customerId, name) => byKey.get(nameKey(customerId, name)),
    visibleTo: (goal, customerId, accountId) =>
      goal.customerId === customerId && (goal.scope === 'Customer' || goal.accountId === accountId),
    autoTagging: (accountId) => tagging.get(accountId) ?? false,
    setAutoTagging: (accountId, enabled) => {
      tagging.set(accountId, enabled);
    },
    reset() {
      all.length = 0;
      byKey.clear();
      byId.clear();
      tagging.clear();
    },
  };
  return store;
}
