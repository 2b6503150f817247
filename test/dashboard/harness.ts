// The dashboard's browser tests: the real app on a loopback port over a test database, Debian's
// Chromium driven by playwright-core, axe-core (from node_modules, pinned) for the accessibility pass.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type ServerType, serve } from '@hono/node-server';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { Database } from '../../src/db/client.ts';
import { type AppDeps, createApp } from '../../src/http/app.ts';
import { createLogger } from '../../src/log.ts';
import { testContext } from '../helpers/context.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Every run saves a screenshot of every page here (git-ignored); docs/screenshots has a few, committed. */
export const screenshotDir = fileURLToPath(new URL('./screenshots/', import.meta.url));

export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`No Chromium at ${CHROMIUM}: install Debian's package (apt-get install -y chromium).`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--no-first-run',
    ],
  });
}

export interface DashboardServer {
  url: string;
  server: ServerType;
  close(): Promise<void>;
}

/** The whole app (dashboard, API) on 127.0.0.1 and a free port, as `closeloop serve` runs it. */
export async function startDashboard(
  database: Database,
  options: Pick<AppDeps, 'adminPassword' | 'crm' | 'schedules' | 'webhooks' | 'clientFor'> = {},
): Promise<DashboardServer> {
  const app = createApp({
    ctx: testContext(database, () => new Date()),
    log: createLogger('silent'),
    maxUploadBytes: 5 * 1024 * 1024,
    target: 'emulator',
    ...options,
  });
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: `${screenshotDir}${name}.png`, fullPage: true });
}

const axeSource = readFileSync(fileURLToPath(import.meta.resolve('axe-core/axe.min.js')), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/**
 * axe-core's WCAG 2.1 A and AA rules (labels, landmarks, contrast, names of links and buttons…) and its
 * best practices over the page as it is. It is evaluated through the DevTools protocol, which the page's
 * CSP does not govern; nothing is added to the page's own scripts.
 */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: { run: (ctx: unknown, o: unknown) => Promise<{ violations: AxeViolation[] }> };
      }
    ).axe;
    const result = await axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
    });
    return result.violations;
  });
  return violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
  );
}

/**
 * Keyboard only: the first Tab reaches the skip link and Enter moves to the content; then Tab visits
 * the links, buttons and fields in order (the first 30), each showing where the focus is (an outline).
 * Returns the problems found.
 */
/** The navigation and the first controls of a page: enough to catch a trap or a missing outline, and fast. */
const maxTabStops = 30;

export async function keyboardProblems(page: Page): Promise<string[]> {
  const problems: string[] = [];
  await page.evaluate(() => {
    (document.activeElement as HTMLElement | null)?.blur();
    window.scrollTo(0, 0);
  });
  await page.keyboard.press('Tab');
  const first = await page.evaluate(() => document.activeElement?.textContent?.trim());
  if (first !== 'Skip to content') problems.push(`the first Tab reached "${first}", not the skip link`);
  const focusable = await page.evaluate(
    () =>
      [
        ...document.querySelectorAll(
          'a[href], button:not([disabled]), input:not([type=hidden]), select, summary',
        ),
      ].filter((e) => (e as HTMLElement).offsetParent !== null || e === document.querySelector('.skip'))
        .length,
  );
  const seen = new Set<string>();
  const wanted = Math.min(focusable, maxTabStops);
  // A date field takes three Tabs (month, day, year): Tab until every control was reached once.
  for (let i = 0; seen.size < wanted && i < wanted * 4; i++) {
    const f = await page.evaluate(() => {
      const e = document.activeElement as HTMLElement | null;
      if (!e || e === document.body) return null;
      const s = getComputedStyle(e);
      return {
        key: `${e.tagName}:${e.getAttribute('href') ?? e.getAttribute('name') ?? e.textContent?.trim()}:${e.getBoundingClientRect().top}`,
        label: `${e.tagName.toLowerCase()} "${(e.textContent ?? '').trim().slice(0, 30) || e.getAttribute('name')}"`,
        visible: (s.outlineStyle !== 'none' && s.outlineWidth !== '0px') || s.boxShadow !== 'none',
      };
    });
    if (!f) {
      problems.push(`Tab ${i + 1} left the page's controls`);
      break;
    }
    if (!f.visible && !seen.has(f.key)) problems.push(`${f.label} shows no focus indicator`);
    seen.add(f.key);
    await page.keyboard.press('Tab');
  }
  if (seen.size < wanted) problems.push(`Tab reached ${seen.size} of ${focusable} controls`);
  // The skip link takes the focus past the navigation, to the page's content.
  await page.focus('.skip');
  await page.keyboard.press('Enter');
  const landed = await page.evaluate(() => document.activeElement?.id);
  if (landed !== 'main')
    problems.push(`the skip link moved the focus to "${landed}", not to the main content`);
  return problems;
}
