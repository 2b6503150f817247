import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCommandArgs } from '../src/cli/command.ts';
import { commands, takeConfigOption } from '../src/cli/main.ts';
import { rowErrorCodes } from '../src/domain/row-errors.ts';

/*
 * The README and the pages of docs/: what each promises is where it says, every link leads somewhere,
 * and every `closeloop` command a shell block shows is a command with options closeloop takes. The
 * commands of the quick start and of getting started are also run, literally (cli/quickstart.db.test.ts).
 */
const root = join(import.meta.dirname, '..');
const docsDir = join(root, 'docs');
const pages = [
  'README.md',
  ...readdirSync(docsDir)
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const read = (page: string) => readFileSync(join(root, page), 'utf8');

/** GitHub's anchor for a heading. */
function slug(heading: string): string {
  return heading
    .replace(/^#+\s*/, '')
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');
}

function anchors(page: string): Set<string> {
  const out = new Set<string>();
  let code = false;
  for (const line of read(page).split('\n')) {
    if (line.startsWith('```')) code = !code;
    else if (!code && /^#{1,6} /.test(line)) out.add(slug(line));
  }
  return out;
}

/** The lines of a page's ```sh blocks, continuation lines joined. */
function shellLines(page: string): string[] {
  return [...read(page).matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) =>
    (m[1] as string).replace(/\\\n\s*/g, ' ').split('\n'),
  );
}

/** "closeloop ARGS" as a shell would split it (quotes, no expansion), from each command of a line. */
function closeloopCommands(line: string): string[][] {
  const code = line.replace(/(^|\s)#.*$/, '');
  const out: string[][] = [];
  for (const part of code.split(/&&|\|\||[|;]|\$\(/)) {
    const words = [...part.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map(
      (m) => m[1] ?? m[2] ?? (m[3] as string),
    );
    const at = words.indexOf('closeloop');
    if (at === -1 || (at > 0 && words[at - 1] !== 'npx' && !/^\w+=/.test(words[at - 1] as string))) continue;
    out.push(words.slice(at + 1).map((w) => w.replace(/\)$/, '')));
  }
  return out;
}

describe('the docs', () => {
  it('document every row error code on the file import page', () => {
    const page = read('docs/file-import.md');
    for (const code of Object.keys(rowErrorCodes)) expect(page, code).toContain(`\`${code}\``);
  });

  it('keep the two-command quick start in the README, and its pitch short', () => {
    const readme = read('README.md');
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm test');
    // 85 KB before the split; the other parts' short sections (≤ 12 lines each) fit under this.
    expect(readme.length).toBeLessThan(16_000);
  });

  it('have an index that lists every page', () => {
    const index = read('docs/README.md');
    for (const page of pages.filter((p) => p.startsWith('docs/') && p !== 'docs/README.md'))
      expect(index, page).toContain(`](${page.slice('docs/'.length)})`);
  });

  it('link only to files and headings that exist', () => {
    const broken: string[] = [];
    for (const page of pages) {
      for (const m of read(page).matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1] as string;
        if (/^[a-z]+:/.test(target)) continue;
        const [file, anchor] = target.split('#') as [string, string | undefined];
        const path = file ? join(root, dirname(page), file) : join(root, page);
        if (!existsSync(path)) broken.push(`${page}: ${target} (no file)`);
        else if (anchor && path.endsWith('.md') && !anchors(relative(root, path)).has(anchor))
          broken.push(`${page}: ${target} (no heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('show only closeloop commands and options that exist', async () => {
    let checked = 0;
    for (const page of pages)
      for (const line of shellLines(page))
        for (const argv of closeloopCommands(line)) {
          const args = takeConfigOption(argv);
          expect(args, `${page}: ${line}`).toBeDefined();
          const [name, ...rest] = args as string[];
          if (name === '--help' || name === '--version') continue;
          const entry = commands.find((c) => c.name === name);
          expect(entry, `${page}: ${line}`).toBeDefined();
          const command = await entry!.load();
          expect(() => parseCommandArgs(command, rest), `${page}: ${line}`).not.toThrow();
          checked++;
        }
    expect(checked).toBeGreaterThan(20);
  });
});
