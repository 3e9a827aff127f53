import { spendPeriodStart, type SpendStatus } from '@gastown/protocol';
import { cappedAt, nextSpendPeriodStart, spendStatusOf, spendWarning } from '../spend-rules';
import type { TownContext } from './context';
import type { WorkService } from './work-service';

/** Why a capped town may work again (event data of `spend.resumed`). */
export type SpendResumeReason = 'cap_removed' | 'new_period' | 'cap_raised';

/**
 * The town's spend cap. Where the town stands is the SUM of the priced calls received in the
 * current UTC day or month (`status`); `evaluate` records the changes of that standing, after new
 * usage, a config update and at every reconciler pass:
 * - from 80 %: one escalation per period (town state `spendWarnedPeriodStart`);
 * - from 100 %: capped — town state `spendCappedPeriodStart` and a `spend.capped` event. The
 *   reconciler then dispatches nothing new and asks each working polecat to stop after its turn;
 * - capped no more (cap raised or removed, a new period): the state goes, a `spend.resumed` event.
 * `capped(now)` answers from the recorded state without a SUM (the reconciler's every pass).
 */
export class SpendCapService {
  constructor(
    private readonly ctx: TownContext,
    private readonly work: WorkService,
  ) {}

  /** Where the town stands now (null: no cap). */
  status(now = this.ctx.clock.now()): SpendStatus | null {
    const cap = this.ctx.repos.town.get()?.config.spendCap ?? null;
    if (!cap) return null;
    return spendStatusOf(cap, now, this.ctx.repos.usage.spentSince(spendPeriodStart(cap.period, now)));
  }

  /** Capped at `now`, by the recorded state (see spend-rules `cappedAt`). */
  capped(now = this.ctx.clock.now()): boolean {
    const cap = this.ctx.repos.town.get()?.config.spendCap ?? null;
    return cappedAt(cap, this.ctx.repos.townState.get('spendCappedPeriodStart'), now);
  }

  /** When a capped town's period ends (the reconciler looks again then); null when not capped. */
  resetAt(now = this.ctx.clock.now()): number | null {
    const cap = this.ctx.repos.town.get()?.config.spendCap ?? null;
    return cap && this.capped(now) ? nextSpendPeriodStart(cap.period, now) : null;
  }

  /** Record where the town stands now (warning, capped, resumed); returns it. Idempotent. */
  evaluate(now = this.ctx.clock.now()): SpendStatus | null {
    const { repos } = this.ctx;
    const status = this.status(now);
    return this.ctx.transaction(() => {
      const cappedIn = repos.townState.get('spendCappedPeriodStart');
      if (status?.state === 'capped') {
        if (cappedIn !== String(status.periodStart)) {
          repos.townState.set('spendCappedPeriodStart', String(status.periodStart));
          this.ctx.event({ type: 'spend.capped', data: eventData(status) });
        }
      } else if (cappedIn !== null) {
        repos.townState.delete('spendCappedPeriodStart');
        const reason: SpendResumeReason = status === null ? 'cap_removed' : cappedIn !== String(status.periodStart) ? 'new_period' : 'cap_raised';
        this.ctx.event({ type: 'spend.resumed', data: { reason, ...(status ? eventData(status) : {}) } });
      }
      if (status && status.state !== 'ok' && repos.townState.get('spendWarnedPeriodStart') !== String(status.periodStart)) {
        repos.townState.set('spendWarnedPeriodStart', String(status.periodStart));
        this.work.escalateAsTown({ rigId: null, ...spendWarning(status), severity: 'medium', relatedBeadId: null });
      }
      return status;
    });
  }
}

function eventData(status: SpendStatus): Record<string, unknown> {
  return { period: status.cap.period, limitUsd: status.cap.limitUsd, periodStart: status.periodStart, spentMicros: status.spentMicros };
}
