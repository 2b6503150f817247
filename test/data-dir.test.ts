import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseDataDir, type DataDirInputs, findCheckout } from '../src/data-dir.ts';

const home = '/home/ada';
const outside = mkdtempSync(join(tmpdir(), 'closeloop-datadir-'));

function inputs(over: Partial<DataDirInputs> = {}): DataDirInputs {
  return { configured: undefined, env: {}, cwd: outside, platform: 'linux', home, ...over };
}

/** A folder with a package.json named `name`, and a subfolder of it. */
function project(name: string): { dir: string; sub: string } {
  const dir = mkdtempSync(join(tmpdir(), 'closeloop-project-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name }));
  const sub = join(dir, 'src', 'deep');
  mkdirSync(sub, { recursive: true });
  return { dir, sub };
}

describe('the data folder', () => {
  it('is CLOSELOOP_DATA_DIR when set, relative to the current directory, wherever that is', () => {
    const { sub } = project('closeloop');
    expect(chooseDataDir(inputs({ configured: '/srv/closeloop', cwd: sub }))).toEqual({
      dir: '/srv/closeloop',
      source: 'env',
      why: 'from CLOSELOOP_DATA_DIR',
    });
    expect(chooseDataDir(inputs({ configured: 'data' })).dir).toBe(join(outside, 'data'));
  });

  it("is the checkout's .closeloop from any folder inside a closeloop checkout", () => {
    const { dir, sub } = project('closeloop');
    for (const cwd of [dir, sub])
      expect(chooseDataDir(inputs({ cwd }))).toEqual({
        dir: join(dir, '.closeloop'),
        source: 'checkout',
        why: `this checkout (${dir})`,
      });
    // This repository is one.
    expect(findCheckout(import.meta.dirname)).toBe(join(import.meta.dirname, '..'));
  });

  it('is not a checkout when the nearest package.json is another project, or closeloop installed in node_modules', () => {
    const mine = project('my-shop');
    expect(chooseDataDir(inputs({ cwd: mine.sub })).source).toBe('user');
    const installed = join(mine.dir, 'node_modules', 'closeloop');
    mkdirSync(installed, { recursive: true });
    writeFileSync(join(installed, 'package.json'), JSON.stringify({ name: 'closeloop' }));
    expect(findCheckout(installed)).toBeUndefined();
    // A closeloop checkout above another project does not count: the nearest package.json decides.
    const outer = project('closeloop');
    const inner = join(outer.dir, 'examples', 'shop');
    mkdirSync(inner, { recursive: true });
    writeFileSync(join(inner, 'package.json'), '{"name": "shop"}');
    expect(findCheckout(inner)).toBeUndefined();
    expect(findCheckout(join(outer.dir, 'examples'))).toBe(outer.dir);
  });

  it('is the user data folder elsewhere: XDG_DATA_HOME, ~/.local/share, macOS and Windows folders', () => {
    expect(chooseDataDir(inputs())).toEqual({
      dir: '/home/ada/.local/share/closeloop',
      source: 'user',
      why: 'user data folder',
    });
    expect(chooseDataDir(inputs({ env: { XDG_DATA_HOME: '/data/ada' } })).dir).toBe('/data/ada/closeloop');
    // The XDG spec: a relative path is invalid and ignored.
    expect(chooseDataDir(inputs({ env: { XDG_DATA_HOME: 'rel' } })).dir).toBe(
      '/home/ada/.local/share/closeloop',
    );
    expect(chooseDataDir(inputs({ platform: 'darwin' })).dir).toBe(
      '/home/ada/Library/Application Support/closeloop',
    );
    expect(
      chooseDataDir(inputs({ platform: 'win32', env: { LOCALAPPDATA: '/c/Users/ada/AppData/Local' } })).dir,
    ).toBe(join('/c/Users/ada/AppData/Local', 'closeloop'));
    expect(chooseDataDir(inputs({ platform: 'win32' })).dir).toBe(
      join(home, 'AppData', 'Local', 'closeloop'),
    );
  });
});
