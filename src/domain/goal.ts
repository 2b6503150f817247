import { z } from 'zod';
import {
  defaultConversionWindowMinutes,
  maxConversionWindowMinutes,
  parseWindow,
} from './conversion-window.ts';
import { refineName } from './names.ts';

export {
  defaultConversionWindowMinutes,
  formatWindow,
  maxConversionWindowMinutes,
  parseWindow,
} from './conversion-window.ts';

/** Microsoft answers 5615 until a goal is 2 hours old; rows for younger goals are held until then. */
export const goalWarmUpMs = 2 * 60 * 60 * 1000;

const windowField = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const minutes = typeof v === 'number' ? v : parseWindow(v);
  if (
    minutes === undefined ||
    !Number.isInteger(minutes) ||
    minutes < 1 ||
    minutes > maxConversionWindowMinutes
  ) {
    ctx.addIssue({
      code: 'custom',
      message: `conversion window must be 1 minute to 90 days (e.g. 30d, 12h, 90m or a number of minutes); got ${JSON.stringify(v)}`,
    });
    return z.NEVER;
  }
  return minutes;
});

const revenueSchema = z
  .object({
    type: z.enum(['fixed', 'variable', 'none']).default('none'),
    value: z.number().min(0).max(999_999_999_999).optional(),
    currency: z
      .string()
      .regex(/^[A-Za-z]{3}$/, 'a three-letter currency code like USD')
      .transform((s) => s.toUpperCase())
      .optional(),
  })
  .default({ type: 'none' });

export const goalInputSchema = z
  .object({
    name: z
      .string()
      .trim()
      .min(1, 'the goal needs a name (it is what rows put in "Conversion Name")')
      .max(100, 'Microsoft allows at most 100 characters in a goal name')
      .superRefine(refineName),
    scope: z.enum(['account', 'customer']).default('account'),
    accountId: z
      .string()
      .trim()
      .regex(/^\d{1,20}$/, "Microsoft's numeric account id (digits only, e.g. 123456789)")
      .optional(),
    revenue: revenueSchema,
    countType: z.enum(['all', 'unique']).default('all'),
    conversionWindow: windowField.default(defaultConversionWindowMinutes),
    status: z.enum(['active', 'paused']).default('active'),
  })
  .superRefine((g, ctx) => {
    // Microsoft's ConversionGoalRevenue rules: FixedValue needs a value, NoValue forbids one, and the
    // currency is required for customer-scoped goals with a value.
    if (g.revenue.type === 'fixed' && g.revenue.value === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['revenue', 'value'],
        message: 'a fixed-value goal needs a value',
      });
    if (g.revenue.type === 'none' && g.revenue.value !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['revenue', 'value'],
        message: 'a goal without revenue takes no value; use type fixed or variable',
      });
    if (g.scope === 'customer' && g.revenue.type !== 'none' && !g.revenue.currency)
      ctx.addIssue({
        code: 'custom',
        path: ['revenue', 'currency'],
        message: 'a customer-wide goal with a value needs a currency',
      });
  });

export type GoalInput = z.input<typeof goalInputSchema>;
export type ParsedGoalInput = z.output<typeof goalInputSchema>;

export const goalPatchSchema = z.object({
  status: z.enum(['active', 'paused']).optional(),
  countType: z.enum(['all', 'unique']).optional(),
  conversionWindow: windowField.optional(),
});
