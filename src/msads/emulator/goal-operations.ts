import { maxConversionWindowMinutes } from '../../domain/goal.ts';
import { autoTaggingProperty, maxGoalsPerCall, type WireBatchError } from '../wire.ts';
import { type Answer, type Call, ok } from './call.ts';
import { apiFault, batchError, malformedRequest } from './faults.ts';
import { checkGoal, type GoalStore, toWireGoal } from './goals.ts';

/*
 * AddConversionGoals, GetConversionGoalsByIds, GetAccountProperties and SetAccountProperties
 * (msads-api.md §3, §8): the body in, the answer out.
 */

function arrayField(body: unknown, field: string): unknown[] | null | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const value = (body as Record<string, unknown>)[field];
  if (value === null) return null;
  return Array.isArray(value) ? value : undefined;
}

export function addConversionGoals(goals: GoalStore, call: Call, body: unknown): Answer {
  if (body === null || typeof body !== 'object')
    return malformedRequest(call.trackingId, 'The body must be a JSON object.');
  const items = (body as { ConversionGoals?: unknown }).ConversionGoals ?? [];
  if (!Array.isArray(items)) return malformedRequest(call.trackingId, 'ConversionGoals must be an array.');
  if (items.length === 0) return apiFault(400, call.trackingId, 5321);
  // AddConversionGoals takes at most 100 goals per call.
  if (items.length > maxGoalsPerCall) return apiFault(400, call.trackingId, 5322);

  const partialErrors: WireBatchError[] = [];
  const ids: (string | null)[] = [];
  const namesInRequest = new Set<string>();
  const accepted: { index: number; goal: NonNullable<ReturnType<typeof checkGoal>['goal']> }[] = [];
  items.forEach((item, index) => {
    const { problems, goal } = checkGoal(item, call.accountId, (name) => {
      if (namesInRequest.has(name)) return 5316;
      namesInRequest.add(name);
      return goals.byName(call.customerId, name) ? 5317 : undefined;
    });
    for (const p of problems) partialErrors.push(batchError(p.code, index, p.field || null));
    ids.push(null);
    if (goal) accepted.push({ index, goal });
  });
  const now = new Date(call.nowMs);
  for (const { index, goal } of accepted) {
    ids[index] = goals.create(call.customerId, goal, now).id;
    // Creating an offline goal switches auto-tagging on for the account that created it (§8).
    goals.setAutoTagging(call.accountId, true);
  }
  return ok({ ConversionGoalIds: ids, PartialErrors: partialErrors });
}

/** ConversionGoalTypes is a flags enum; its REST form is unverified, so "A, B", "A B" and ["A","B"] are read. */
function goalTypes(value: unknown): string[] | undefined {
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
  return undefined;
}

export function getConversionGoalsByIds(goals: GoalStore, call: Call, body: unknown): Answer {
  if (body === null || typeof body !== 'object')
    return malformedRequest(call.trackingId, 'The body must be a JSON object.');
  const request = body as { ConversionGoalIds?: unknown; ConversionGoalTypes?: unknown };
  const types = goalTypes(request.ConversionGoalTypes);
  if (!types || types.length === 0) return apiFault(400, call.trackingId, 5329);
  // The emulator only has offline goals; asking for other types finds none of them.
  const wantsOffline = types.includes('OfflineConversion');
  const ids = request.ConversionGoalIds ?? null;
  if (ids !== null && !Array.isArray(ids))
    return malformedRequest(call.trackingId, 'ConversionGoalIds must be an array.');

  if (ids === null || ids.length === 0) {
    const visible = wantsOffline
      ? goals.list(call.customerId).filter((g) => goals.visibleTo(g, call.customerId, call.accountId))
      : [];
    return ok({ ConversionGoals: visible.map(toWireGoal), PartialErrors: [] });
  }
  const partialErrors: WireBatchError[] = [];
  const found = ids.map((id, index) => {
    const goal = typeof id === 'string' || typeof id === 'number' ? goals.byId(String(id)) : undefined;
    if (goal && wantsOffline && goals.visibleTo(goal, call.customerId, call.accountId))
      return toWireGoal(goal);
    partialErrors.push(batchError(5314, index, 'ConversionGoalIds'));
    return null;
  });
  return ok({ ConversionGoals: found, PartialErrors: partialErrors });
}

