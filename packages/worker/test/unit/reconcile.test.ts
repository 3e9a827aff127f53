import { describe, expect, it } from 'vitest';
import { livenessDeadline, needsBackstop, nextWakeAt, reconcile, type ReconcileSettings } from '../../src/town/reconciler/reconcile';
import type { Action, ReconcileAgent, ReconcileBead, ReconcileState } from '../../src/town/reconciler/types';
import { backoffMs, retryTransition } from '../../src/town/bead-rules';
import { createTownSettings } from '../../src/town/town-settings';
import { reconcileFixtures } from '../support/reconcile-fixtures';

const T = 1_900_000_000_000;
const S = 1000;
const HB = 30 * S;
const settings: ReconcileSettings = createTownSettings({ heartbeatIntervalMs: HB, maxPolecats: 2 });

const { agent, bead } = reconcileFixtures({ now: T, agent: { tokenIssuedAt: T - 10 * S, tokenExpiresAt: T - 10 * S + 3600 * S } });

function state(o: Partial<ReconcileState> = {}): ReconcileState {
  return { agents: [], beads: [], providerConfigured: true, latestInstanceId: 'ci_one', ...o };
}

const mayorWaiting = agent({ id: 'ag_mayor', role: 'mayor', rigId: null, status: 'waiting' });

interface Case {
  name: string;
  state: ReconcileState;
  now?: number;
  expected: Action[];
}

