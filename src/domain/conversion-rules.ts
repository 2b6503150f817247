import { formatWindow } from './conversion-window.ts';
import { goalWarmUpMs } from './goal.ts';
import { clickWarmUpMs } from './held.ts';
import { hashEmail, hashPhone, parseClickId, parseHashedEmail, parseHashedPhone } from './identifiers.ts';
import type { FieldResult } from './result.ts';
import type { RowErrorCode } from './row-errors.ts';
import { parseCurrency, parseValue } from './values.ts';

/** The fields of one conversion or adjustment, as text (a file row's cells, or an API item's fields). */
export type RowField =
  | 'clickId'
  | 'conversionName'
  | 'conversionTime'
  | 'conversionValue'
  | 'conversionCurrency'
  | 'adjustmentValue'
  | 'adjustmentCurrency'
  | 'adjustmentType'
  | 'adjustmentTime'
  | 'hashedEmail'
  | 'hashedPhone'
  | 'email'
  | 'phone'
  | 'clickTime';

export type RowCells = Partial<Record<RowField, string>>;

export interface GoalFacts {
  id: string;
  name: string;
  status: 'active' | 'paused';
  createdAt: Date;
  /** When Microsoft accepts conversions for it; null: 2 hours after createdAt. */
  readyAt: Date | null;
  conversionWindowMinutes: number;
}

/** Microsoft accepts conversions for a goal 2 hours after creating it (5615), or at once for an imported goal. */
export function goalReadyAt(goal: Pick<GoalFacts, 'createdAt' | 'readyAt'>): Date {
  return goal.readyAt ?? new Date(goal.createdAt.getTime() + goalWarmUpMs);
}

export interface RuleContext {
  kind: 'conversions' | 'adjustments';
  now: Date;
  /** How times are read here: files take nine formats and zones; the API takes explicit offsets only. */
  parseTime: (text: string) => FieldResult<Date>;
  goal: (name: string) => GoalFacts | undefined;
  /** A goal name that differs from `name` only in case or spacing, for "did you mean …?". */
  similarGoal?: (name: string) => string | undefined;
  /** "Row 7" or "Item 3": where the row is, for messages. */
  where: string;
  /** How a field is named in messages: 'column C "Conversion Time"' or 'field conversionTime'. */
  fieldLabel: (field: RowField) => string;
}

export type RowStatus = 'ok' | 'held' | 'rejected' | 'expired';

export interface CheckedRow {
  status: RowStatus;
  errorCode?: RowErrorCode;
  errorField?: RowField;
  message?: string;
  notes: string[];
  goalId?: string;
  goalName?: string;
  clickId?: string;
  /** Identity for duplicates: the click ID, else the hashed identifiers. */
  matchKey?: string;
  conversionTime?: Date;
  /** When the ad was clicked, if the source knows it (the snippet, a CRM): enables the window checks. */
  clickTime?: Date;
  /** Conversion value, or for adjustments the Restate's new value, as exact decimal text. */
  value?: string;
  currency?: string;
  hashedEmail?: string;
  hashedPhone?: string;
  adjustmentType?: 'restate' | 'retract';
  adjustmentTime?: Date;
  heldUntil?: Date;
}

/** Microsoft does not import conversions older than 90 days (5609). */
export const maxConversionAgeMs = 90 * 24 * 60 * 60 * 1000;

interface Problem {
  code: RowErrorCode;
  field: RowField;
  message: string;
}

/**
 * Check one row against Microsoft's offline conversion rules, without I/O. Every problem in the row is
 * found (so the user can fix them all at once); the first one gives the row its code.
 */
