/**
 * The `gastown usage` table: one row per group (day, bead, role, model, rig or agent) with its
 * calls, token counts and cost, a totals line, and where the town stands against its spend cap.
 * Pure: a UsageResponse in, cells and lines out.
 */
import { formatUsd, type SpendStatus, type UsageGroup, type UsageResponse, type UsageTotals } from '@gastown/protocol';
import type { Colour } from '../output/colour';
import type { Cell, Column } from '../output/table';

const KEY_HEADER: Record<UsageGroup, string> = { bead: 'BEAD', role: 'ROLE', model: 'MODEL', day: 'DAY', rig: 'RIG', agent: 'AGENT' };
const MAX_LABEL = 48;

/** `1234567` → `1,234,567` (the same on every machine). */
export function formatCount(n: number): string {
  return String(Math.trunc(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A cost, with `*` when some of its calls were of a model without a price. */
export function costText(totals: Pick<UsageTotals, 'costMicros' | 'unpricedCalls'>): string {
  return `${formatUsd(totals.costMicros)}${totals.unpricedCalls > 0 ? '*' : ''}`;
}

export function usageColumns(by: UsageGroup): Column[] {
  return [
    { header: KEY_HEADER[by] },
    { header: 'LABEL' },
    { header: 'CALLS', align: 'right' },
    { header: 'INPUT', align: 'right' },
    { header: 'OUTPUT', align: 'right' },
    { header: 'CACHE READ', align: 'right' },
    { header: 'CACHE WRITE', align: 'right' },
    { header: 'COST', align: 'right' },
  ];
}

export function usageRows(usage: UsageResponse): Cell[][] {
  return usage.rows.map((r) => [
    r.key,
    r.label === null ? '-' : r.label.length > MAX_LABEL ? `${r.label.slice(0, MAX_LABEL - 1)}…` : r.label,
    r.errors > 0 ? { text: `${formatCount(r.calls)} (${formatCount(r.errors)} failed)`, colour: 'yellow' } : formatCount(r.calls),
    formatCount(r.inputTokens),
    formatCount(r.outputTokens),
    formatCount(r.cacheReadTokens),
    formatCount(r.cacheWriteTokens),
    costText(r),
  ]);
}

/** `total: 12 calls · 1,234 input · 567 output · 89 cache read · 0 cache write · $0.0123`. */
export function totalsLine(t: UsageTotals): string {
  const calls = `${formatCount(t.calls)} call${t.calls === 1 ? '' : 's'}${t.errors > 0 ? ` (${formatCount(t.errors)} failed)` : ''}`;
  return `total: ${calls} · ${formatCount(t.inputTokens)} input · ${formatCount(t.outputTokens)} output · ${formatCount(t.cacheReadTokens)} cache read · ${formatCount(
    t.cacheWriteTokens,
  )} cache write · ${costText(t)}`;
}

/** Whole percent spent, rounded down (so 99.6 % is not shown as the cap). */
export function spendPercent(spend: SpendStatus): number {
  const limitMicros = Math.round(spend.cap.limitUsd * 1_000_000);
  return limitMicros > 0 ? Math.floor((spend.spentMicros * 100) / limitMicros) : 0;
}

/** `spend: $4.10 of $5.00 per day (82 %, warning)`, coloured when it needs attention. */
export function spendLine(spend: SpendStatus): { text: string; colour: Colour | null } {
  const limit = formatUsd(Math.round(spend.cap.limitUsd * 1_000_000));
  const text = `spend: ${formatUsd(spend.spentMicros)} of ${limit} per ${spend.cap.period} (${spendPercent(spend)} %, ${spend.state})`;
  return { text, colour: spend.state === 'capped' ? 'red' : spend.state === 'warning' ? 'yellow' : null };
}

export const UNPRICED_NOTE = '* some calls were of a model without a known price and cost nothing here: `gastown config set prices.<model> <in/out>`';
