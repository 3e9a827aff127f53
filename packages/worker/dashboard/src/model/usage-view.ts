import type { SpendStatus, UsageRow, UsageTotals } from '@gastown/protocol';
import { formatUsd } from '@gastown/protocol/model-prices';

/** Days shown in the per-day chart (the most recent ones). */
export const CHART_DAYS = 30;
/** Beads listed under "Top beads by cost". */
export const TOP_BEADS = 10;

/** `1234567` → `1,234,567` (the same in every locale, so tests and screenshots agree). */
export function formatCount(n: number): string {
  return String(Math.trunc(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Every token a call moved: input, output, cache reads and writes. */
export function totalTokens(t: Pick<UsageTotals, 'inputTokens' | 'outputTokens' | 'cacheReadTokens' | 'cacheWriteTokens'>): number {
  return t.inputTokens + t.outputTokens + t.cacheReadTokens + t.cacheWriteTokens;
}

/** A cost, with `*` when some of the calls were of a model without a price. */
export function costText(t: Pick<UsageTotals, 'costMicros' | 'unpricedCalls'>): string {
  return `${formatUsd(t.costMicros)}${t.unpricedCalls > 0 ? '*' : ''}`;
}

export interface SpendView {
  /** `$4.10 of $5.00 per day (82 %)`. */
  text: string;
  state: SpendStatus['state'];
  tone: 'ok' | 'warn' | 'bad';
  percent: number;
}

/** Where the town stands against its cap; the percentage rounds down (99.6 % is not the cap). */
export function spendView(spend: SpendStatus): SpendView {
  const limitMicros = Math.round(spend.cap.limitUsd * 1_000_000);
  const percent = limitMicros > 0 ? Math.floor((spend.spentMicros * 100) / limitMicros) : 0;
  return {
    text: `${formatUsd(spend.spentMicros)} of ${formatUsd(limitMicros)} per ${spend.cap.period} (${percent} %)`,
    state: spend.state,
    tone: spend.state === 'capped' ? 'bad' : spend.state === 'warning' ? 'warn' : 'ok',
    percent,
  };
}

export interface Bar {
  /** The day, `YYYY-MM-DD`. */
  label: string;
  value: number;
  /** The tooltip. */
  title: string;
}

/** The per-day rows (`by=day`) as chart bars of tokens or cost, oldest first, the last CHART_DAYS days. */
export function dayBars(rows: readonly UsageRow[], metric: 'tokens' | 'cost'): Bar[] {
  return [...rows]
    .sort((a, b) => a.key.localeCompare(b.key))
    .slice(-CHART_DAYS)
    .map((r) => {
      const tokens = totalTokens(r);
      return {
        label: r.key,
        value: metric === 'tokens' ? tokens : r.costMicros,
        title: `${r.key}: ${formatCount(r.calls)} calls · ${formatCount(tokens)} tokens · ${costText(r)}`,
      };
    });
}

/** The costliest beads (`by=bead` rows; calls with no bead — the mayor's — left out). */
export function topBeads(rows: readonly UsageRow[], n = TOP_BEADS): UsageRow[] {
  return rows
    .filter((r) => r.key !== 'none')
    .sort((a, b) => b.costMicros - a.costMicros || b.calls - a.calls)
    .slice(0, n);
}

/** Each bead's usage, for the cost on its card (beads without calls have none). */
export function beadCosts(rows: readonly UsageRow[]): Map<string, UsageRow> {
  return new Map(rows.filter((r) => r.key !== 'none' && r.calls > 0).map((r) => [r.key, r]));
}