const cases: Case[] = [
  { name: 'an idle town: nothing', state: state(), expected: [] },
  { name: 'a waiting mayor heard recently: nothing (never a container call)', state: state({ agents: [mayorWaiting] }), expected: [] },
  {
    name: 'a waiting mayor silent for > 3 heartbeat intervals: lost, not re-dispatched',
    state: state({ agents: [{ ...mayorWaiting, lastHeartbeatAt: T - 91 * S }] }),
    expected: [{ type: 'agent_lost', agentId: 'ag_mayor', reason: 'missed_heartbeats', redispatch: false }],
  },
  {
    name: 'silent for exactly 3 intervals: not yet lost',
    state: state({ agents: [{ ...mayorWaiting, lastHeartbeatAt: T - 90 * S }] }),
    expected: [],
  },
  {
    name: 'an open issue bead: a polecat is dispatched',
    state: state({ beads: [bead({ id: 'bd_one' })] }),
    expected: [{ type: 'dispatch_polecat', beadId: 'bd_one', rigId: 'rig_aaaaaa' }],
  },
  { name: 'no model provider: nothing is dispatched', state: state({ providerConfigured: false, beads: [bead({ id: 'bd_one' })] }), expected: [] },
  { name: 'a bead waiting out its backoff: not yet', state: state({ beads: [bead({ id: 'bd_one', attempts: 1, retryAt: T + 1 })] }), expected: [] },
  {
    name: 'a bead whose backoff is over: dispatched',
    state: state({ beads: [bead({ id: 'bd_one', attempts: 1, retryAt: T })] }),
    expected: [{ type: 'dispatch_polecat', beadId: 'bd_one', rigId: 'rig_aaaaaa' }],
  },
  {
    name: 'a bead at the attempt cap: failed (with an escalation), never dispatched',
    state: state({ beads: [bead({ id: 'bd_one', attempts: 3 })] }),
    expected: [{ type: 'fail_bead', beadId: 'bd_one', reason: '3 attempts failed' }],
  },
  {
    name: 'polecat capacity: oldest beads first, at most maxPolecats running',
    state: state({
      agents: [agent({ id: 'ag_p1', beadId: 'bd_busy' })],
      beads: [
        bead({ id: 'bd_busy', status: 'in_progress', assigneeId: 'ag_p1' }),
        bead({ id: 'bd_new', createdAt: T - 5 * S }),
        bead({ id: 'bd_old', createdAt: T - 50 * S }),
      ],
    }),
    expected: [{ type: 'dispatch_polecat', beadId: 'bd_old', rigId: 'rig_aaaaaa' }],
  },
  {
    name: 'a working polecat silent for > 3 intervals with its bead: lost and re-dispatched',
    state: state({
      agents: [agent({ id: 'ag_p1', beadId: 'bd_one', lastHeartbeatAt: T - 100 * S })],
      beads: [bead({ id: 'bd_one', status: 'in_progress', assigneeId: 'ag_p1' })],
    }),
    expected: [{ type: 'agent_lost', agentId: 'ag_p1', reason: 'missed_heartbeats', redispatch: true }],
  },
  {
    name: 'an agent with a start in flight is left alone, however old its heartbeat',
    state: state({ agents: [agent({ id: 'ag_p1', status: 'starting', busy: true, lastHeartbeatAt: T - 1000 * S })] }),
    expected: [],
  },
  {
    name: 'dispatched but never heard: the start grace (2 min) applies, not 3 intervals',
    state: state({ agents: [agent({ id: 'ag_p1', status: 'starting', dispatchedAt: T - 100 * S, lastHeartbeatAt: null, containerInstanceId: null })] }),
    expected: [],
  },
  {
    name: 'dispatched, never heard, past the start grace: lost',
    state: state({ agents: [agent({ id: 'ag_p1', status: 'starting', dispatchedAt: T - 121 * S, lastHeartbeatAt: null, containerInstanceId: null })] }),
    expected: [{ type: 'agent_lost', agentId: 'ag_p1', reason: 'missed_heartbeats', redispatch: false }],
  },
  {
    name: 'a newer container instance: every agent of the old one is lost; only those with work re-dispatched',
    state: state({
      latestInstanceId: 'ci_two',
      agents: [
        { ...mayorWaiting, containerInstanceId: 'ci_one' },
        agent({ id: 'ag_p1', beadId: 'bd_one', containerInstanceId: 'ci_one' }),
        agent({ id: 'ag_p2', beadId: 'bd_done', containerInstanceId: 'ci_one', status: 'waiting' }),
        agent({ id: 'ag_ref', role: 'refinery', containerInstanceId: 'ci_one', status: 'waiting' }),
        agent({ id: 'ag_new', beadId: 'bd_new', containerInstanceId: 'ci_two' }),
      ],
      beads: [bead({ id: 'bd_one', status: 'in_progress', assigneeId: 'ag_p1' }), bead({ id: 'bd_new', status: 'in_progress', assigneeId: 'ag_new' })],
    }),
    expected: [
      { type: 'agent_lost', agentId: 'ag_mayor', reason: 'container_restarted', redispatch: false },
      { type: 'agent_lost', agentId: 'ag_p1', reason: 'container_restarted', redispatch: true },
      { type: 'agent_lost', agentId: 'ag_p2', reason: 'container_restarted', redispatch: false },
      { type: 'agent_lost', agentId: 'ag_ref', reason: 'container_restarted', redispatch: false },
    ],
  },
  {
    name: 'the container stopped (onStop): runs last heard before it are lost at once; one heard within the clock margin, one busy and one started after are not',
    state: state({
      containerStoppedAt: T - 5 * S,
      agents: [
        agent({ id: 'ag_p1', beadId: 'bd_one', lastHeartbeatAt: T - 20 * S, updatedAt: T - 20 * S }),
        agent({ id: 'ag_near', lastHeartbeatAt: T - 6 * S, updatedAt: T - 6 * S }),
        agent({ id: 'ag_busy', lastHeartbeatAt: T - 20 * S, updatedAt: T - 20 * S, busy: true }),
        agent({ id: 'ag_new', dispatchedAt: T - 30 * S, lastHeartbeatAt: null, updatedAt: T - 2 * S, status: 'starting' }),
        agent({ id: 'ag_gone', lastHeartbeatAt: T - 60 * S, updatedAt: T - 60 * S, status: 'exited' }),
      ],
      beads: [bead({ id: 'bd_one', status: 'in_progress', assigneeId: 'ag_p1' })],
    }),
    expected: [{ type: 'agent_lost', agentId: 'ag_p1', reason: 'container_stopped', redispatch: true }],
  },
  {
    name: 'a refinery of a dead instance with an open merge request: re-dispatched',
    state: state({
      latestInstanceId: 'ci_two',
      agents: [agent({ id: 'ag_ref', role: 'refinery', containerInstanceId: 'ci_one' })],
      beads: [bead({ id: 'bd_mr', type: 'merge_request', assigneeId: 'ag_ref', reviewGen: 1 })],
    }),
    expected: [{ type: 'agent_lost', agentId: 'ag_ref', reason: 'container_restarted', redispatch: true }],
  },
  {
    name: 'backstop: a working agent past 75 % of its token life, heard recently → push',
    state: state({ agents: [agent({ id: 'ag_p1', tokenIssuedAt: T - 2701 * S, tokenExpiresAt: T + 899 * S })] }),
    expected: [{ type: 'push_credentials', agentId: 'ag_p1' }],
  },
  {
    name: 'backstop: below 75 % → nothing',
    state: state({ agents: [agent({ id: 'ag_p1', tokenIssuedAt: T - 2600 * S, tokenExpiresAt: T + 1000 * S })] }),
    expected: [],
  },
  {
    name: 'backstop: a waiting agent past 75 % → nothing (never keep a container awake)',
    state: state({ agents: [agent({ id: 'ag_p1', status: 'waiting', tokenIssuedAt: T - 3000 * S, tokenExpiresAt: T + 600 * S })] }),
    expected: [],
  },
  {
    name: 'backstop: an idle (exited) agent → nothing',
    state: state({ agents: [agent({ id: 'ag_p1', status: 'exited', tokenIssuedAt: T - 3000 * S, tokenExpiresAt: T + 600 * S })] }),
    expected: [],
  },
  {
    name: 'backstop: a working agent not heard within 2 intervals → nothing (its container may be asleep)',
    state: state({ agents: [agent({ id: 'ag_p1', lastHeartbeatAt: T - 61 * S, tokenIssuedAt: T - 3000 * S, tokenExpiresAt: T + 600 * S })] }),
    expected: [],
  },
  {
    name: 'an open merge request whose polecat still runs: review waits (the branch is pushed at exit)',
    state: state({ agents: [agent({ id: 'ag_p1', status: 'waiting' })], beads: [bead({ id: 'bd_mr', type: 'merge_request', polecatId: 'ag_p1' })] }),
    expected: [],
  },
  {
    name: 'an open merge request, no refinery: one is started with it',
    state: state({ agents: [agent({ id: 'ag_p1', status: 'exited' })], beads: [bead({ id: 'bd_mr', type: 'merge_request', polecatId: 'ag_p1' })] }),
    expected: [{ type: 'review_merge_request', rigId: 'rig_aaaaaa', mergeRequestBeadId: 'bd_mr', refineryId: null, mode: 'start' }],
  },
  {
    name: 'an open merge request, refinery waiting: delivered to it',
    state: state({ agents: [agent({ id: 'ag_ref', role: 'refinery', status: 'waiting' })], beads: [bead({ id: 'bd_mr', type: 'merge_request' })] }),
    expected: [{ type: 'review_merge_request', rigId: 'rig_aaaaaa', mergeRequestBeadId: 'bd_mr', refineryId: 'ag_ref', mode: 'deliver' }],
  },
  {
    name: 'an open merge request, refinery working on another: wait',
    state: state({ agents: [agent({ id: 'ag_ref', role: 'refinery', status: 'working' })], beads: [bead({ id: 'bd_mr', type: 'merge_request' })] }),
    expected: [],
  },
  {
    name: 'an open merge request already handed to the current refinery run: nothing',
    state: state({
      agents: [agent({ id: 'ag_ref', role: 'refinery', status: 'waiting', gen: 2 })],
      beads: [bead({ id: 'bd_mr', type: 'merge_request', assigneeId: 'ag_ref', reviewGen: 2 })],
    }),
    expected: [],
  },
  {
    name: 'a merge request handed to a refinery run that ended without a decision: one review attempt spent',
    state: state({
      agents: [agent({ id: 'ag_ref', role: 'refinery', status: 'exited', gen: 2 })],
      beads: [bead({ id: 'bd_mr', type: 'merge_request', assigneeId: 'ag_ref', reviewGen: 2 })],
    }),
    expected: [{ type: 'review_unfinished', mergeRequestBeadId: 'bd_mr', refineryId: 'ag_ref' }],
  },
  {
    name: 'an approved merge request whose refinery run is gone: requeued',
    state: state({
      agents: [agent({ id: 'ag_ref', role: 'refinery', status: 'exited', gen: 2 })],
      beads: [bead({ id: 'bd_mr', type: 'merge_request', status: 'in_progress', assigneeId: 'ag_ref', reviewGen: 2 })],
    }),
    expected: [{ type: 'requeue_merge_request', mergeRequestBeadId: 'bd_mr' }],
  },
  {
    name: 'merge request hand-overs failed 3 times: given up',
    state: state({ beads: [bead({ id: 'bd_mr', type: 'merge_request', reviewAttempts: 3 })] }),
    expected: [{ type: 'fail_merge_request', mergeRequestBeadId: 'bd_mr', reason: '3 review hand-overs failed' }],
  },
  {
    name: 'a bead hooked to a polecat that ended without moving it: released (after one interval)',
    state: state({
      agents: [agent({ id: 'ag_p1', status: 'failed', updatedAt: T - HB })],
      beads: [bead({ id: 'bd_one', status: 'in_progress', assigneeId: 'ag_p1' })],
    }),
    expected: [{ type: 'release_bead', beadId: 'bd_one', agentId: 'ag_p1' }],
  },
  {
    name: 'a bead hooked to a polecat that just ended: its completion report gets an interval to arrive',
    state: state({
      agents: [agent({ id: 'ag_p1', status: 'exited', updatedAt: T - 1 })],
      beads: [bead({ id: 'bd_one', status: 'in_progress', assigneeId: 'ag_p1' })],
    }),
    expected: [],
  },
];

