/**
 * The pure reconciler in Node: `reconcile` (state → actions) and `nextWakeAt` (when to look
 * again), the two pure calls of every alarm tick, on steady-state towns of each shape.
 */
import { nextWakeAt, reconcile } from '../../packages/worker/src/town/reconciler/reconcile';
import type { ReconcileAgent, ReconcileBead, ReconcileState } from '../../packages/worker/src/town/reconciler/types';
import { createTownSettings } from '../../packages/worker/src/town/town-settings';
import { median } from '../lib/stats';
import { shapeOf, type Scenario } from './scenarios';

const NOW = Date.UTC(2026, 0, 5, 9, 0, 0);

export function buildState(scenario: Scenario, agents: number): ReconcileState {
  const shape = shapeOf(scenario, agents);
  const list: ReconcileAgent[] = [];
  const beads: ReconcileBead[] = [];
  const add = (i: number, status: ReconcileAgent['status'], live: boolean) => {
    const id = `ag_${i.toString(36).padStart(8, '0')}`;
    const beadId = live ? `bd_${i.toString(36).padStart(8, '0')}` : null;
    list.push({
      id,
      role: 'polecat',
      rigId: 'rig_bench0001',
      status,
      gen: live ? 1 : 0,
      beadId,
      updatedAt: NOW - 5_000,
      dispatchedAt: live ? NOW - 600_000 : null,
      lastHeartbeatAt: live ? NOW - 5_000 : null,
      containerInstanceId: live ? 'ci_bench0001' : null,
      tokenIssuedAt: live ? NOW - 600_000 : null,
      tokenExpiresAt: live ? NOW + 3_000_000 : null,
      lastRefreshAt: null,
      busy: false,
      // a live agent holds its credential family; idle rows' were revoked when their runs ended
      credentialsLive: live,
    });
    if (beadId) {
      beads.push({
        id: beadId,
        type: 'issue',
        status: 'in_progress',
        rigId: 'rig_bench0001',
        assigneeId: id,
        attempts: 1,
        createdAt: NOW - 700_000 + i,
        retryAt: null,
        reviewGen: null,
        reviewAttempts: 0,
        polecatId: null,
        drainedBy: null,
      });
    }
  };
  let i = 0;
  for (let k = 0; k < shape.working; k += 1) add(i++, 'working', true);
  for (let k = 0; k < shape.waiting; k += 1) add(i++, 'waiting', true);
  for (let k = 0; k < shape.idle; k += 1) add(i++, 'idle', false);
  return { agents: list, beads, providerConfigured: true, latestInstanceId: 'ci_bench0001' };
}

export interface NodeTickResult {
  scenario: Scenario;
  agents: number;
  beads: number;
  /** reconcile + nextWakeAt, one tick. */
  usPerTick: number;
  usReconcile: number;
  usNextWakeAt: number;
  actions: string[];
}

function timeLoop(fn: () => unknown, minMs: number): number {
  let iterations = 1;
  for (;;) {
    const t0 = performance.now();
    for (let k = 0; k < iterations; k += 1) fn();
    const elapsed = performance.now() - t0;
    if (elapsed >= minMs) return (elapsed * 1000) / iterations;
    iterations *= elapsed < minMs / 10 ? 10 : 2;
  }
}

export function benchNodeReconcile(scenario: Scenario, agents: number, options: { rounds: number; minMsPerRound: number }): NodeTickResult {
  const state = buildState(scenario, agents);
  const settings = createTownSettings();
  const actions = reconcile(state, NOW, settings).map((a) => a.type);
  const tick = () => {
    reconcile(state, NOW, settings);
    return nextWakeAt(state, NOW, settings);
  };
  for (let w = 0; w < 3; w += 1) timeLoop(tick, options.minMsPerRound / 2); // warm-up / JIT
  const total: number[] = [];
  const rec: number[] = [];
  const next: number[] = [];
  for (let r = 0; r < options.rounds; r += 1) {
    total.push(timeLoop(tick, options.minMsPerRound));
    rec.push(timeLoop(() => reconcile(state, NOW, settings), options.minMsPerRound / 2));
    next.push(timeLoop(() => nextWakeAt(state, NOW, settings), options.minMsPerRound / 2));
  }
  return { scenario, agents, beads: state.beads.length, usPerTick: median(total), usReconcile: median(rec), usNextWakeAt: median(next), actions };
}