/** The account properties the emulator knows; other names are left out of the answer. */
const knownProperties = new Set([autoTaggingProperty]);

export function getAccountProperties(goals: GoalStore, call: Call, body: unknown): Answer {
  const names = arrayField(body, 'AccountPropertyNames');
  if (!names || names.length === 0) return apiFault(400, call.trackingId, 206);
  const properties = names
    .filter((name): name is string => typeof name === 'string' && knownProperties.has(name))
    .map((name) => ({ Name: name, Value: goals.autoTagging(call.accountId) ? 'True' : 'False' }));
  return ok({ AccountProperties: properties, PartialErrors: [] });
}

export function setAccountProperties(goals: GoalStore, call: Call, body: unknown): Answer {
  const properties = arrayField(body, 'AccountProperties');
  if (!properties || properties.length === 0) return apiFault(400, call.trackingId, 206);
  const partialErrors: WireBatchError[] = [];
  properties.forEach((property, index) => {
    const p = (property ?? {}) as { Name?: unknown; Value?: unknown };
    if (p.Name !== autoTaggingProperty) {
      partialErrors.push(batchError(201, index, 'Name', `The emulator knows only ${autoTaggingProperty}.`));
      return;
    }
    const value = typeof p.Value === 'string' ? p.Value.toLowerCase() : undefined;
    if (value !== 'true' && value !== 'false') {
      partialErrors.push(batchError(201, index, 'Value', 'The value must be "True" or "False".'));
      return;
    }
    goals.setAutoTagging(call.accountId, value === 'true');
  });
  return ok({ PartialErrors: partialErrors });
}

/**
 * UpdateConversionGoals (PUT on the goals path): what closeloop changes after creating a goal — its
 * status (pause/resume), conversion window and count type. Unknown or invisible ids are 5314.
 */
export function updateConversionGoals(goals: GoalStore, call: Call, body: unknown): Answer {
  const items = arrayField(body, 'ConversionGoals');
  if (!items) return malformedRequest(call.trackingId, 'The body needs a ConversionGoals array.');
  if (items.length === 0) return apiFault(400, call.trackingId, 5321);
  if (items.length > maxGoalsPerCall) return apiFault(400, call.trackingId, 5322);
  const partialErrors: WireBatchError[] = [];
  items.forEach((item, index) => {
    const g = (item ?? {}) as {
      Id?: unknown;
      Status?: unknown;
      ConversionWindowInMinutes?: unknown;
      CountType?: unknown;
    };
    const goal = typeof g.Id === 'string' || typeof g.Id === 'number' ? goals.byId(String(g.Id)) : undefined;
    if (!goal || !goals.visibleTo(goal, call.customerId, call.accountId)) {
      partialErrors.push(batchError(5314, index, 'Id'));
      return;
    }
    const before = partialErrors.length;
    const window = g.ConversionWindowInMinutes;
    if (
      window !== undefined &&
      (!Number.isInteger(window) || (window as number) < 1 || (window as number) > maxConversionWindowMinutes)
    )
      partialErrors.push(batchError(5337, index, 'ConversionWindowInMinutes'));
    if (g.Status !== undefined && g.Status !== 'Active' && g.Status !== 'Paused')
      partialErrors.push(batchError(5328, index, 'Status'));
    if (g.CountType !== undefined && g.CountType !== 'All' && g.CountType !== 'Unique')
      partialErrors.push(batchError(201, index, 'CountType'));
    if (partialErrors.length > before) return;
    if (window !== undefined) goal.conversionWindowMinutes = window as number;
    if (g.Status !== undefined) goal.status = g.Status as 'Active' | 'Paused';
    if (g.CountType !== undefined) goal.countType = g.CountType as 'All' | 'Unique';
  });
  return ok({ PartialErrors: partialErrors });
}
