/** The usage panel's pure parts: the spend status, per-day bars, the top beads and each bead's cost. */
import type { SpendStatus, UsageRow } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { beadCosts, CHART_DAYS, costText, dayBars, formatCount, spendView, topBeads } from '../../dashboard/src/model/usage-view';

function row(key: string, over: Partial<UsageRow> = {}): UsageRow {
  return {
    key,
    label: null,
    calls: 2,
    errors: 0,
    inputTokens: 1000,
    outputTokens: 200,
    cacheReadTokens: 300,
    cacheWriteTokens: 0,
    costMicros: 5_000,
    costUsd: 0.005,
    unpricedCalls: 0,
    ...over,
  };
}

describe('usage view', () => {
  it.each([
    { name: 'ok', spent: 1_000_000, state: 'ok' as const, text: '$1.00 of $5.00 per day (20 %)', tone: 'ok' },
    { name: 'warning, rounded down', spent: 4_999_999, state: 'warning' as const, text: '$5.00 of $5.00 per day (99 %)', tone: 'warn' },
    { name: 'capped', spent: 5_000_000, state: 'capped' as const, text: '$5.00 of $5.00 per day (100 %)', tone: 'bad' },
  ])('spend: $name', ({ spent, state, text, tone }) => {
    const spend: SpendStatus = { cap: { period: 'day', limitUsd: 5 }, periodStart: 0, spentMicros: spent, spentUsd: spent / 1e6, state };
    expect(spendView(spend)).toMatchObject({ text, tone, state });
  });

  it('day bars: oldest first, the last days only, tokens or cost, a tooltip per day', () => {
    const rows = Array.from({ length: CHART_DAYS + 3 }, (_, i) => row(`2027-01-${String(i + 1).padStart(2, '0')}`, { costMicros: i }));
    const bars = dayBars([...rows].reverse(), 'cost');
    expect(bars).toHaveLength(CHART_DAYS);
    expect(bars[0]?.label).toBe('2027-01-04');
    expect(bars.at(-1)).toMatchObject({ label: `2027-01-${CHART_DAYS + 3}`, value: CHART_DAYS + 2 });
    expect(dayBars([row('2027-01-01')], 'tokens')[0]).toEqual({ label: '2027-01-01', value: 1500, title: '2027-01-01: 2 calls · 1,500 tokens · $0.0050' });
  });

  it("top beads by cost (then calls), without the mayor's bead-less calls; costs per bead", () => {
    const rows = [
      row('none', { costMicros: 9e9 }),
      row('bd_a', { costMicros: 10 }),
      row('bd_b', { costMicros: 30 }),
      row('bd_c', { costMicros: 10, calls: 5 }),
      row('bd_d', { calls: 0, costMicros: 0 }),
    ];
    expect(topBeads(rows, 3).map((r) => r.key)).toEqual(['bd_b', 'bd_c', 'bd_a']);
    expect([...beadCosts(rows).keys()]).toEqual(['bd_a', 'bd_b', 'bd_c']);
    expect(costText(row('x', { costMicros: 1_234_567, unpricedCalls: 1 }))).toBe('$1.23*');
    expect(formatCount(1234567)).toBe('1,234,567');
  });
});
