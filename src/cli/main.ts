import { type Command, helpText, parseCommandArgs } from './command.ts';
import { accountsCommand } from './commands/accounts.ts';
import { authCommand } from './commands/auth.ts';
import { emulatorCommand } from './commands/emulator.ts';
import { goalsCommand } from './commands/goals.ts';
import { applyCommand, importCommand, resultsCommand } from './commands/import.ts';
import { keysCommand } from './commands/keys.ts';
import { serveCommand } from './commands/serve.ts';
import { statusCommand } from './commands/status.ts';
import { retryCommand, submissionsCommand, submitCommand } from './commands/submit.ts';
import { uploadsCommand } from './commands/uploads.ts';
import { explain } from './runtime.ts';

const commands: Command[] = [
  serveCommand,
  statusCommand,
  submitCommand,
  retryCommand,
  submissionsCommand,
  importCommand,
  applyCommand,
  resultsCommand,
  uploadsCommand,
  goalsCommand,
  keysCommand,
  emulatorCommand,
  accountsCommand,
  authCommand,
];

function mainHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `closeloop: offline conversion tracking for Microsoft Advertising

Usage: closeloop COMMAND [options]   (closeloop COMMAND --help for each)

${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(mainHelp());
    return name ? 0 : 2;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    console.error(`Unknown command "${name}".\n\n${mainHelp()}`);
    return 2;
  }
  try {
    const args = parseCommandArgs(command, rest);
    if (args.values.help) {
      console.log(helpText(command));
      return 0;
    }
    return await command.run(args);
  } catch (err) {
    const known = explain(err);
    if (!known) throw err;
    console.error(known.message);
    return known.exitCode;
  }
}

const code = await main(process.argv.slice(2));
process.exitCode = code;
