import type { Hono } from 'hono';
import type { Account } from '../../db/schema/index.ts';
import type { AddressPolicy } from '../../ingest/sources/address-policy.ts';
import type { Logger } from '../../log.ts';
import type { MsadsClient } from '../../msads/client.ts';
import type { Secrets } from '../../secrets.ts';
import type { DealSourceFactory } from '../../services/connectors.ts';
import type { ServiceContext } from '../../services/context.ts';
import type { ScheduleDeps } from '../../services/schedules.ts';
import type { NavEntry } from './layout.ts';
import { accountsPage } from './pages/accounts.ts';
import { callTrackingPage } from './pages/call-tracking.ts';
import { connectorsPage } from './pages/connectors.ts';
import { conversionsPage } from './pages/conversions.ts';
import { goalsPage } from './pages/goals.ts';
import { overviewPage } from './pages/overview.ts';
import { schedulesPage } from './pages/schedules.ts';
import { submissionsPage } from './pages/submissions.ts';
import { uploadsPage } from './pages/uploads.ts';
import type { DashboardEnv } from './session.ts';

export interface PageDeps {
  ctx: ServiceContext;
  target: 'emulator' | 'microsoft';
  maxUploadBytes: number;
  log: Logger;
  /** Asks Microsoft (or the emulator) for its own figures on the overview; absent: the overview says so. */
  clientFor?: ((account: Account) => MsadsClient) | undefined;
  /** CRM connectors' secrets ("Sync now"); absent: the page lists them but cannot sync. */
  crm?: { secrets: Secrets; policy: AddressPolicy; sources?: DealSourceFactory } | undefined;
  /** Scheduled imports' secrets and limits ("Run now"); absent: the page lists them but cannot run one. */
  schedules?: ScheduleDeps | undefined;
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
  connectorsPage,
  callTrackingPage,
  schedulesPage,
];
