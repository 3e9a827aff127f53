/**
 * Builders of the pure reconciler's rows for the unit tests: one shape, each file's own defaults.
 * `reconcileFixtures(defaults)` returns `agent(o)` and `bead(o)` that start from the common row,
 * then the file's defaults, then the test's overrides.
 */
import type { ReconcileAgent, ReconcileBead } from '../../src/town/reconciler/types';

type AgentOverrides = Partial<ReconcileAgent> & Pick<ReconcileAgent, 'id'>;
type BeadOverrides = Partial<ReconcileBead> & Pick<ReconcileBead, 'id'>;

export interface ReconcileFixtureDefaults {
  /** The tests' "now": row times are relative to it. */
  now: number;
  agent?: Partial<ReconcileAgent>;
  bead?: Partial<ReconcileBead>;
}

export function reconcileFixtures(defaults: ReconcileFixtureDefaults): {
  agent: (o: AgentOverrides) => ReconcileAgent;
  bead: (o: BeadOverrides) => ReconcileBead;
} {
  const T = defaults.now;
  return {
    agent: (o) => ({
      role: 'polecat',
      rigId: 'rig_aaaaaa',
      status: 'working',
      gen: 1,
      beadId: null,
      updatedAt: T,
      dispatchedAt: T - 600_000,
      lastHeartbeatAt: T - 10_000,
      containerInstanceId: 'ci_one',
      tokenIssuedAt: null,
      tokenExpiresAt: null,
      lastRefreshAt: null,
      busy: false,
      credentialsLive: false,
      ...defaults.agent,
      ...o,
    }),
    bead: (o) => ({
      type: 'issue',
      status: 'open',
      rigId: 'rig_aaaaaa',
      assigneeId: null,
      attempts: 0,
      createdAt: T - 100_000,
      retryAt: null,
      reviewGen: null,
      reviewAttempts: 0,
      polecatId: null,
      drainedBy: null,
      ...defaults.bead,
      ...o,
    }),
  };
}
