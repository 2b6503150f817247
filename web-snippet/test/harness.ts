// Shared by the browser tests: the built snippet, a loopback server for the fixture pages and the snippet
// routes, and Debian's Chromium driven by playwright-core. Every *.example.com host resolves to 127.0.0.1
// inside the browser (--host-resolver-rules), so www. and shop. are two real hosts of one registrable
// domain: a cookie with domain=example.com is shared between them as on a production site.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ServerType, serve } from '@hono/node-server';
import { Hono } from 'hono';
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Page,
} from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { createSnippetRoutes } from '../../src/http/snippet.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const distDir = fileURLToPath(new URL('../dist/', import.meta.url));
const fixturesDir = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** Click IDs as Microsoft issues them: 32 lower-case hex characters. */
export const CLICK_A = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
export const CLICK_B = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
export const CLICK_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

export function assertBuilt(): void {
  if (!existsSync(join(distDir, 'closeloop.js'))) {
    throw new Error(
      'web-snippet/dist/closeloop.js is missing: run `npm run build:snippet` first (npm test does).',
    );
  }
}

export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`No Chromium at ${CHROMIUM}: install Debian's package (apt-get install -y chromium).`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--no-first-run',
      '--host-resolver-rules=MAP *.example.com 127.0.0.1',
    ],
  });
}

export interface PostedForm {
  path: string;
  fields: Record<string, string>;
}

export interface FixtureServer {
  /** http://www.example.com:<port> */
  www: string;
  /** http://shop.example.com:<port> */
  shop: string;
  /** https://www.example.com:<port> (a self-signed certificate: use ignoreHTTPSErrors) */
  secureWww: string;
  /** Bodies of the forms posted to /submit, and of the snippet's calls to /closeloop/msclkid. */
  posted: PostedForm[];
  close(): Promise<void>;
}

/**
 * Serves the fixture pages (`/<name>.html`), the snippet routes at the root and under /closeloop/ (the
 * reverse-proxy mount of same-origin mode), and POST /submit, which records the form it receives.
 */
export async function startFixtureServer(): Promise<FixtureServer> {
  assertBuilt();
  const posted: PostedForm[] = [];
  const app = new Hono();
  app.use(async (c, next) => {
    if (c.req.method === 'POST' && c.req.path.endsWith('/msclkid')) {
      posted.push({
        path: c.req.path,
        fields: Object.fromEntries(new URLSearchParams(await c.req.raw.clone().text())),
      });
    }
    await next();
  });
  app.post('/submit', async (c) => {
    const fields = Object.fromEntries(
      Object.entries(await c.req.parseBody()).map(([name, value]) => [name, String(value)]),
    );
    posted.push({ path: '/submit', fields });
    return c.html('<!doctype html><title>Thanks</title><p id="thanks">Thanks</p>');
  });
  // Browsers ask for it on their own; an answer keeps it out of the errors the tests watch.
  app.get('/favicon.ico', (c) => c.body(null, 204));
  const snippet = createSnippetRoutes({ distDir });
  app.route('/closeloop', snippet);
  app.route('/', snippet);
  app.get('/:name{[a-z0-9-]+\\.(html|js)}', (c) => {
    const path = join(fixturesDir, c.req.param('name'));
    if (!existsSync(path)) return c.notFound();
    const type = path.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/html; charset=utf-8';
    return c.body(readFileSync(path), 200, { 'Content-Type': type, 'Cache-Control': 'no-store' });
  });

  const http = await listen(serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }));
  const certDir = mkdtempSync(join(tmpdir(), 'closeloop-tls-'));
  // A throwaway self-signed certificate: only to give the browser an https page (Secure cookies).
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=www.example.com',
      '-keyout',
      join(certDir, 'key.pem'),
      '-out',
      join(certDir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  const https = await listen(
    serve({
      fetch: app.fetch,
      hostname: '127.0.0.1',
      port: 0,
      createServer: createHttpsServer,
      serverOptions: {
        key: readFileSync(join(certDir, 'key.pem')),
        cert: readFileSync(join(certDir, 'cert.pem')),
      },
    }),
  );
  rmSync(certDir, { recursive: true, force: true });
  return {
    www: `http://www.example.com:${http.port}`,
    shop: `http://shop.example.com:${http.port}`,
    secureWww: `https://www.example.com:${https.port}`,
    posted,
    close: async () => {
      await Promise.all([http.close(), https.close()]);
    },
  };
}

async function listen(server: ServerType): Promise<{ port: number; close(): Promise<void> }> {
  if (!server.listening) await new Promise((resolve) => server.once('listening', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface Visit {
  context: BrowserContext;
  page: Page;
  /** Uncaught errors and console errors of the page: the snippet must never add any. */
  errors: string[];
  /** Every request the page made, as method + URL. */
  requests: string[];
}

/** A fresh context (no cookies) and page; `init` runs in the page before any of its scripts. */
export async function openPage(
  browser: Browser,
  options: BrowserContextOptions & { init?: () => void } = {},
): Promise<Visit> {
  const { init, ...contextOptions } = options;
  const context = await browser.newContext(contextOptions);
  if (init) await context.addInitScript(init);
  const page = await context.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('request', (request) => {
    if (!request.url().endsWith('/favicon.ico')) requests.push(`${request.method()} ${request.url()}`);
  });
  return { context, page, errors, requests };
}

/** The cookies of a context by name, for the given URL. */
export async function cookiesOf(context: BrowserContext, url: string) {
  return Object.fromEntries((await context.cookies(url)).map((cookie) => [cookie.name, cookie]));
}

/** Values of the named inputs, in document order (`name` may be a CSS selector). */
export function valuesOf(page: Page, selector: string): Promise<string[]> {
  return page.$$eval(selector, (inputs) => inputs.map((input) => (input as HTMLInputElement).value));
}

declare global {
  interface Window {
    /** The snippet's API, as the fixture pages see it. */
    closeloop: import('../src/options.ts').CloseloopApi;
    /** UET's command queue (consent mode), as the fixture pages use it. */
    uetq: { push(...args: unknown[]): unknown };
  }
}

/** One browser and one fixture server per test file: started before its tests, closed after them. */
export function useBrowserAndServer(): { browser: Browser; server: FixtureServer } {
  const env = {} as { browser: Browser; server: FixtureServer };
  beforeAll(async () => {
    [env.browser, env.server] = await Promise.all([launchChromium(), startFixtureServer()]);
  });
  afterAll(async () => {
    await env.browser?.close();
    await env.server?.close();
  });
  return env;
}
