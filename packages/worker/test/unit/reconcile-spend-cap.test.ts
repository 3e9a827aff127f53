/** The pure reconciler and spend rules while the spend cap is reached: nothing new starts, working polecats are paused, the period's end wakes it. */
import { describe, expect, it } from 'vitest';
import { nextWakeAt, reconcile, type ReconcileSettings } from '../../src/town/reconciler/reconcile';
import type { Action, ReconcileAgent, ReconcileBead, ReconcileState } from '../../src/town/reconciler/types';
import { cappedAt, cappedMayorAnswer, nextSpendPeriodStart, spendStatusOf, spendWarning } from '../../src/town/spend-rules';
import { createTownSettings } from '../../src/town/town-settings';
import { reconcileFixtures } from '../support/reconcile-fixtures';

const T = Date.UTC(2030, 2, 4, 15, 0, 0);
const S = 1000;
const DAY_END = Date.UTC(2030, 2, 5);
const settings: ReconcileSettings = createTownSettings({ heartbeatIntervalMs: 30 * S, maxPolecats: 2 });

const { agent, bead } = reconcileFixtures({ now: T, agent: { gen: 2, dispatchedAt: T - 60 * S, lastHeartbeatAt: T - 5 * S, credentialsLive: true } });

const capped = (o: Partial<ReconcileState>): ReconcileState => ({
  agents: [],
  beads: [],
  providerConfigured: true,
  latestInstanceId: 'ci_one',
  spendCapped: true,
  spendCapResetAt: DAY_END,
  ...o,
});

const working = agent({ id: 'ag_work', beadId: 'bd_work' });
const workingBead = bead({ id: 'bd_work', status: 'in_progress', assigneeId: 'ag_work' });
const paused = agent({ id: 'ag_paused', status: 'exited', beadId: 'bd_paused', credentialsLive: false });
const pausedBead = bead({ id: 'bd_paused', status: 'in_progress', assigneeId: 'ag_paused', drainedBy: 'ag_paused' });
const openBead = bead({ id: 'bd_open' });
const mr = bead({ id: 'bd_mr', type: 'merge_request', polecatId: 'ag_gone' });

describe('reconcile while the spend cap is reached', () => {
  const cases: { name: string; state: ReconcileState; expected: Action[] }[] = [
    { name: 'an open bead: no polecat is dispatched', state: capped({ beads: [openBead] }), expected: [] },
    {
      name: 'a working polecat: asked to stop after its turn',
      state: capped({ agents: [working], beads: [workingBead] }),
      expected: [{ type: 'pause_for_spend_cap', agentId: 'ag_work', beadId: 'bd_work' }],
    },
    {
      name: 'a polecat already asked (this run): not asked again',
      state: capped({ agents: [working], beads: [{ ...workingBead, pausedGen: 2 }] }),
      expected: [],
    },
    {
      name: 'a polecat asked in an earlier run: asked again',
      state: capped({ agents: [working], beads: [{ ...workingBead, pausedGen: 1 }] }),
      expected: [{ type: 'pause_for_spend_cap', agentId: 'ag_work', beadId: 'bd_work' }],
    },
    {
      name: 'a request that failed: not before its retry time',
      state: capped({ agents: [working], beads: [{ ...workingBead, pauseRetryAt: T + S }] }),
      expected: [],
    },
    {
      name: 'a paused (stopped) polecat keeps its bead: not re-dispatched, not released',
      state: capped({ agents: [paused], beads: [pausedBead] }),
      expected: [],
    },
    { name: 'a merge request waiting for review: no refinery is started', state: capped({ beads: [mr] }), expected: [] },
    {
      name: 'a lost polecat: not started again',
      state: capped({ agents: [{ ...working, lastHeartbeatAt: T - 600 * S, dispatchedAt: T - 900 * S }], beads: [workingBead] }),
      expected: [{ type: 'agent_lost', agentId: 'ag_work', reason: 'missed_heartbeats', redispatch: false }],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(reconcile(c.state, T, settings)).toEqual(c.expected);
    });
  }

  it('not capped: the same states dispatch, re-dispatch and review as before', () => {
    const free = (o: Partial<ReconcileState>) => ({ ...capped(o), spendCapped: false, spendCapResetAt: null });
    expect(reconcile(free({ beads: [openBead] }), T, settings)).toEqual([{ type: 'dispatch_polecat', beadId: 'bd_open', rigId: 'rig_aaaaaa' }]);
    expect(reconcile(free({ agents: [paused], beads: [pausedBead] }), T, settings)).toEqual([
      { type: 'redispatch_drained', beadId: 'bd_paused', agentId: 'ag_paused' },
    ]);
    expect(reconcile(free({ agents: [working], beads: [workingBead] }), T, settings)).toEqual([]);
    expect(reconcile(free({ beads: [mr] }), T, settings).map((a) => a.type)).toEqual(['review_merge_request']);
  });

  it('wakes at the end of the period, not for the held-back work; at once for a polecat to pause', () => {
    expect(nextWakeAt(capped({ agents: [paused], beads: [openBead, pausedBead, mr] }), T, settings)).toBe(DAY_END);
    expect(nextWakeAt(capped({ agents: [working], beads: [workingBead] }), T, settings)).toBe(T);
    expect(nextWakeAt(capped({ agents: [working], beads: [{ ...workingBead, pauseRetryAt: T + 30 * S }] }), T, settings)).toBe(T + 30 * S);
  });
});

describe('spend rules', () => {
  const cap = { period: 'day' as const, limitUsd: 5 };

  it('states by share of the cap: ok below 80 %, warning from 80 %, capped from 100 %', () => {
    expect(spendStatusOf(cap, T, 3_999_999).state).toBe('ok');
    expect(spendStatusOf(cap, T, 4_000_000).state).toBe('warning');
    expect(spendStatusOf(cap, T, 5_000_000)).toEqual({ cap, periodStart: Date.UTC(2030, 2, 4), spentMicros: 5_000_000, spentUsd: 5, state: 'capped' });
  });

  it('periods end at the next UTC day or month', () => {
    expect(nextSpendPeriodStart('day', T)).toBe(DAY_END);
    expect(nextSpendPeriodStart('month', T)).toBe(Date.UTC(2030, 3, 1));
    expect(nextSpendPeriodStart('month', Date.UTC(2030, 11, 31, 23))).toBe(Date.UTC(2031, 0, 1));
  });

  it('capped only in the period it was recorded in', () => {
    const recorded = String(Date.UTC(2030, 2, 4));
    expect(cappedAt(cap, recorded, T)).toBe(true);
    expect(cappedAt(cap, recorded, DAY_END)).toBe(false);
    expect(cappedAt(cap, null, T)).toBe(false);
    expect(cappedAt(null, recorded, T)).toBe(false);
  });

  it('tells the humans the cap, the spend and how to raise it', () => {
    const status = spendStatusOf(cap, T, 5_120_000);
    expect(cappedMayorAnswer(status)).toBe(
      "The town's spend cap ($5.00 per day) is reached: $5.12 spent since 2030-03-04 (UTC). Raise it in the town settings (or `gastown config set spendCap.limitUsd …`) to continue.",
    );
    expect(spendWarning(spendStatusOf(cap, T, 4_100_000)).title).toBe("Spend at 82 % of the town's cap ($5.00 per day)");
  });
});
