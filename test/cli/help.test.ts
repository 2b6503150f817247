import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { helpText, parseCommandArgs } from '../../src/cli/command.ts';
import { commands } from '../../src/cli/main.ts';
import { runCli } from '../helpers/cli.ts';

/** Help, version and usage errors need no database: nothing here opens one. */
const env = { CLOSELOOP_DATA_DIR: '/nonexistent/closeloop-help-test' };
const version = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

describe('the command table', () => {
  it("lists each command under its own name, with the command's own summary", async () => {
    for (const entry of commands) {
      const command = await entry.load();
      expect(command.name).toBe(entry.name);
      expect(entry.summary, entry.name).toBe(command.summary);
    }
  });

  it("every command's help lists every option it takes, with what it does", async () => {
    for (const entry of commands) {
      const command = await entry.load();
      const help = helpText(command);
      for (const [name, option] of Object.entries(command.options ?? {})) {
        expect(help, `${entry.name} --${name}`).toMatch(new RegExp(`^  (-\\w, )?--${name}\\b`, 'm'));
        expect(option.description, `${entry.name} --${name} has no description`).toBeTruthy();
      }
      expect(help).toContain('-h, --help');
    }
  });
});

describe('parseCommandArgs', () => {
  const command = {
    name: 'demo',
    summary: 'A demo.',
    usage: 'closeloop demo [--adjustments] [--name NAME]',
    options: {
      adjustments: { type: 'boolean' as const, description: 'adjust' },
      name: { type: 'string' as const, value: 'NAME', description: 'the name' },
    },
    run: async () => 0,
  };
  const error = (args: string[]) => {
    try {
      parseCommandArgs(command, args);
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('no error');
  };

  it('answers an unknown option in our words, with the option probably meant and the usage', () => {
    const message = error(['--adjustment']);
    expect(message).toMatch(
      /^Unknown option --adjustment for "closeloop demo". Did you mean --adjustments\?\n\n/,
    );
    expect(message).toContain('Usage: closeloop demo [--adjustments] [--name NAME]');
    expect(message).toContain('  --name NAME');
    expect(message).not.toMatch(/place it at the end|To specify a positional/);
    expect(error(['-x'])).toMatch(/^Unknown option -x for "closeloop demo".\n/);
  });

  it('a string option needs a value, a boolean option takes none', () => {
    expect(error(['--name'])).toMatch(/^Option --name needs a value: --name NAME\./);
    expect(error(['--name', '--adjustments'])).toMatch(
      /^Option --name needs a value, but "--adjustments" follows it: --name NAME\. \(A value that starts with "-" is written --name=--adjustments\.\)/,
    );
    expect(error(['--adjustments=yes'])).toMatch(
      /^Option --adjustments takes no value; write just --adjustments\./,
    );
    expect(parseCommandArgs(command, ['--name=-5', 'x']).values.name).toBe('-5');
  });
});

describe('closeloop help, --version and mistakes', () => {
  it('--help lists every command and how to get help on one', async () => {
    const { code, stdout } = await runCli(['--help'], env);
    expect(code).toBe(0);
    for (const entry of commands) expect(stdout).toContain(`  ${entry.name} `);
    expect(stdout).toContain('closeloop help COMMAND');
  });

  it('help CMD is CMD --help', async () => {
    const [viaHelp, viaFlag] = await Promise.all([
      runCli(['help', 'import'], env),
      runCli(['import', '--help'], env),
    ]);
    expect(viaHelp).toEqual(viaFlag);
    expect(viaHelp.code).toBe(0);
    // import --help lists every option import takes.
    for (const option of ['--adjustments', '--preview', '--json', '--progress', '--help'])
      expect(viaHelp.stdout).toContain(option);
  });

  it('--version prints the version in package.json', async () => {
    const { code, stdout } = await runCli(['--version'], env);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(`closeloop ${version}`);
  });

  it('an unknown command suggests the one probably meant; an unknown option shows the usage', async () => {
    const command = await runCli(['gaols', 'list'], env);
    expect(command.code).toBe(2);
    expect(command.stderr).toMatch(/^Unknown command "gaols". Did you mean "goals"\?/);
    const option = await runCli(['import', 'x.csv', '--adjustment'], env);
    expect(option.code).toBe(2);
    expect(option.stderr).toMatch(
      /^Unknown option --adjustment for "closeloop import". Did you mean --adjustments\?/,
    );
    expect(option.stderr).toContain('Usage: closeloop import FILE');
    const help = await runCli(['help', 'nope'], env);
    expect(help.code).toBe(2);
    expect(help.stderr).toContain('Unknown command "nope"');
  });
});

describe('closeloop timezones', () => {
  it("lists Microsoft's zones with their offsets now and IANA zones", async () => {
    const { code, stdout } = await runCli(['timezones'], env);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^OFFSET NOW\s+NAME\s+IANA ZONE$/);
    expect(lines.filter((l) => /^UTC[+-]\d\d:\d\d /.test(l))).toHaveLength(75);
    expect(stdout).toMatch(/^UTC-0[45]:00\s+EasternTimeUSCanada\s+America\/New_York$/m);
  });

  it('searches, answers --json, and names the Microsoft zone for a Windows or IANA name', async () => {
    const search = await runCli(['timezones', 'berlin'], env);
    expect(search.stdout).toContain('AmsterdamBerlinBernRomeStockholmVienna  Europe/Berlin');
    const json = JSON.parse((await runCli(['timezones', 'sydney', '--json'], env)).stdout);
    expect(json).toEqual([
      expect.objectContaining({ name: 'CanberraMelbourneSydney', iana: 'Australia/Sydney', aliases: [] }),
    ]);
    const windows = await runCli(['timezones', 'Eastern Standard Time'], env);
    expect(windows.stdout).toContain("write Microsoft's name for that zone: EasternTimeUSCanada");
    const none = await runCli(['timezones', 'Atlantis'], env);
    expect(none.code).toBe(1);
  });
});
