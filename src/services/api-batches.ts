import { z } from 'zod';
import type { Upload } from '../db/schema/index.ts';
import { checkRow, type GoalFacts, type RowCells, type RowField } from '../domain/conversion-rules.ts';
import { goalDirectory } from '../domain/goal-names.ts';
import { parseApiTime } from '../domain/time.ts';
import { applyUpload } from '../ingest/apply.ts';
import { resultRecord, uploadResultRows } from '../ingest/results.ts';
import { checkedToRow, createUpload, finishPreview, rowWriter } from '../ingest/stage.ts';
import type { ServiceContext } from './context.ts';
import { listGoals } from './goals.ts';
import { validationError } from './zod-error.ts';

/** Microsoft takes at most 1,000 items per call; the API takes the same per request. */
export const maxItemsPerRequest = 1000;

const text = z.union([z.string(), z.number()]).transform(String);
const identity = {
  clickId: z.string().optional(),
  conversionName: z.string(),
  conversionTime: z.string(),
  hashedEmail: z.string().optional(),
  hashedPhone: z.string().optional(),
  email: z.string().optional(),
  phone: z.string().optional(),
};
const conversionItem = z.strictObject({
  ...identity,
  clickTime: z.string().optional(),
  conversionValue: text.optional(),
  conversionCurrency: z.string().optional(),
});
const adjustmentItem = z.strictObject({
  ...identity,
  adjustmentType: z.string(),
  adjustmentTime: z.string(),
  adjustmentValue: text.optional(),
  adjustmentCurrency: z.string().optional(),
});

export const batchSchemas = {
  conversions: z.object({ conversions: z.array(conversionItem).min(1).max(maxItemsPerRequest) }),
  adjustments: z.object({ adjustments: z.array(adjustmentItem).min(1).max(maxItemsPerRequest) }),
};

export interface BatchResult {
  requestId: string;
  counts: Record<string, number>;
  results: ReturnType<typeof itemResult>[];
}

function itemResult(r: ReturnType<typeof resultRecord>) {
  const { row, errorColumn, ...rest } = r;
  return { index: row, ...rest, field: errorColumn };
}

/**
 * Conversions or adjustments posted as JSON. They go through the same staging and ledger checks as a
 * file (times must carry an offset or Z), and are applied at once. Each item gets its own outcome:
 * one bad item never stops the others.
 */
export async function submitBatch({
  ctx,
  kind,
  body,
}: {
  ctx: ServiceContext;
  kind: 'conversions' | 'adjustments';
  body: unknown;
}): Promise<BatchResult> {
  const parsed = batchSchemas[kind].safeParse(body);
  if (!parsed.success)
    throw validationError(parsed.error, `${kind} batch (at most ${maxItemsPerRequest} items)`);
  const items: RowCells[] =
    'conversions' in parsed.data
      ? parsed.data.conversions
      : (parsed.data as { adjustments: RowCells[] }).adjustments;
  const now = ctx.now();
  const goals = goalDirectory<GoalFacts>(await listGoals({ ctx }));
  const staged: Upload = await createUpload(ctx, { kind, filename: `api-${kind}`, source: 'api' });
  const writer = rowWriter(ctx, staged.id);
  for (const [index, item] of items.entries()) {
    const cells = Object.fromEntries(Object.entries(item).map(([k, v]) => [k, String(v).trim()])) as RowCells;
    const checked = checkRow(cells, {
      kind,
      now,
      parseTime: parseApiTime,
      goal: goals.find,
      similarGoal: goals.similar,
      where: `Item ${index}`,
      fieldLabel: (field: RowField) => `field ${field}`,
    });
    const row = checkedToRow(staged.id, index, checked);
    await writer.add({ ...row, errorColumn: checked.errorField ?? null });
  }
  await writer.flush();
  await finishPreview(ctx, staged, { totalRows: items.length });
  const applied = await applyUpload({ ctx, uploadId: staged.id });
  const results: BatchResult['results'] = [];
  for await (const r of uploadResultRows(ctx.database, staged)) results.push(itemResult(resultRecord(r)));
  return { requestId: staged.id, counts: applied.counts, results };
}
