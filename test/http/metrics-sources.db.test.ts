import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { createApp } from '../../src/http/app.ts';
import { createLogger } from '../../src/log.ts';
import { testClock, testContext } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { type ParsedFamily, parseExposition } from '../helpers/prometheus.ts';

const clock = testClock('2026-06-01T00:00:00Z');
const token = 'metrics-token-0123456789';
let database: Database;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.close());

/** The app with its default registry (as `closeloop serve` builds it): the sources' series included. */
async function scrape(): Promise<Map<string, ParsedFamily>> {
  const app = createApp({
    ctx: testContext(database, clock.now),
    log: createLogger('silent'),
    maxUploadBytes: 1024 * 1024,
    target: 'emulator',
    metricsToken: token,
  });
  const res = await app.request('/metrics', { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return parseExposition(await res.text());
}

const byLabels = (family: ParsedFamily | undefined, ...names: string[]) =>
  Object.fromEntries((family?.samples ?? []).map((s) => [names.map((n) => s.labels[n]).join('|'), s.value]));

async function goal(name: string): Promise<string> {
  const [row] = await database.query<{ id: string }>(
    sql`insert into goals (name) values (${name}) returning id`,
  );
  return row!.id;
}

describe('metrics of the sources: webhooks, CRM connectors, schedules', () => {
  it('are present and empty with no sources', async () => {
    const families = await scrape();
    for (const name of [
      'closeloop_webhook_events_total',
      'closeloop_webhook_events_pending',
      'closeloop_webhook_events_oldest_pending_age_seconds',
      'closeloop_connector_sync_lag_seconds',
      'closeloop_connector_failures',
      'closeloop_connector_last_run_failed',
      'closeloop_connector_last_run_count',
      'closeloop_schedule_runs_total',
      'closeloop_schedule_failures',
    ])
      expect(families.get(name)?.samples, name).toEqual([]);
    expect(families.get('closeloop_schedules_failing')!.samples[0]!.value).toBe(0);
    expect(byLabels(families.get('closeloop_metrics_collector_failed'), 'collector')).toEqual({
      ledger: 0,
      sources: 0,
    });
  });

  it('count webhook events by provider and outcome, and the pending ones with the age of the oldest', async () => {
    const goalId = await goal('Calls');
    const [ctm, invoca] = await database.query<{ id: string }>(
      sql`insert into webhook_sources (provider, name, goal_id, token_enc)
          values ('calltrackingmetrics', 'CTM', ${goalId}, 'x'), ('invoca', 'Invoca', ${goalId}, 'x') returning id`,
    );
    const event = (source: string, at: string, state: string, outcome: string | null) =>
      sql`(${source}, ${at}::timestamptz, 'POST', ${state}, ${outcome})`;
    await database.query(
      sql`insert into webhook_events (source_id, received_at, method, state, outcome) values
          ${sql.join(
            [
              event(ctm!.id, '2026-05-31T10:00:00Z', 'processed', 'conversion'),
              event(ctm!.id, '2026-05-31T10:01:00Z', 'processed', 'conversion'),
              event(ctm!.id, '2026-05-31T10:02:00Z', 'processed', 'not_qualifying'),
              event(invoca!.id, '2026-05-31T10:03:00Z', 'processed', 'rejected'),
              event(ctm!.id, '2026-05-31T23:58:00Z', 'pending', null),
              event(ctm!.id, '2026-05-31T23:59:00Z', 'pending', null),
              event(invoca!.id, '2026-05-31T23:59:30Z', 'pending', null),
            ],
            sql`, `,
          )}`,
    );
    const families = await scrape();
    const events = families.get('closeloop_webhook_events_total')!;
    expect(events.type).toBe('counter');
    expect(byLabels(events, 'provider', 'outcome')).toEqual({
      'calltrackingmetrics|conversion': 2,
      'calltrackingmetrics|not_qualifying': 1,
      'invoca|rejected': 1,
    });
    expect(byLabels(families.get('closeloop_webhook_events_pending'), 'provider')).toEqual({
      calltrackingmetrics: 2,
      invoca: 1,
    });
    expect(byLabels(families.get('closeloop_webhook_events_oldest_pending_age_seconds'), 'provider')).toEqual(
      {
        calltrackingmetrics: 120,
        invoca: 30,
      },
    );
  });

  it("give each connector's lag since its last successful sync, its failures and its last run's counts", async () => {
    const goalId = await goal('Deals');
    const [sf, hs] = await database.query<{ id: string }>(
      sql`insert into connectors (kind, name, goal_id, settings, secrets_enc, last_sync_at, failures, created_at)
          values ('salesforce', 'SF', ${goalId}, '{}', 'x', '2026-05-31T23:45:00Z', 0, '2026-05-01T00:00:00Z'),
                 ('hubspot', 'HS', ${goalId}, '{}', 'x', null, 2, '2026-05-31T22:00:00Z') returning id`,
    );
    const counts = (dealsRead: number, conversions: number) =>
      JSON.stringify({
        dealsRead,
        pages: 1,
        conversions,
        restates: 1,
        retracts: 0,
        unchanged: 3,
        skipped: { no_click_id: 2, not_won: 4 },
        rejected: { goal_paused: 1 },
        apiCalls: 2,
      });
    await database.query(
      sql`insert into connector_runs (connector_id, trigger, mode, status, counts, started_at, finished_at) values
          (${sf!.id}, 'schedule', 'backfill', 'succeeded', ${counts(5, 1)}::jsonb, '2026-05-31T23:00:00Z', '2026-05-31T23:01:00Z'),
          (${sf!.id}, 'schedule', 'incremental', 'succeeded', ${counts(12, 7)}::jsonb, '2026-05-31T23:44:00Z', '2026-05-31T23:45:00Z'),
          (${sf!.id}, 'schedule', 'incremental', 'running', ${counts(0, 0)}::jsonb, '2026-05-31T23:59:00Z', null),
          (${hs!.id}, 'api', 'backfill', 'failed', ${counts(0, 0)}::jsonb, '2026-05-31T23:30:00Z', '2026-05-31T23:30:01Z')`,
    );
    const families = await scrape();
    expect(byLabels(families.get('closeloop_connector_sync_lag_seconds'), 'connector', 'kind')).toEqual({
      'SF|salesforce': 900,
      // Never synced: counted from when it was added.
      'HS|hubspot': 7200,
    });
    expect(byLabels(families.get('closeloop_connector_failures'), 'connector')).toEqual({ SF: 0, HS: 2 });
    expect(byLabels(families.get('closeloop_connector_last_run_failed'), 'connector')).toEqual({
      SF: 0,
      HS: 1,
    });
    // The last finished run (not the one running, not the older one).
    const sfCounts = byLabels(
      {
        ...families.get('closeloop_connector_last_run_count')!,
        samples: families
          .get('closeloop_connector_last_run_count')!
          .samples.filter((s) => s.labels.connector === 'SF'),
      },
      'count',
    );
    expect(sfCounts).toEqual({
      deals_read: 12,
      conversions: 7,
      restates: 1,
      retracts: 0,
      unchanged: 3,
      skipped: 6,
      rejected: 1,
      api_calls: 2,
    });
  });

  it('count schedule runs by schedule and outcome, and the failing schedules', async () => {
    const [nightly, hourly] = await database.query<{ id: string }>(
      sql`insert into schedules (name, url, kind, spec, next_run_at, failures, paused)
          values ('nightly', 'https://example.com/a.csv', 'conversions', 'daily 02:00', '2026-06-01T02:00:00Z', 2, false),
                 ('hourly', 'https://example.com/b.csv', 'conversions', 'hourly', '2026-06-01T01:00:00Z', 0, false),
                 ('old', 'https://example.com/c.csv', 'conversions', 'hourly', '2026-06-01T01:00:00Z', 5, true)
          returning id`,
    );
    await database.query(
      sql`insert into schedule_runs (schedule_id, trigger, started_at, outcome) values
          (${nightly!.id}, 'schedule', '2026-05-29T02:00:00Z', 'imported'),
          (${nightly!.id}, 'schedule', '2026-05-30T02:00:00Z', 'failed'),
          (${nightly!.id}, 'schedule', '2026-05-31T02:00:00Z', 'failed'),
          (${hourly!.id}, 'schedule', '2026-05-31T22:00:00Z', 'unchanged'),
          (${hourly!.id}, 'manual', '2026-05-31T23:00:00Z', 'imported')`,
    );
    const families = await scrape();
    const runs = families.get('closeloop_schedule_runs_total')!;
    expect(runs.type).toBe('counter');
    expect(byLabels(runs, 'schedule', 'outcome')).toEqual({
      'nightly|imported': 1,
      'nightly|failed': 2,
      'hourly|unchanged': 1,
      'hourly|imported': 1,
    });
    expect(byLabels(families.get('closeloop_schedule_failures'), 'schedule')).toEqual({
      nightly: 2,
      hourly: 0,
      old: 5,
    });
    // A paused schedule is not counted as failing: nobody expects it to run.
    expect(families.get('closeloop_schedules_failing')!.samples[0]!.value).toBe(1);
  });
});