describe('reconcile(state, now, settings) → actions', () => {
  it.each(cases)('$name', ({ state: s, now, expected }) => {
    expect(reconcile(s, now ?? T, settings)).toEqual(expected);
  });
});

describe('nextWakeAt: one alarm, re-armed to the earliest next time', () => {
  it.each([
    { name: 'idle town → no alarm at all', state: state(), expected: null },
    {
      name: 'only exited agents and closed work → no alarm',
      state: state({ agents: [agent({ id: 'ag_p1', status: 'exited' }), { ...mayorWaiting, status: 'exited' }] }),
      expected: null,
    },
    { name: 'a waiting mayor → its liveness deadline', state: state({ agents: [mayorWaiting] }), expected: T - 10 * S + 3 * HB + 1 },
    {
      name: 'a working agent → the earlier of liveness deadline and backstop time',
      state: state({ agents: [agent({ id: 'ag_p1', tokenIssuedAt: T - 2690 * S, tokenExpiresAt: T + 910 * S })] }),
      expected: T + 10 * S,
    },
    { name: 'a bead in backoff → its retry time', state: state({ beads: [bead({ id: 'bd_one', attempts: 1, retryAt: T + 45 * S })] }), expected: T + 45 * S },
    {
      name: 'a bead in backoff without a provider → no alarm',
      state: state({ providerConfigured: false, beads: [bead({ id: 'bd_one', attempts: 1, retryAt: T + 45 * S })] }),
      expected: null,
    },
    {
      name: "beads waiting while every polecat slot is taken → only the polecats' deadlines (no busy loop)",
      state: state({ agents: [agent({ id: 'ag_p1' }), agent({ id: 'ag_p2' })], beads: [bead({ id: 'bd_waiting' })] }),
      expected: T - 10 * S + 3 * HB + 1,
    },
    { name: 'an agent with a start in flight → one interval later', state: state({ agents: [agent({ id: 'ag_p1', busy: true })] }), expected: T + HB },
  ])('$name', ({ state: s, expected }) => {
    expect(nextWakeAt(s, T, settings)).toBe(expected);
  });
});

