import { parseWindow } from '../../domain/goal.ts';
import { createLogger } from '../../log.ts';
import { createGoal, goalView, listGoals, updateGoal } from '../../services/goals.ts';
import { syncGoals } from '../../services/msads-goals.ts';
import { sendingTarget } from '../../services/status.ts';
import { openSending } from '../../submit/runtime.ts';
import { submitAccount } from '../../submit/targets.ts';
import type { Command } from '../command.ts';
import { CliError, withDatabase } from '../runtime.ts';
import { accountForCli } from './account-arg.ts';

const usage = `closeloop goals add --name NAME [--revenue none|fixed|variable] [--value N] [--currency USD]
                     [--count all|unique] [--window 30d] [--scope account|customer] [--account ID]
       closeloop goals list [--json]
       closeloop goals pause NAME_OR_ID
       closeloop goals resume NAME_OR_ID
       closeloop goals sync [--account ID]

  sync       import the offline goals that already exist in the Microsoft Advertising account (they
             take conversions at once: they are older than 2 hours) and link local goals of the same name

  --window   conversion window: 1 minute to 90 days, e.g. 90d, 12h, 45m (default 30d)
  Goals cannot be deleted (Microsoft does not allow it either): pause them.
  Microsoft accepts conversions for a new goal 2 hours after it is created; closeloop holds them until then.`;

export const goalsCommand: Command = {
  name: 'goals',
  summary: 'Create, list, pause and resume offline conversion goals.',
  usage,
  options: {
    name: { type: 'string' },
    revenue: { type: 'string' },
    value: { type: 'string' },
    currency: { type: 'string' },
    count: { type: 'string' },
    window: { type: 'string' },
    scope: { type: 'string' },
    account: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run({ values, positionals }) {
    const [sub, target] = positionals;
    if (sub === 'add') {
      if (!values.name) throw new CliError(`goals add needs --name.\n\nUsage: ${usage}`);
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
            ? `Created goal "${goal.name}" (${goal.id}). Dry run: the submitter (closeloop serve, or the next submit --once) creates it in the built-in emulator, which takes conversions for it ${config.dryRunGoalDelayMs === 0 ? 'at once' : `${config.dryRunGoalDelayMs / 60_000} minutes after that (CLOSELOOP_DRY_RUN_GOAL_DELAY)`}; Microsoft itself waits 2 hours.`
            : `Created goal "${goal.name}" (${goal.id}). The submitter (closeloop serve, or the next submit --once) creates it in Microsoft Advertising; Microsoft accepts conversions for it 2 hours after that (about ${goalView(goal).acceptsConversionsFrom}); until then they are held.`,
        );
        return 0;
      });
    }
    if (sub === 'list') {
      return withDatabase(async (ctx) => {
        const list = (await listGoals({ ctx })).map(goalView);
        if (values.json) console.log(JSON.stringify(list, null, 2));
        else if (list.length === 0)
          console.log('No goals yet. Create one with: closeloop goals add --name Purchase');
        else
          for (const g of list) {
            const revenue =
              g.revenue.type === 'none'
                ? 'no value'
                : `${g.revenue.type} ${g.revenue.value ?? ''} ${g.revenue.currency ?? ''}`.trim();
            console.log(
              `${g.status === 'paused' ? '⏸' : '●'} ${g.name}  [${revenue}; count ${g.countType}; window ${g.conversionWindowMinutes} min; ${g.scope}]  ${g.id}`,
            );
          }
        return 0;
      });
    }
    if (sub === 'pause' || sub === 'resume') {
      if (!target) throw new CliError(`goals ${sub} needs the goal's name or id.\n\nUsage: ${usage}`);
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
