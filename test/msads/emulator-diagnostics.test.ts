import { describe, expect, it } from 'vitest';
import { createMsadsClient } from '../../src/msads/client.ts';
import { createEmulator } from '../../src/msads/emulator/index.ts';
import { staticToken } from '../../src/msads/oauth.ts';
import { accountId, ago, clickId, conversion, customerId, dayMs, t0, testClock } from './emulator-helpers.ts';

/** The emulator, a goal "Deal", and the real client calling it in-process. */
function world() {
  const clock = testClock();
  const emulator = createEmulator({ now: clock.now, auth: 'open', seed: 1 });
  const goal = emulator.addGoal({
    customerId,
    accountId,
    name: 'Deal',
    createdAt: new Date(t0.getTime() - dayMs),
  });
  const other = emulator.addGoal({
    customerId,
    accountId,
    name: 'Lead',
    createdAt: new Date(t0.getTime() - dayMs),
  });
  const client = createMsadsClient({
    baseUrl: 'http://emulator',
    developerToken: 'dev',
    customerId,
    accountId,
    tokens: staticToken('token'),
    fetch: emulator.fetch,
  });
  return { clock, emulator, goal, other, client };
}

const range = { start: new Date(t0.getTime() - dayMs), end: new Date(t0.getTime() + dayMs) };

describe('GetOfflineConversionReportByGoalIds in the emulator', () => {
  it('counts per goal and day what it took, and why it could not attribute the rest', async () => {
    const { clock, emulator, goal, other, client } = world();
    emulator.addClick(clickId(1), new Date(t0.getTime() - 2 * dayMs));
    emulator.addClick(clickId(2), new Date(t0.getTime() - 2 * dayMs));
    // Day 1: two counted, one repeated key, one click Microsoft never saw, one refused (bad currency).
    const first = await client.applyOfflineConversions([
      conversion(),
      conversion({ MicrosoftClickId: clickId(2) }),
      conversion(),
      conversion({ MicrosoftClickId: clickId(99) }),
      conversion({ MicrosoftClickId: clickId(2), ConversionCurrencyCode: 'XXX', ConversionValue: 1 }),
    ]);
    expect(first.ok && first.body.PartialErrors).toHaveLength(1);
    // Day 2: one more counted.
    clock.advance(dayMs);
    await client.applyOfflineConversions([conversion({ ConversionTime: ago(dayMs / 2) })]);

    const answer = await client.getOfflineConversionReportByGoalIds({
      ...range,
      goalIds: [goal.id, other.id, '1'],
    });
    if (!answer.ok) throw new Error(answer.fault.message);
    const [deal, lead] = answer.body.OfflineGoalConversionSummaries!;
    expect(deal).toMatchObject({
      GoalId: goal.id,
      ConversionName: 'Deal',
      OverallSuccessCount: '3',
      OverallUnattributedCount: '2',
    });
    expect(deal!.OverallAlerts).toEqual(
      expect.arrayContaining([
        { UnattributedReason: 'DuplicateConversionKey', Count: '1' },
        { UnattributedReason: 'NoMatchingClickFound', Count: '1' },
      ]),
    );
    expect(deal!.DailySummaries!.map((d) => [d.UploadDate, d.SuccessCount, d.UnattributedCount])).toEqual([
      ['2026-03-01T00:00:00', 2, 2],
      ['2026-03-02T00:00:00', 1, 0],
    ]);
    expect(lead).toMatchObject({ ConversionName: 'Lead', OverallSuccessCount: '0', DailySummaries: [] });
    // An id the account cannot see: a BatchError at its index.
    expect(answer.body.PartialErrors).toEqual([expect.objectContaining({ Code: 5314, Index: 2 })]);

    // Only the days asked for.
    const dayTwo = await client.getOfflineConversionReportByGoalIds({
      start: new Date(t0.getTime() + dayMs),
      end: new Date(t0.getTime() + dayMs),
      goalIds: [goal.id],
    });
    expect(dayTwo.ok && dayTwo.body.OfflineGoalConversionSummaries![0]!.OverallSuccessCount).toBe('1');
  });

  it('GetOfflineConversionReports: the account per day, refused rows as failures', async () => {
    const { client } = world();
    await client.applyOfflineConversions([conversion(), conversion({ ConversionName: 'Nope' })]);
    const answer = await client.getOfflineConversionReports(range);
    if (!answer.ok) throw new Error(answer.fault.message);
    expect(answer.body.DailySummaries).toEqual([
      {
        UploadDate: '2026-03-01T00:00:00',
        SuccessCount: 1,
        FailureCount: 1,
        FileUrl: null,
        FileUrlExpiryTimeUtc: null,
      },
    ]);
  });

  it('refuses a request without dates, as a malformed one', async () => {
    const { emulator } = world();
    const res = await emulator.fetch(
      new Request('http://emulator/CampaignManagement/v13/OfflineConversionReport/QueryByGoalIds', {
        method: 'POST',
        headers: {
          Authorization: 'Bearer x',
          DeveloperToken: 'd',
          CustomerId: customerId,
          CustomerAccountId: accountId,
          'Content-Type': 'application/json',
        },
        body: JSON.stringify({ GoalIds: [] }),
      }),
    );
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain('StartDateUtc');
  });
});
