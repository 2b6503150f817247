import { describe, expect, it } from 'vitest';
import type { DealRecord } from '../../connectors/deals.ts';
import { type CrmSyncFacts, type DealState, decideDeal, emptyDealState } from '../../src/domain/crm-rules.ts';

const click = 'a'.repeat(32);
const now = new Date('2026-06-10T12:00:00.400Z');
const minute = 60_000;
const day = 24 * 60 * minute;

function deal(over: Partial<DealRecord> = {}): DealRecord {
  return {
    dealId: 'D1',
    name: 'Big deal',
    won: true,
    wonAt: new Date('2026-06-01T09:30:15.750Z'),
    closeDateNoon: new Date('2026-06-01T10:00:00Z'),
    amount: '1250.5',
    currency: 'EUR',
    click: { clickId: click, rule: 'Opportunity.MSCLKID__c', capturedAt: new Date('2026-05-20T08:00:00Z') },
    deleted: false,
    mergedInto: null,
    modifiedAt: new Date(now.getTime() - 5 * minute),
    ...over,
  };
}

const facts = (over: Partial<CrmSyncFacts> = {}): CrmSyncFacts => ({
  now,
  backfill: false,
  intervalMs: 15 * minute,
  connectorCurrency: null,
  goalCurrency: 'USD',
  ...over,
});

const sentState = (over: Partial<DealState> = {}): DealState => ({
  conversionTime: new Date('2026-06-01T09:30:15Z'),
  clickId: click,
  value: '1250.5',
  currency: 'EUR',
  retracted: false,
  firstSeenWonAt: null,
  ...over,
});

