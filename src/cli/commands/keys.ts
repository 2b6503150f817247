import { CliError } from '../cli-error.ts';
import type { Command } from '../command.ts';

const usage = `closeloop keys create --name NAME
       closeloop keys list
       closeloop keys revoke ID_OR_PREFIX

  The key is printed once, by create; closeloop stores only its hash. Send it as
  "Authorization: Bearer <key>" on every /api request.`;

export const keysCommand: Command = {
  name: 'keys',
  summary: 'Create, list and revoke API keys.',
  usage,
  options: {
    name: {
      type: 'string',
      value: 'NAME',
      description: 'create: a name to recognise the key by (default "default")',
    },
  },
  async run({ values, positionals }) {
    const [sub, target] = positionals;
    const [{ withDatabase }, { createApiKey, listApiKeys, revokeApiKey }] = await Promise.all([
      import('../runtime.ts'),
      import('../../services/api-keys.ts'),
    ]);
    if (sub === 'create') {
      return withDatabase(async (ctx) => {
        const { key, record } = await createApiKey({ ctx, name: String(values.name ?? 'default') });
        console.error(
          `Created API key "${record.name}" (${record.id}). It is shown only now; store it safely:`,
        );
        console.log(key);
        return 0;
      });
    }
    if (sub === 'list') {
      return withDatabase(async (ctx) => {
        const keys = await listApiKeys({ ctx });
        if (keys.length === 0) console.log('No API keys. Create one with: closeloop keys create --name NAME');
        for (const k of keys)
          console.log(
            `${k.prefix}…  ${k.name}  created ${k.createdAt.toISOString()}  ${k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : k.lastUsedAt ? `last used ${k.lastUsedAt.toISOString()}` : 'never used'}  ${k.id}`,
          );
        return 0;
      });
    }
    if (sub === 'revoke') {
      if (!target) throw new CliError(`keys revoke needs the key's id or prefix.\n\nUsage: ${usage}`);
      return withDatabase(async (ctx) => {
        const k = await revokeApiKey({ ctx, idOrPrefix: target });
        console.log(`Revoked API key "${k.name}" (${k.prefix}…).`);
        return 0;
      });
    }
    throw new CliError(`Unknown keys subcommand ${sub ? `"${sub}"` : '(none)'}.\n\nUsage: ${usage}`);
  },
};
