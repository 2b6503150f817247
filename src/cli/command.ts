import { parseArgs } from 'node:util';
import { CliError } from './cli-error.ts';
import { closest } from './closest.ts';

/*
 * A command's options table is the single source of its help, its parsing and its errors: help lists
 * every option from it (so help cannot fall behind the options), and a mistyped option is answered with
 * the command's usage in our words. This file loads nothing but node:util, so `--help` stays fast.
 */

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** The value's name in help, e.g. `ID` in `--account ID`. @default 'VALUE' */
  value?: string;
  /** What the option does, for help; more lines are indented under the first. */
  description?: string;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export interface Command {
  name: string;
  summary: string;
  /** The synopsis, one line per form (more paragraphs may follow); the options are listed after it. */
  usage: string;
  options?: Record<string, OptionSpec>;
  /** Paragraphs shown after the options (exit codes, examples). */
  details?: string;
  run(args: ParsedArgs): Promise<number>;
}

const helpOption: OptionSpec = { type: 'boolean', short: 'h', description: 'show this help' };

/**
 * Parse a command's arguments. Unknown options, string options without a value and boolean options with
 * one are usage errors (exit 2) that name the option, suggest the one probably meant, and show the usage.
 */
export function parseCommandArgs(command: Command, argv: string[]): ParsedArgs {
  const options: Record<string, OptionSpec> = { ...command.options, help: helpOption };
  // Not strict: node's own messages would leak ("… place it at the end of the command after '--' …");
  // every option token is checked below instead.
  const { values, positionals, tokens } = parseArgs({
    args: argv,
    options: Object.fromEntries(
      Object.entries(options).map(([name, o]) => [
        name,
        { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) },
      ]),
    ),
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const spec = options[token.name];
    const raw = token.rawName;
    if (!spec) {
      const names = Object.keys(options).map((n) => `--${n}`);
      const guess = raw.startsWith('--') ? closest(raw, names) : undefined;
      throw usageError(
        command,
        `Unknown option ${raw} for "closeloop ${command.name}".${guess ? ` Did you mean ${guess}?` : ''}`,
      );
    }
    const flag = `--${token.name}`;
    if (spec.type === 'boolean' && token.inlineValue)
      throw usageError(command, `Option ${flag} takes no value; write just ${flag}.`);
    if (spec.type === 'string') {
      const example = `${flag} ${spec.value ?? 'VALUE'}`;
      if (token.value === undefined) throw usageError(command, `Option ${raw} needs a value: ${example}.`);
      if (!token.inlineValue && token.value.startsWith('-') && token.value.length > 1)
        throw usageError(
          command,
          `Option ${raw} needs a value, but "${token.value}" follows it: ${example}. (A value that starts with "-" is written ${flag}=${token.value}.)`,
        );
    }
  }
  return { values: values as ParsedArgs['values'], positionals };
}

function usageError(command: Command, message: string): CliError {
  return new CliError(`${message}\n\n${usageText(command)}`, 2);
}

/** The whole help of a command: what it does, its usage, every option, then the details. */
export function helpText(command: Command): string {
  return [command.summary, usageText(command), command.details?.trim()].filter(Boolean).join('\n\n');
}

/** The usage and the options, as shown with a usage error. */
export function usageText(command: Command): string {
  return `Usage: ${command.usage.trim()}\n\nOptions:\n${optionList({ ...command.options, help: helpOption })}`;
}

/** Longest option label kept on its description's line; longer labels get a line of their own. */
const maxLabelWidth = 24;
/** Help lines are wrapped to this many columns. */
const helpWidth = 100;

function optionList(options: Record<string, OptionSpec>): string {
  const labels = Object.entries(options).map(([name, o]) => {
    const value = o.type === 'string' ? ` ${o.value ?? 'VALUE'}${o.multiple ? ' …' : ''}` : '';
    return { label: `${o.short ? `-${o.short}, ` : ''}--${name}${value}`, o };
  });
  const width = Math.min(maxLabelWidth, Math.max(...labels.map((l) => l.label.length)));
  const indent = ' '.repeat(width + 4);
  const lines: string[] = [];
  for (const { label, o } of labels) {
    const description = (o.description ?? '')
      .split('\n')
      .flatMap((line) => wrap(line.trim(), helpWidth - indent.length));
    const [first = '', ...rest] = label.length > width ? ['', ...description] : description;
    lines.push(`  ${label.padEnd(width)}  ${first}`.trimEnd());
    for (const line of rest) lines.push(`${indent}${line}`);
  }
  return lines.join('\n');
}

/** Words into lines of at most `width` characters (a longer word keeps a line to itself). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}