export function checkRow(cells: RowCells, ctx: RuleContext): CheckedRow {
  const problems: Problem[] = [];
  const notes: string[] = [];
  const out: CheckedRow = { status: 'ok', notes };
  const take = <T>(field: RowField, r: FieldResult<T>): T | undefined => {
    if (!r.ok) {
      problems.push({ code: r.code, field, message: r.message });
      return undefined;
    }
    if (r.notes) notes.push(...r.notes);
    return r.value;
  };
  const need = (field: RowField, code: RowErrorCode, message: string): string | undefined => {
    const v = cells[field];
    if (v === undefined || v === '') problems.push({ code, field, message });
    return v || undefined;
  };

  // Identity: a click ID, or hashed (or plain, hashed here) email / phone for enhanced conversions.
  if (cells.clickId) out.clickId = take('clickId', parseClickId(cells.clickId));
  if (cells.hashedEmail) out.hashedEmail = take('hashedEmail', parseHashedEmail(cells.hashedEmail));
  else if (cells.email) out.hashedEmail = take('email', hashEmail(cells.email));
  if (cells.hashedPhone) out.hashedPhone = take('hashedPhone', parseHashedPhone(cells.hashedPhone));
  else if (cells.phone) out.hashedPhone = take('phone', hashPhone(cells.phone));
  if (!cells.clickId && !cells.hashedEmail && !cells.email && !cells.hashedPhone && !cells.phone)
    problems.push({
      code: 'MISSING_CLICK_ID',
      field: 'clickId',
      message:
        'the Microsoft Click Id is empty; fill it in (or give a hashed email or phone for enhanced conversions)',
    });
  out.matchKey =
    out.clickId ??
    (out.hashedEmail || out.hashedPhone
      ? `hash:${out.hashedEmail ?? ''}:${out.hashedPhone ?? ''}`
      : undefined);

  // Goal.
  const name = need(
    'conversionName',
    'MISSING_CONVERSION_NAME',
    'the Conversion Name is empty; put the exact name of the offline conversion goal',
  );
  if (name !== undefined) {
    if (name.length > 100) {
      problems.push({
        code: 'CONVERSION_NAME_TOO_LONG',
        field: 'conversionName',
        message: `the Conversion Name has ${name.length} characters; goal names have at most 100`,
      });
    } else {
      const goal = ctx.goal(name);
      const meant = goal ? undefined : ctx.similarGoal?.(name);
      if (!goal && meant !== undefined) {
        problems.push({
          code: 'UNKNOWN_GOAL',
          field: 'conversionName',
          message: `no offline conversion goal is named "${name}"; did you mean "${meant}"? Names must match exactly, case and spaces included`,
        });
      } else if (!goal) {
        problems.push({
          code: 'UNKNOWN_GOAL',
          field: 'conversionName',
          message: `no offline conversion goal is named "${name}"; names must match exactly (case included). Create it first (POST /api/v1/goals or \`closeloop goals add\`)`,
        });
      } else if (goal.status === 'paused') {
        problems.push({
          code: 'GOAL_PAUSED',
          field: 'conversionName',
          message: `the goal "${name}" is paused, so Microsoft would not count this conversion; resume the goal and upload again`,
        });
      } else {
        out.goalId = goal.id;
        out.goalName = goal.name;
        const ready = goalReadyAt(goal).getTime();
        if (ready > ctx.now.getTime()) out.heldUntil = new Date(ready);
      }
    }
  }

  // Conversion time.
  const timeText = need(
    'conversionTime',
    'MISSING_CONVERSION_TIME',
    'the Conversion Time is empty; give the time of the sale',
  );
  if (timeText !== undefined) out.conversionTime = take('conversionTime', ctx.parseTime(timeText));
  if (out.conversionTime && out.conversionTime.getTime() > ctx.now.getTime())
    problems.push({
      code: 'FUTURE_CONVERSION_TIME',
      field: 'conversionTime',
      message: `the Conversion Time ${out.conversionTime.toISOString().slice(0, 19)}Z (UTC) is in the future; check the time zone (the Parameters row or the zone in the cell)`,
    });

  let outsideWindow: GoalFacts | undefined;
  if (cells.clickTime) {
    out.clickTime = take('clickTime', ctx.parseTime(cells.clickTime));
    const click = out.clickTime?.getTime();
    const conversion = out.conversionTime?.getTime();
    if (click !== undefined && click > ctx.now.getTime())
      problems.push({
        code: 'FUTURE_CONVERSION_TIME',
        field: 'clickTime',
        message: 'the click time is in the future; check the time zone',
      });
    else if (click !== undefined && conversion !== undefined) {
      if (conversion < click)
        problems.push({
          code: 'CONVERSION_BEFORE_CLICK',
          field: 'conversionTime',
          message: `the conversion (${iso(out.conversionTime!)}) is before the click (${iso(out.clickTime!)}); Microsoft would not count it (5616) — usually a time zone mistake`,
        });
      const goal = name ? ctx.goal(name) : undefined;
      if (goal && conversion - click > goal.conversionWindowMinutes * 60_000) outsideWindow = goal;
      const ready = click + clickWarmUpMs;
      if (ready > ctx.now.getTime() && (!out.heldUntil || out.heldUntil.getTime() < ready))
        out.heldUntil = new Date(ready);
    }
  }

  if (ctx.kind === 'conversions') {
    if (cells.conversionValue)
      out.value = take('conversionValue', valueText(parseValue(cells.conversionValue)));
    if (cells.conversionCurrency)
      out.currency = take('conversionCurrency', parseCurrency(cells.conversionCurrency));
  } else {
    checkAdjustment(cells, ctx, out, problems, take);
  }

  const first = problems[0];
  if (first) {
    out.status = 'rejected';
    out.errorCode = first.code;
    out.errorField = first.field;
    const parts = problems.map((p) => `${ctx.fieldLabel(p.field)}: ${p.message}`);
    out.message = `${ctx.where}, ${parts.join('. Also ')}.`.replace(/\.\./g, '.');
    return out;
  }
  if (out.conversionTime && ctx.now.getTime() - out.conversionTime.getTime() > maxConversionAgeMs) {
    out.status = 'expired';
    out.errorCode = 'CONVERSION_TOO_OLD';
    out.errorField = 'conversionTime';
    out.message = `${ctx.where}, ${ctx.fieldLabel('conversionTime')}: the conversion happened more than 90 days ago (${out.conversionTime.toISOString().slice(0, 10)}); Microsoft no longer imports it, so it is kept here as expired and not sent.`;
    return out;
  }
  if (outsideWindow) {
    out.status = 'expired';
    out.errorCode = 'OUTSIDE_CONVERSION_WINDOW';
    out.errorField = 'conversionTime';
    out.message = `${ctx.where}, ${ctx.fieldLabel('conversionTime')}: the conversion came more than ${formatWindow(outsideWindow.conversionWindowMinutes)} (the goal's conversion window) after the click, so Microsoft would not count it (5617); it is kept here as expired and not sent.`;
    return out;
  }
  // The note that says why and until when is written when the row is shown (see domain/held.ts), so it
  // goes away when the row moves on.
  if (out.heldUntil) out.status = 'held';
  return out;
}