describe('pure helpers', () => {
  it.each([
    { name: 'first failure', attempts: 1, expected: 30 * S },
    { name: 'second failure doubles', attempts: 2, expected: 60 * S },
    { name: 'capped', attempts: 20, expected: 15 * 60 * S },
    { name: 'no failure, no wait', attempts: 0, expected: 0 },
  ])('backoffMs: $name', ({ attempts, expected }) => {
    expect(backoffMs(attempts, 30 * S, 15 * 60 * S)).toBe(expected);
  });

  it('retryTransition: open with retryAt until the cap, then failed', () => {
    const policy = { maxAttempts: 3, backoffBaseMs: 30 * S, backoffMaxMs: 15 * 60 * S };
    const b = {
      id: 'bd_x',
      townId: 't',
      rigId: 'r',
      type: 'issue',
      status: 'in_progress',
      title: 't',
      body: '',
      assigneeId: 'ag_x',
      metadata: {},
      attempts: 0,
      createdAt: T,
      updatedAt: T,
      priority: 2,
      labels: [] as string[],
      dependsOn: [] as string[],
    } as const;
    expect(retryTransition({ ...b, metadata: {} }, T, policy)).toEqual({ status: 'open', attempts: 1, assigneeId: null, metadata: { retryAt: T + 30 * S } });
    expect(retryTransition({ ...b, metadata: {}, attempts: 2 }, T, policy)).toMatchObject({ status: 'failed', attempts: 3 });
  });

  it('livenessDeadline uses the later of dispatch and heartbeat', () => {
    expect(livenessDeadline(agent({ id: 'ag_p1', dispatchedAt: T, lastHeartbeatAt: T + 5 * S }), settings)).toBe(T + 5 * S + 3 * HB);
  });

  it('needsBackstop is false for a token from an older container instance', () => {
    const old = agent({ id: 'ag_p1', containerInstanceId: 'ci_one', tokenIssuedAt: T - 3000 * S, tokenExpiresAt: T + 600 * S });
    expect(needsBackstop(old, 'ci_one', T, settings)).toBe(true);
    expect(needsBackstop(old, 'ci_two', T, settings)).toBe(false);
  });
});
