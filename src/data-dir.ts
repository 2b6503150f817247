import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';

/**
 * Which data folder closeloop uses, and why. The folder must not depend on the directory a command
 * happens to run in: before, every directory got its own `./.closeloop`, and a command run from
 * elsewhere silently opened a second, empty database. The rules, first match wins:
 *
 * 1. `CLOSELOOP_DATA_DIR` (environment, or the file given with --config), relative to the current
 *    directory when it is not absolute;
 * 2. inside a closeloop checkout: `.closeloop` beside its package.json. A checkout is found by walking
 *    up from the current directory to the nearest package.json: it is one when that package.json is
 *    named "closeloop" and is not inside node_modules (an installed copy of the package is not a
 *    checkout, and a project of your own with its own package.json is not one either);
 * 3. the user data folder: `$XDG_DATA_HOME/closeloop` (`~/.local/share/closeloop` when XDG_DATA_HOME is
 *    unset or not absolute), `~/Library/Application Support/closeloop` on macOS,
 *    `%LOCALAPPDATA%\closeloop` on Windows.
 */
export type DataDirSource = 'env' | 'checkout' | 'user';

export interface DataDirChoice {
  dir: string;
  source: DataDirSource;
  /** For `closeloop status` and the start log: "from CLOSELOOP_DATA_DIR", "this checkout (…)", … */
  why: string;
}

export interface DataDirInputs {
  /** CLOSELOOP_DATA_DIR as configured (environment first, then the --config file). */
  configured: string | undefined;
  env: Record<string, string | undefined>;
  cwd: string;
  platform: NodeJS.Platform;
  home: string;
}

export function defaultDataDirInputs(
  configured: string | undefined,
  env: Record<string, string | undefined>,
): DataDirInputs {
  return { configured, env, cwd: process.cwd(), platform: process.platform, home: homedir() };
}

export function chooseDataDir(inputs: DataDirInputs): DataDirChoice {
  const { configured, cwd } = inputs;
  if (configured) return { dir: resolve(cwd, configured), source: 'env', why: 'from CLOSELOOP_DATA_DIR' };
  const checkout = findCheckout(cwd);
  if (checkout)
    return { dir: join(checkout, '.closeloop'), source: 'checkout', why: `this checkout (${checkout})` };
  return { dir: userDataDir(inputs), source: 'user', why: 'user data folder' };
}

/** The closeloop checkout `cwd` is in (the folder of its package.json), or undefined. */
export function findCheckout(cwd: string): string | undefined {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const name = packageName(join(dir, 'package.json'));
    if (name !== undefined) {
      const installed = dir.split(sep).includes('node_modules');
      return name === 'closeloop' && !installed ? dir : undefined;
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** The "name" of a package.json; '' when it has none or cannot be read as JSON; undefined: no file. */
function packageName(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const name = (JSON.parse(text) as { name?: unknown }).name;
    return typeof name === 'string' ? name : '';
  } catch {
    return '';
  }
}

function userDataDir({ env, platform, home }: DataDirInputs): string {
  if (platform === 'win32') return join(env.LOCALAPPDATA || join(home, 'AppData', 'Local'), 'closeloop');
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'closeloop');
  // The XDG Base Directory spec: a relative XDG_DATA_HOME is invalid and is ignored.
  const xdg = env.XDG_DATA_HOME;
  return join(xdg?.startsWith('/') ? xdg : join(home, '.local', 'share'), 'closeloop');
}
