/**
 * Bead dependencies and priority, pure: the cycle check (bead-graph.ts) and the reconciler's
 * dispatch gate and order (a bead waiting on an unclosed dependency is never dispatched, and does
 * not keep the alarm armed).
 */
import { describe, expect, it } from 'vitest';
import { dependenciesMet, dependencyCycle } from '../../src/town/bead-graph';
import { dispatchOrder, isDispatchable, nextWakeAt, reconcile, type ReconcileSettings } from '../../src/town/reconciler/reconcile';
import type { ReconcileState } from '../../src/town/reconciler/types';
import { createTownSettings } from '../../src/town/town-settings';
import { reconcileFixtures } from '../support/reconcile-fixtures';

const T = 1_900_000_000_000;
const settings: ReconcileSettings = createTownSettings({ maxPolecats: 2 });
const { bead } = reconcileFixtures({ now: T });
const state = (beads: ReconcileState['beads']): ReconcileState => ({ agents: [], beads, providerConfigured: true, latestInstanceId: null });

describe('dependencyCycle(graph, beadId, dependsOn)', () => {
  const graph = new Map<string, string[]>([
    ['b', ['c']],
    ['c', ['d']],
    ['e', ['a']],
  ]);
  it.each([
    { name: 'no dependencies', beadId: 'a', dependsOn: [], cycle: null },
    { name: 'itself', beadId: 'a', dependsOn: ['a'], cycle: ['a', 'a'] },
    { name: 'a chain without a way back', beadId: 'a', dependsOn: ['b'], cycle: null },
    { name: 'two beads on each other', beadId: 'c', dependsOn: ['b'], cycle: ['c', 'b', 'c'] },
    { name: 'three beads round', beadId: 'd', dependsOn: ['b'], cycle: ['d', 'b', 'c', 'd'] },
    { name: 'a dependent of the bead is no cycle', beadId: 'a', dependsOn: ['d'], cycle: null },
    { name: 'via a bead that depends on the bead', beadId: 'a', dependsOn: ['e'], cycle: ['a', 'e', 'a'] },
    { name: 'the bead’s old edges are replaced, not kept', beadId: 'e', dependsOn: ['b'], cycle: null },
  ])('$name', ({ beadId, dependsOn, cycle }) => {
    expect(dependencyCycle(graph, beadId, dependsOn)).toEqual(cycle);
  });

  it('a chain of 10,000 beads is walked without overflowing the stack', () => {
    const long = new Map<string, string[]>();
    for (let i = 1; i < 10_000; i++) long.set(`n${i}`, [`n${i + 1}`]);
    expect(dependencyCycle(long, 'n10000', ['n1'])).toHaveLength(10_001);
    expect(dependencyCycle(long, 'x', ['n1'])).toBeNull();
  });
});

describe('dependenciesMet', () => {
  const statuses: Record<string, 'open' | 'closed' | 'failed'> = { a: 'closed', b: 'open', c: 'failed' };
  it.each([
    { name: 'none', deps: [], met: true },
    { name: 'all closed', deps: ['a'], met: true },
    { name: 'one open', deps: ['a', 'b'], met: false },
    { name: 'a failed one still blocks', deps: ['c'], met: false },
    { name: 'one that no longer exists does not block', deps: ['gone', 'a'], met: true },
  ])('$name', ({ deps, met }) => {
    expect(dependenciesMet(deps, (id) => statuses[id])).toBe(met);
  });
});

describe('the reconciler and dependencies', () => {
  it('an open bead waiting on a dependency is not dispatched; the others are', () => {
    const s = state([bead({ id: 'bd_a' }), bead({ id: 'bd_b', waitingOn: 1 })]);
    expect(reconcile(s, T, settings)).toEqual([{ type: 'dispatch_polecat', beadId: 'bd_a', rigId: 'rig_aaaaaa' }]);
  });

  it('once its dependencies are closed (waitingOn 0) it is dispatched', () => {
    const s = state([bead({ id: 'bd_b', waitingOn: 0 })]);
    expect(reconcile(s, T, settings)).toEqual([{ type: 'dispatch_polecat', beadId: 'bd_b', rigId: 'rig_aaaaaa' }]);
  });

  it('a waiting bead takes no polecat slot from the beads behind it', () => {
    const s = state([
      bead({ id: 'bd_w1', waitingOn: 2, createdAt: T - 300 }),
      bead({ id: 'bd_w2', waitingOn: 1, createdAt: T - 200 }),
      bead({ id: 'bd_x', createdAt: T - 100 }),
    ]);
    expect(reconcile(s, T, settings).map((a) => a.type === 'dispatch_polecat' && a.beadId)).toEqual(['bd_x']);
  });

  it('a town whose only open beads wait needs no wake-up (closing the dependency re-arms)', () => {
    expect(nextWakeAt(state([bead({ id: 'bd_w', waitingOn: 1 })]), T, settings)).toBeNull();
    expect(nextWakeAt(state([bead({ id: 'bd_w', waitingOn: 0 })]), T, settings)).toBe(T);
  });

  it('a waiting bead that used up its attempts still fails', () => {
    const s = state([bead({ id: 'bd_w', waitingOn: 1, attempts: settings.maxAttempts })]);
    expect(reconcile(s, T, settings)).toEqual([{ type: 'fail_bead', beadId: 'bd_w', reason: `${settings.maxAttempts} attempts failed` }]);
  });

  it.each([
    { name: 'open, unassigned, due', o: {}, ok: true },
    { name: 'waiting on one dependency', o: { waitingOn: 1 }, ok: false },
    { name: 'in its retry backoff', o: { retryAt: T + 1 }, ok: false },
    { name: 'assigned', o: { assigneeId: 'ag_x' }, ok: false },
    { name: 'no rig', o: { rigId: null }, ok: false },
    { name: 'a merge request', o: { type: 'merge_request' as const }, ok: false },
  ])('isDispatchable: $name', ({ o, ok }) => {
    expect(isDispatchable(bead({ id: 'bd_1', ...o }), T, settings)).toBe(ok);
  });
});

describe('dispatch order: priority, then age', () => {
  it('the most urgent priority first; equal priorities oldest first; absent priority counts as 2', () => {
    const beads = [
      bead({ id: 'bd_low', priority: 4, createdAt: T - 900 }),
      bead({ id: 'bd_mid_new', priority: 2, createdAt: T - 100 }),
      bead({ id: 'bd_none_old', createdAt: T - 500 }),
      bead({ id: 'bd_urgent', priority: 0, createdAt: T - 50 }),
    ];
    expect([...beads].sort(dispatchOrder).map((b) => b.id)).toEqual(['bd_urgent', 'bd_none_old', 'bd_mid_new', 'bd_low']);
  });

  it('with two polecat slots, the two most urgent beads are dispatched', () => {
    const s = state([bead({ id: 'bd_old', priority: 3, createdAt: T - 900 }), bead({ id: 'bd_p0', priority: 0 }), bead({ id: 'bd_p1', priority: 1 })]);
    expect(reconcile(s, T, settings).map((a) => a.type === 'dispatch_polecat' && a.beadId)).toEqual(['bd_p0', 'bd_p1']);
  });
});