function checkAdjustment(
  cells: RowCells,
  ctx: RuleContext,
  out: CheckedRow,
  problems: Problem[],
  take: <T>(field: RowField, r: FieldResult<T>) => T | undefined,
): void {
  const typeText = cells.adjustmentType?.trim().toLowerCase();
  if (typeText === 'restate' || typeText === 'retract') out.adjustmentType = typeText;
  else
    problems.push({
      code: 'INVALID_ADJUSTMENT_TYPE',
      field: 'adjustmentType',
      message: typeText
        ? `"${cells.adjustmentType}" is not an adjustment type; use Restate (a new value) or Retract (cancel the conversion)`
        : 'the Adjustment Type is empty; use Restate (a new value) or Retract (cancel the conversion)',
    });
  const timeText = cells.adjustmentTime;
  if (!timeText)
    problems.push({
      code: 'MISSING_ADJUSTMENT_TIME',
      field: 'adjustmentTime',
      message: 'the Adjustment Time is empty; give the time the sale was changed or cancelled',
    });
  else out.adjustmentTime = take('adjustmentTime', ctx.parseTime(timeText));
  if (out.adjustmentTime) {
    if (out.adjustmentTime.getTime() > ctx.now.getTime())
      problems.push({
        code: 'FUTURE_ADJUSTMENT_TIME',
        field: 'adjustmentTime',
        message: `the Adjustment Time ${out.adjustmentTime.toISOString().slice(0, 19)}Z (UTC) is in the future; check the time zone`,
      });
    if (out.conversionTime && out.adjustmentTime.getTime() < out.conversionTime.getTime())
      problems.push({
        code: 'ADJUSTMENT_BEFORE_CONVERSION',
        field: 'adjustmentTime',
        message: `the Adjustment Time ${out.adjustmentTime.toISOString().slice(0, 19)}Z is earlier than the Conversion Time ${out.conversionTime.toISOString().slice(0, 19)}Z (both UTC); an adjustment comes after the conversion`,
      });
  }
  if (out.adjustmentType === 'restate') {
    if (!cells.adjustmentValue)
      problems.push({
        code: 'ADJUSTMENT_VALUE_REQUIRED',
        field: 'adjustmentValue',
        message: 'a Restate needs an Adjustment Value (the new total value of the conversion)',
      });
    else out.value = take('adjustmentValue', valueText(parseValue(cells.adjustmentValue)));
    if (cells.adjustmentCurrency)
      out.currency = take('adjustmentCurrency', parseCurrency(cells.adjustmentCurrency));
  } else if (out.adjustmentType === 'retract' && cells.adjustmentValue) {
    problems.push({
      code: 'ADJUSTMENT_VALUE_NOT_EXPECTED',
      field: 'adjustmentValue',
      message:
        'a Retract cancels the conversion and takes no Adjustment Value; leave it empty (or use Restate to change the value)',
    });
  }
}

function iso(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

/** Values are stored as exact decimal text (numeric(15,3)), never as a float round trip. */
function valueText(r: FieldResult<number>): FieldResult<string> {
  return r.ok ? { ...r, value: String(r.value) } : r;
}