describe('first won → conversion (rules A, B, D)', () => {
  it('uses the stage-history won time, truncated to the second, and the deal currency', () => {
    const d = decideDeal(deal(), null, facts());
    expect(d).toMatchObject({
      action: 'conversion',
      clickId: click,
      clickRule: 'Opportunity.MSCLKID__c',
      conversionTime: new Date('2026-06-01T09:30:15Z'),
      timeSource: 'stage_history',
      clamped: false,
      value: '1250.5',
      currency: 'EUR',
      rewon: false,
      clickTime: new Date('2026-05-20T08:00:00Z'),
    });
    expect(d.state).toMatchObject({ conversionTime: new Date('2026-06-01T09:30:15Z'), value: '1250.5' });
  });

  it('without history, an incremental sync uses the time it first saw the deal won', () => {
    const d = decideDeal(deal({ wonAt: null }), null, facts());
    expect(d).toMatchObject({
      action: 'conversion',
      timeSource: 'first_seen',
      conversionTime: new Date('2026-06-10T12:00:00Z'),
    });
  });

  it('a first-seen time stored earlier (e.g. while the amount was empty) is the one used', () => {
    const seen = new Date('2026-06-09T08:00:00Z');
    const d = decideDeal(deal({ wonAt: null }), { ...emptyDealState, firstSeenWonAt: seen }, facts());
    expect(d).toMatchObject({ action: 'conversion', conversionTime: seen, timeSource: 'first_seen' });
  });

  it('first sight is not trusted for a deal changed longer than one interval ago: close date at noon', () => {
    const d = decideDeal(deal({ wonAt: null, modifiedAt: new Date(now.getTime() - 2 * day) }), null, facts());
    expect(d).toMatchObject({
      action: 'conversion',
      timeSource: 'close_date',
      conversionTime: new Date('2026-06-01T10:00:00Z'),
    });
    expect(d.state.firstSeenWonAt).toBeNull();
  });

  it('a backfill uses the close date at noon, never the sync time', () => {
    const d = decideDeal(deal({ wonAt: null }), null, facts({ backfill: true }));
    expect(d).toMatchObject({
      action: 'conversion',
      timeSource: 'close_date',
      conversionTime: new Date('2026-06-01T10:00:00Z'),
    });
  });

  it('no history, no close date, backfill → no_won_time', () => {
    const d = decideDeal(deal({ wonAt: null, closeDateNoon: null }), null, facts({ backfill: true }));
    expect(d).toMatchObject({ action: 'skip', reason: 'no_won_time' });
  });

  it('a won time in the future is clamped to now (to the second)', () => {
    const d = decideDeal(deal({ wonAt: new Date(now.getTime() + 3 * 3600_000) }), null, facts());
    expect(d).toMatchObject({
      action: 'conversion',
      clamped: true,
      conversionTime: new Date('2026-06-10T12:00:00Z'),
    });
  });

  it('currency rule D: the deal’s own, else the connector’s, else the goal’s, else none', () => {
    const c = (over: Partial<DealRecord>, f: Partial<CrmSyncFacts>) =>
      (decideDeal(deal(over), null, facts(f)) as { currency: string | null }).currency;
    expect(c({ currency: 'gbp' }, { connectorCurrency: 'CAD' })).toBe('GBP');
    expect(c({ currency: null }, { connectorCurrency: 'CAD' })).toBe('CAD');
    expect(c({ currency: null }, {})).toBe('USD');
    expect(c({ currency: null }, { goalCurrency: null })).toBeNull();
  });

  it('an unknown currency is skipped with the reason, not sent in the wrong currency', () => {
    expect(decideDeal(deal({ currency: 'XYZ' }), null, facts())).toMatchObject({
      action: 'skip',
      reason: 'invalid_currency',
    });
  });

  it('no click ID → no_click_id; a malformed one → invalid_click_id naming the rule', () => {
    expect(decideDeal(deal({ click: null }), null, facts())).toMatchObject({
      action: 'skip',
      reason: 'no_click_id',
    });
    const bad = decideDeal(
      deal({ click: { clickId: 'not-a-click', rule: 'deal.msclkid', capturedAt: null } }),
      null,
      facts(),
    );
    expect(bad).toMatchObject({ action: 'skip', reason: 'invalid_click_id' });
    expect((bad as { message: string }).message).toContain('deal.msclkid');
  });

  it('the click ID is normalized (case) as the ledger stores it', () => {
    const d = decideDeal(
      deal({ click: { clickId: 'A'.repeat(32), rule: 'deal.msclkid', capturedAt: null } }),
      null,
      facts(),
    );
    expect(d).toMatchObject({ action: 'conversion', clickTime: null });
  });

  it('click captured more than 90 days before → click_too_old; exactly 90 days is fine', () => {
    const conv = new Date('2026-06-01T09:30:15Z');
    const old = decideDeal(
      deal({ click: { clickId: click, rule: 'r', capturedAt: new Date(conv.getTime() - 90 * day - 1000) } }),
      null,
      facts(),
    );
    expect(old).toMatchObject({ action: 'skip', reason: 'click_too_old' });
    const edge = decideDeal(
      deal({ click: { clickId: click, rule: 'r', capturedAt: new Date(conv.getTime() - 90 * day) } }),
      null,
      facts(),
    );
    expect(edge.action).toBe('conversion');
  });

  it('click captured at or after the conversion time → conversion_before_click (no invented time)', () => {
    const conv = new Date('2026-06-01T09:30:15Z');
    for (const at of [conv, new Date(conv.getTime() + day)])
      expect(
        decideDeal(deal({ click: { clickId: click, rule: 'r', capturedAt: at } }), null, facts()),
      ).toMatchObject({
        action: 'skip',
        reason: 'conversion_before_click',
      });
  });

  it('won with an empty or zero amount is flagged zero_amount, and its first-seen time is kept', () => {
    for (const amount of [null, '', '0', '0.00', '  ']) {
      const d = decideDeal(deal({ amount, wonAt: null }), null, facts());
      expect(d).toMatchObject({ action: 'skip', reason: 'zero_amount' });
      expect(d.state.firstSeenWonAt).toEqual(new Date('2026-06-10T12:00:00Z'));
      expect(d.state.conversionTime).toBeNull();
    }
  });

  it('a negative or malformed amount → invalid_amount', () => {
    for (const amount of ['-5', '12,50', '1.2345', 'abc'])
      expect(decideDeal(deal({ amount }), null, facts())).toMatchObject({
        action: 'skip',
        reason: 'invalid_amount',
      });
  });
});

