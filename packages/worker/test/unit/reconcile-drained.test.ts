/** The pure reconciler on drained polecats: re-dispatched at once, never released, counted against capacity. */
import { describe, expect, it } from 'vitest';
import { beadAfterCompletion } from '../../src/town/bead-rules';
import { nextWakeAt, reconcile, type ReconcileSettings } from '../../src/town/reconciler/reconcile';
import type { Action, ReconcileAgent, ReconcileBead, ReconcileState } from '../../src/town/reconciler/types';
import { createTownSettings } from '../../src/town/town-settings';
import { reconcileFixtures } from '../support/reconcile-fixtures';

const T = 1_900_000_000_000;
const S = 1000;
const settings: ReconcileSettings = createTownSettings({ heartbeatIntervalMs: 30 * S, maxPolecats: 2 });

const { agent, bead } = reconcileFixtures({ now: T, agent: { status: 'exited', gen: 2 }, bead: { status: 'in_progress' } });

const state = (o: Partial<ReconcileState>): ReconcileState => ({ agents: [], beads: [], providerConfigured: true, latestInstanceId: 'ci_one', ...o });
const drained = (agentId: string, beadId: string) => ({
  agent: agent({ id: agentId, beadId }),
  bead: bead({ id: beadId, assigneeId: agentId, drainedBy: agentId }),
});

describe('reconcile: drained polecats', () => {
  const p1 = drained('ag_p1', 'bd_one');
  const cases: { name: string; state: ReconcileState; expected: Action[] }[] = [
    {
      name: 'drained just now: re-dispatched at once (no heartbeat-interval wait, no release)',
      state: state({ agents: [p1.agent], beads: [p1.bead] }),
      expected: [{ type: 'redispatch_drained', beadId: 'bd_one', agentId: 'ag_p1' }],
    },
    {
      name: 'the same bead without the mark, a heartbeat interval later: released (an attempt spent)',
      state: state({ agents: [{ ...p1.agent, updatedAt: T - 30 * S }], beads: [{ ...p1.bead, drainedBy: null }] }),
      expected: [{ type: 'release_bead', beadId: 'bd_one', agentId: 'ag_p1' }],
    },
    {
      name: 'marked for another polecat: not this one’s to resume',
      state: state({ agents: [p1.agent], beads: [{ ...p1.bead, drainedBy: 'ag_other' }] }),
      expected: [],
    },
    {
      name: 'stopped since: never re-dispatched',
      state: state({ agents: [{ ...p1.agent, status: 'stopped' }], beads: [p1.bead] }),
      expected: [],
    },
    {
      name: 'a start in flight: left alone',
      state: state({ agents: [{ ...p1.agent, busy: true }], beads: [p1.bead] }),
      expected: [],
    },
    {
      name: 'capacity: a drained re-dispatch takes a polecat slot (max 2: one running, one drained → no new dispatch)',
      state: state({
        agents: [p1.agent, agent({ id: 'ag_run', status: 'working', beadId: 'bd_run' })],
        beads: [p1.bead, bead({ id: 'bd_run', assigneeId: 'ag_run' }), bead({ id: 'bd_new', status: 'open' })],
      }),
      expected: [{ type: 'redispatch_drained', beadId: 'bd_one', agentId: 'ag_p1' }],
    },
    {
      name: 'its re-dispatch was refused by the draining container (agent failed, bead paused): not before retryAt',
      state: state({ agents: [{ ...p1.agent, status: 'failed' }], beads: [{ ...p1.bead, retryAt: T + 4 * S }] }),
      expected: [],
    },
    {
      name: 'its re-dispatch was refused, the pause is over: re-dispatched again',
      state: state({ agents: [{ ...p1.agent, status: 'failed' }], beads: [{ ...p1.bead, retryAt: T - 1 }] }),
      expected: [{ type: 'redispatch_drained', beadId: 'bd_one', agentId: 'ag_p1' }],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(reconcile(c.state, T, settings)).toEqual(c.expected);
    });
  }

  it('the next look is due now', () => {
    expect(nextWakeAt(state({ agents: [p1.agent], beads: [p1.bead] }), T, settings)).toBe(T);
    expect(nextWakeAt(state({ agents: [{ ...p1.agent, status: 'failed' }], beads: [{ ...p1.bead, retryAt: T + 4 * S }] }), T, settings)).toBe(T + 4 * S);
    expect(nextWakeAt(state({ agents: [p1.agent], beads: [{ ...p1.bead, drainedBy: null }] }), T, settings)).toBe(T + 30 * S);
  });
});

describe('beadAfterCompletion: drained', () => {
  const base = {
    id: 'bd_one',
    townId: 'town_a',
    rigId: 'rig_a',
    type: 'issue',
    title: 't',
    body: '',
    assigneeId: 'ag_p1',
    metadata: {},
    attempts: 1,
    createdAt: T,
    updatedAt: T,
  } as const;
  it.each(['in_progress', 'in_review', 'open'] as const)('a %s bead is left as it is', (status) => {
    expect(beadAfterCompletion({ ...base, status } as never, 'drained')).toBeNull();
  });
});
