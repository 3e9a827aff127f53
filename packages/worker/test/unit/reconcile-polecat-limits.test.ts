/**
 * Polecat limits per town (config maxPolecats, else GASTOWN_MAX_POLECATS) and per rig (rig
 * maxPolecats): the reconciler respects both, and a waiting bead whose rig is full needs no wake-up.
 */
import { describe, expect, it } from 'vitest';
import { nextWakeAt, reconcile, type ReconcileSettings } from '../../src/town/reconciler/reconcile';
import type { Action, ReconcileState } from '../../src/town/reconciler/types';
import { createTownSettings } from '../../src/town/town-settings';
import { reconcileFixtures } from '../support/reconcile-fixtures';

const T = 1_900_000_000_000;
const S = 1000;
const settings: ReconcileSettings = createTownSettings({ heartbeatIntervalMs: 30 * S, maxPolecats: 4 });
const { agent, bead } = reconcileFixtures({ now: T });
const RIG_A = 'rig_aaaaaa';
const RIG_B = 'rig_bbbbbb';

function state(o: Partial<ReconcileState> = {}): ReconcileState {
  return { agents: [], beads: [], providerConfigured: true, latestInstanceId: 'ci_one', ...o };
}
const open = (id: string, rigId: string, createdAt: number) => bead({ id, rigId, createdAt });
const running = (id: string, rigId: string) => agent({ id, role: 'polecat', rigId, status: 'working', beadId: null });
const dispatched = (actions: Action[]) => actions.filter((a) => a.type === 'dispatch_polecat').map((a) => (a as { beadId: string }).beadId);

const FIVE = [open('bd_a1', RIG_A, 1), open('bd_a2', RIG_A, 2), open('bd_a3', RIG_A, 3), open('bd_b1', RIG_B, 4), open('bd_b2', RIG_B, 5)];

interface Case {
  name: string;
  state: ReconcileState;
  expected: string[];
}

const CASES: Case[] = [
  { name: "no limits of its own: the deployment's (4)", state: state({ beads: FIVE }), expected: ['bd_a1', 'bd_a2', 'bd_a3', 'bd_b1'] },
  { name: "the town's limit replaces the deployment's", state: state({ beads: FIVE, maxPolecats: 2 }), expected: ['bd_a1', 'bd_a2'] },
  {
    name: "a town limit above the deployment's is the town's",
    state: state({ beads: FIVE, maxPolecats: 10 }),
    expected: ['bd_a1', 'bd_a2', 'bd_a3', 'bd_b1', 'bd_b2'],
  },
  {
    name: "a rig's limit: its beads wait, another rig's go in their place",
    state: state({ beads: FIVE, rigMaxPolecats: { [RIG_A]: 1 } }),
    expected: ['bd_a1', 'bd_b1', 'bd_b2'],
  },
  {
    name: "a rig's running polecats count against its limit",
    state: state({ beads: FIVE, agents: [running('ag_run1', RIG_A)], rigMaxPolecats: { [RIG_A]: 1 } }),
    expected: ['bd_b1', 'bd_b2'],
  },
  {
    name: 'both limits: the smaller one wins',
    state: state({ beads: FIVE, agents: [running('ag_run1', RIG_B)], maxPolecats: 3, rigMaxPolecats: { [RIG_A]: 2, [RIG_B]: 1 } }),
    expected: ['bd_a1', 'bd_a2'],
  },
  {
    name: 'a lost polecat of the rig being re-dispatched holds its slot',
    state: state({
      beads: FIVE,
      agents: [{ ...running('ag_lost1', RIG_A), lastHeartbeatAt: T - 200 * S, dispatchedAt: T - 300 * S }],
      rigMaxPolecats: { [RIG_A]: 1 },
    }),
    expected: ['bd_b1', 'bd_b2'],
  },
];

describe('polecat limits per town and per rig', () => {
  it.each(CASES)('$name', ({ state: s, expected }) => {
    expect(dispatched(reconcile(s, T, settings))).toEqual(expected);
  });

  it('a bead whose rig is full needs no wake-up; one of a rig with room does', () => {
    const full = state({ beads: [open('bd_a1', RIG_A, 1)], agents: [running('ag_run1', RIG_A)], rigMaxPolecats: { [RIG_A]: 1 } });
    const withHeartbeat = nextWakeAt(full, T, settings);
    // only the running polecat's liveness deadline, not "now" for the bead
    expect(withHeartbeat).not.toBe(T);
    expect(nextWakeAt({ ...full, rigMaxPolecats: { [RIG_A]: 2 } }, T, settings)).toBe(T);
    expect(nextWakeAt({ ...full, rigMaxPolecats: {}, maxPolecats: 1 }, T, settings)).not.toBe(T);
  });
});
