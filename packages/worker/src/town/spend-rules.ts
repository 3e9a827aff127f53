/**
 * The spend cap's decisions, pure: where a town stands against its cap, when its period ends,
 * and what the humans are told. Time comes in as `now`; the spend as micro-dollars.
 */
import { formatUsd, spendPeriodStart, type SpendCap, type SpendStatus } from '@gastown/protocol';

/** From this share of the cap on: `warning` (one escalation per period). */
export const SPEND_WARNING_FRACTION = 0.8;

/** Bead metadata of a polecat asked to stop after its turn because the cap is reached: why, and for which run (gen). */
export const PAUSED_BY_KEY = 'pausedBy';
export const PAUSED_GEN_KEY = 'pausedGen';
export const SPEND_CAP_PAUSE = 'spend_cap';
/** Bead metadata: the stop request of the pause did not reach the container; asked again from this time (ms). */
export const PAUSE_RETRY_AT_KEY = 'pauseRetryAt';

/** Where the town stands in the period containing `now`. */
export function spendStatusOf(cap: SpendCap, now: number, spentMicros: number): SpendStatus {
  const periodStart = spendPeriodStart(cap.period, now);
  const limitMicros = Math.round(cap.limitUsd * 1_000_000);
  const state = spentMicros >= limitMicros ? 'capped' : spentMicros >= limitMicros * SPEND_WARNING_FRACTION ? 'warning' : 'ok';
  return { cap, periodStart, spentMicros, spentUsd: spentMicros / 1_000_000, state };
}

/** Start of the period after the one containing `now` (UTC). */
export function nextSpendPeriodStart(period: SpendCap['period'], now: number): number {
  const d = new Date(spendPeriodStart(period, now));
  return period === 'day' ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1) : Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/**
 * Whether the town is capped at `now`, from the recorded state alone (no SUM): the period it was
 * capped in (town state) is still the current one. A new period starts uncapped — its first priced
 * call records the state again if it is over.
 */
export function cappedAt(cap: SpendCap | null, cappedPeriodStart: string | null, now: number): boolean {
  return cap !== null && cappedPeriodStart !== null && cappedPeriodStart === String(spendPeriodStart(cap.period, now));
}

/** `$5.00 per day` */
export function describeCap(cap: SpendCap): string {
  return `${formatUsd(Math.round(cap.limitUsd * 1_000_000))} per ${cap.period}`;
}

/** `2026-03-04 (UTC)` */
export function describePeriodStart(periodStart: number): string {
  return `${new Date(periodStart).toISOString().slice(0, 10)} (UTC)`;
}

/** What the control plane answers in the mayor's place while the town is capped. */
export function cappedMayorAnswer(status: SpendStatus): string {
  return (
    `The town's spend cap (${describeCap(status.cap)}) is reached: ${formatUsd(status.spentMicros)} spent since ${describePeriodStart(status.periodStart)}. ` +
    'Raise it in the town settings (or `gastown config set spendCap.limitUsd …`) to continue.'
  );
}

/** The one escalation of a period in which the spend passed 80 % of the cap. */
export function spendWarning(status: SpendStatus): { title: string; body: string } {
  const percent = Math.floor((status.spentMicros / (status.cap.limitUsd * 1_000_000)) * 100);
  return {
    title: `Spend at ${percent} % of the town's cap (${describeCap(status.cap)})`.slice(0, 200),
    body:
      `${formatUsd(status.spentMicros)} spent since ${describePeriodStart(status.periodStart)} of a cap of ${describeCap(status.cap)}. ` +
      `At 100 % no new work is dispatched and working polecats stop after their current model call, until the next ${status.cap.period} ` +
      'or until the cap is raised in the town settings (or `gastown config set spendCap.limitUsd …`).',
  };
}