describe('later changes (rule C)', () => {
  it('same amount and currency again (a redelivered or re-read deal) → unchanged', () => {
    expect(decideDeal(deal(), sentState(), facts()).action).toBe('unchanged');
    expect(decideDeal(deal({ amount: '1250.50' }), sentState(), facts()).action).toBe('unchanged');
  });

  it('amount changed while won → Restate with the stored conversion time and a later adjustment time', () => {
    const d = decideDeal(deal({ amount: '900' }), sentState(), facts());
    expect(d).toMatchObject({
      action: 'restate',
      conversionTime: new Date('2026-06-01T09:30:15Z'),
      adjustmentTime: new Date('2026-06-10T12:00:00Z'),
      value: '900',
      currency: 'EUR',
    });
    expect(d.state).toMatchObject({ value: '900', conversionTime: new Date('2026-06-01T09:30:15Z') });
  });

  it('currency changed while won → Restate carrying the new currency', () => {
    expect(decideDeal(deal({ currency: 'USD' }), sentState(), facts())).toMatchObject({
      action: 'restate',
      currency: 'USD',
      value: '1250.5',
    });
  });

  it('a won→won stage move or close-date edit never changes the conversion time', () => {
    const d = decideDeal(
      deal({ wonAt: new Date('2026-06-08T00:00:00Z'), closeDateNoon: new Date('2026-06-08T10:00:00Z') }),
      sentState(),
      facts(),
    );
    expect(d.action).toBe('unchanged');
    expect(d.state.conversionTime).toEqual(new Date('2026-06-01T09:30:15Z'));
  });

  it('amount to 0 or empty while won → flagged, never restated to 0', () => {
    for (const amount of ['0', null]) {
      const d = decideDeal(deal({ amount }), sentState(), facts());
      expect(d).toMatchObject({ action: 'skip', reason: 'zero_amount' });
      expect(d.state.value).toBe('1250.5');
    }
  });

  it('won → lost/open, deleted, merged → Retract', () => {
    expect(decideDeal(deal({ won: false }), sentState(), facts())).toMatchObject({
      action: 'retract',
      why: 'not_won',
    });
    expect(decideDeal(deal({ deleted: true }), sentState(), facts())).toMatchObject({
      action: 'retract',
      why: 'deleted',
    });
    const merged = decideDeal(deal({ mergedInto: 'D2' }), sentState(), facts());
    expect(merged).toMatchObject({
      action: 'retract',
      why: 'merged',
      conversionTime: new Date('2026-06-01T09:30:15Z'),
    });
    expect(merged.state).toMatchObject({ retracted: true, firstSeenWonAt: null });
  });

  it('a retracted deal seen again not won → nothing (a retraction is final)', () => {
    expect(decideDeal(deal({ won: false }), sentState({ retracted: true }), facts())).toMatchObject({
      action: 'skip',
      reason: 'not_won',
    });
    expect(decideDeal(deal({ deleted: true }), sentState({ retracted: true }), facts())).toMatchObject({
      action: 'skip',
      reason: 'deleted',
    });
  });

  it('lost or open and never sent → not_won; deleted never sent → deleted', () => {
    expect(decideDeal(deal({ won: false }), null, facts())).toMatchObject({
      action: 'skip',
      reason: 'not_won',
    });
    expect(decideDeal(deal({ deleted: true }), null, facts())).toMatchObject({
      action: 'skip',
      reason: 'deleted',
    });
  });

  it('re-won after a retraction → a new conversion at the new won time', () => {
    const d = decideDeal(
      deal({ wonAt: new Date('2026-06-09T15:00:00Z') }),
      sentState({ retracted: true }),
      facts(),
    );
    expect(d).toMatchObject({
      action: 'conversion',
      rewon: true,
      conversionTime: new Date('2026-06-09T15:00:00Z'),
    });
    expect(d.state.retracted).toBe(false);
  });

  it('re-won whose only time equals the retracted conversion’s → first seen (now), never the same identity', () => {
    const d = decideDeal(
      deal({
        wonAt: new Date('2026-06-01T09:30:15Z'),
        closeDateNoon: null,
        modifiedAt: new Date(now.getTime() - 2 * day),
      }),
      sentState({ retracted: true }),
      facts(),
    );
    expect(d).toMatchObject({ action: 'conversion', conversionTime: new Date('2026-06-10T12:00:00Z') });
  });

  it('an adjustment is never at or before its conversion time: within the same second it waits', () => {
    const conv = new Date('2026-06-10T12:00:00Z');
    const d = decideDeal(deal({ amount: '5' }), sentState({ conversionTime: conv }), facts());
    expect(d).toMatchObject({ action: 'skip', reason: 'too_soon_to_adjust' });
    expect(d.state.value).toBe('1250.5');
  });

  it('a full sequence: won → restate → retract → re-won', () => {
    let state: DealState | null = null;
    const steps: [Partial<DealRecord>, string][] = [
      [{}, 'conversion'],
      [{ amount: '2000' }, 'restate'],
      [{ amount: '2000' }, 'unchanged'],
      [{ won: false, amount: '2000' }, 'retract'],
      [{ won: false, amount: '2000' }, 'skip'],
      [{ won: true, wonAt: new Date('2026-06-09T00:00:00Z'), amount: '2100' }, 'conversion'],
    ];
    for (const [over, action] of steps) {
      const d = decideDeal(deal(over), state, facts());
      expect(d.action).toBe(action);
      state = d.state;
    }
    expect(state).toMatchObject({
      conversionTime: new Date('2026-06-09T00:00:00Z'),
      value: '2100',
      retracted: false,
    });
  });
});
