import { formatWindow, parseWindow } from '../../domain/conversion-window.ts';
import { formatValue } from '../../domain/values.ts';
import type { GoalView } from '../../services/goals.ts';
import { CliError } from '../cli-error.ts';
import type { Command } from '../command.ts';

/** One goal in `goals list`: "● Purchase  [variable 49.90 USD; count all; window 30 days; account]  ID". */
export function goalLine(g: GoalView): string {
  const { type, value, currency } = g.revenue;
  const revenue =
    type === 'none'
      ? 'no value'
      : [type, value === null ? '' : formatValue(value), currency ?? ''].join(' ').trim();
  const state = g.status === 'paused' ? '⏸' : '●';
  return `${state} ${g.name}  [${revenue}; count ${g.countType}; window ${formatWindow(g.conversionWindowMinutes)}; ${g.scope}]  ${g.id}`;
}

const usage = `closeloop goals add --name NAME [--revenue none|fixed|variable] [--value N] [--currency USD]
                     [--count all|unique] [--window 30d] [--scope account|customer] [--account ID]
       closeloop goals list [--json]
       closeloop goals pause NAME_OR_ID
       closeloop goals resume NAME_OR_ID
       closeloop goals sync [--account ID]

  sync   import the offline goals that already exist in the Microsoft Advertising account (they take
         conversions at once: they are older than 2 hours) and link local goals of the same name`;

export const goalsCommand: Command = {
  name: 'goals',
  summary: 'Create, list, pause and resume offline conversion goals.',
  usage,
  options: {
    name: {
      type: 'string',
      value: 'NAME',
      description:
        'add: what rows put in "Conversion Name", at most 100 characters; unique, case aside (Microsoft treats "Purchase" and "purchase" as one goal)',
    },
    revenue: {
      type: 'string',
      value: 'TYPE',
      description:
        'add: none, fixed (every conversion is worth --value) or variable (rows give the value; --value is the default); default variable with --value, else none',
    },
    value: { type: 'string', value: 'N', description: 'add: the fixed or default value, e.g. 49.90' },
    currency: { type: 'string', value: 'CODE', description: 'add: the currency of the value, e.g. USD' },
    count: {
      type: 'string',
      value: 'all|unique',
      description: 'add: count every conversion of a click, or one (default all)',
    },
    window: {
      type: 'string',
      value: 'DURATION',
      description: 'add: conversion window, 1 minute to 90 days, e.g. 90d, 12h, 45m (default 30d)',
    },
    scope: {
      type: 'string',
      value: 'account|customer',
      description: 'add: one ad account, or every account of the customer (default account)',
    },
    account: {
      type: 'string',
      value: 'ID',
      description: "add, sync: closeloop's or Microsoft's account id (default: the default account)",
    },
    json: { type: 'boolean', description: 'list: print the goals as JSON' },
  },
  details: `Goals cannot be deleted (Microsoft does not allow it either): pause them.
Microsoft accepts conversions for a new goal 2 hours after it is created; closeloop holds them until then.`,
  async run({ values, positionals }) {
    const [sub, target] = positionals;
    const { withDatabase } = await import('../runtime.ts');
    if (sub === 'add') {
      if (!values.name) throw new CliError(`goals add needs --name.\n\nUsage: ${usage}`);
      const [{ createGoal, goalView }, { sendingTarget }] = await Promise.all([
        import('../../services/goals.ts'),
        import('../../services/status.ts'),
      ]);
      const value = values.value === undefined ? undefined : Number(values.value);
      if (value !== undefined && !Number.isFinite(value))
        throw new CliError(`--value must be a number; got "${values.value}".`);
      const window =
        values.window === undefined
          ? undefined
          : (parseWindow(String(values.window)) ?? String(values.window));
      return withDatabase(async (ctx, config) => {
        const goal = await createGoal({
          ctx,
          input: {
            name: values.name,
            revenue: {
              type: values.revenue ?? (value === undefined ? 'none' : 'variable'),
              ...(value === undefined ? {} : { value }),
              ...(values.currency ? { currency: values.currency } : {}),
            },
            ...(values.count ? { countType: values.count } : {}),
            ...(window !== undefined ? { conversionWindow: window } : {}),
            ...(values.scope ? { scope: values.scope } : {}),
            ...(values.account ? { accountId: values.account } : {}),
          },
        });
        const dryRun =
          (await sendingTarget({ ctx, microsoftConfigured: config.msads.envAccount !== undefined })) ===
          'emulator';
        console.log(
          dryRun
            ? `Created goal "${goal.name}" (${goal.id}). Dry run: the submitter (closeloop serve, or the next submit --once) creates it in the built-in emulator, which takes conversions for it ${config.dryRunGoalDelayMs === 0 ? 'at once' : `${formatWindow(config.dryRunGoalDelayMs / 60_000)} after that (CLOSELOOP_DRY_RUN_GOAL_DELAY)`}; Microsoft itself waits 2 hours.`
            : `Created goal "${goal.name}" (${goal.id}). The submitter (closeloop serve, or the next submit --once) creates it in Microsoft Advertising; Microsoft accepts conversions for it 2 hours after that (about ${goalView(goal).acceptsConversionsFrom}); until then they are held.`,
        );
        return 0;
      });
    }
    if (sub === 'list') {
      const { goalView, listGoals } = await import('../../services/goals.ts');
      return withDatabase(async (ctx) => {
        const list = (await listGoals({ ctx })).map(goalView);
        if (values.json) console.log(JSON.stringify(list, null, 2));
        else if (list.length === 0)
          console.log('No goals yet. Create one with: closeloop goals add --name Purchase');
        else for (const g of list) console.log(goalLine(g));
        return 0;
      });
    }
    if (sub === 'pause' || sub === 'resume') {
      if (!target) throw new CliError(`goals ${sub} needs the goal's name or id.\n\nUsage: ${usage}`);
      const { updateGoal } = await import('../../services/goals.ts');
      return withDatabase(async (ctx) => {
        const goal = await updateGoal({
          ctx,
          idOrName: target,
          patch: { status: sub === 'pause' ? 'paused' : 'active' },
        });
        console.log(`Goal "${goal.name}" is ${goal.status}.`);
        return 0;
      });
    }
    if (sub === 'sync') {
      // Only sync talks to Microsoft: the client, the emulator and the submitter load for it alone.
      const [{ createLogger }, { syncGoals }, { openSending }, { submitAccount }, { accountForCli }] =
        await Promise.all([
          import('../../log.ts'),
          import('../../services/msads-goals.ts'),
          import('../../submit/runtime.ts'),
          import('../../submit/targets.ts'),
          import('./account-arg.ts'),
        ]);
      return withDatabase(async (ctx, config) => {
        const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
        const sending = await openSending(ctx, config, log);
        const account = await accountForCli(ctx, values.account as string | undefined);
        const report = await syncGoals(ctx.database, {
          account: submitAccount(account),
          client: sending.clientFor(account),
          now: ctx.now(),
        });
        const label = account.target === 'emulator' ? ' (dry run: the built-in emulator)' : '';
        console.log(
          `Goals in ${account.name}${label}: ${report.imported.length} imported, ${report.linked.length} linked to goals of the same name, ${report.unchanged.length} already known.`,
        );
        for (const name of report.imported) console.log(`  + ${name}`);
        for (const name of report.linked) console.log(`  = ${name}`);
        return 0;
      });
    }
    throw new CliError(`Unknown goals subcommand ${sub ? `"${sub}"` : '(none)'}.\n\nUsage: ${usage}`);
  },
};
