import type { Hono } from 'hono';
import type { ServiceContext } from '../../services/context.ts';
import type { NavEntry } from './layout.ts';
import { accountsPage } from './pages/accounts.ts';
import { conversionsPage } from './pages/conversions.ts';
import { goalsPage } from './pages/goals.ts';
import { overviewPage } from './pages/overview.ts';
import { submissionsPage } from './pages/submissions.ts';
import { uploadsPage } from './pages/uploads.ts';
import type { DashboardEnv } from './session.ts';

export interface PageDeps {
  ctx: ServiceContext;
  target: 'emulator' | 'microsoft';
  maxUploadBytes: number;
}

/** A dashboard page: its entry in the navigation and its routes (mounted under /dashboard + nav.path). */
export interface DashboardPage {
  nav: NavEntry;
  routes(deps: PageDeps): Hono<DashboardEnv>;
}

/**
 * Every page, in the navigation's order. A new page (connectors, webhook sources, schedules) is one file
 * under pages/ and one line here.
 */
export const pages: readonly DashboardPage[] = [
  overviewPage,
  uploadsPage,
  conversionsPage,
  goalsPage,
  accountsPage,
  submissionsPage,
];
