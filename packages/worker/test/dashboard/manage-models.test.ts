/**
 * The dashboard's pure models for managing a town: the agents table's rows (ended runs collapsed,
 * failure reasons in full), the bead editor's requests and actions, a bead's failure reason,
 * convoy progress, escalation state, and the event routing of convoys and rig deletion.
 */
import type { Agent, Bead, Convoy } from '@gastown/protocol';
import { escalationState as protocolEscalationState } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { agentFailureReason, isEnded, RECENT_ENDED_SHOWN, splitAgents } from '../../dashboard/src/model/agents-view';
import {
  beadActions,
  createBeadRequest,
  lastFailureReason,
  openDependencies,
  parseLabels,
  updateBeadRequest,
  type BeadFormValues,
} from '../../dashboard/src/model/bead-form';
import { convoyProgress, sortConvoys } from '../../dashboard/src/model/convoy-view';
import { escalationState, sortEscalations } from '../../dashboard/src/model/escalation-view';
import { panelsFor } from '../../dashboard/src/model/event-routing';

function agent(id: string, role: Agent['role'], status: Agent['status'], createdAt: number, statusLine: string | null = null): Agent {
  return { id, role, status, createdAt, statusLine } as Agent;
}

function bead(over: Partial<Bead> = {}): Bead {
  return {
    id: 'bd_1',
    townId: 'town_1',
    rigId: 'rig_1',
    type: 'issue',
    status: 'open',
    title: 'Add a health check',
    body: 'GET /health',
    assigneeId: null,
    metadata: {},
    attempts: 0,
    createdAt: 1,
    updatedAt: 1,
    priority: 2,
    labels: [],
    dependsOn: [],
    ...over,
  };
}

const form = (over: Partial<BeadFormValues> = {}): BeadFormValues => ({
  rigId: 'rig_1',
  title: 'Add a health check',
  body: 'GET /health',
  priority: '2',
  labels: '',
  dependsOn: [],
  ...over,
});

describe('agents table rows', () => {
  const agents = [
    agent('a_mayor', 'mayor', 'idle', 1),
    agent('a_p1', 'polecat', 'failed', 10, 'container start failed (unable to clone https://example.test/missing.git: repository not found)'),
    agent('a_p2', 'polecat', 'exited', 20),
    agent('a_p3', 'polecat', 'stopped', 30),
    agent('a_p4', 'polecat', 'failed', 40, 'x'),
    agent('a_p5', 'polecat', 'working', 50),
    agent('a_ref', 'refinery', 'idle', 5),
  ];

  it('keeps the mayor, live and idle agents and the newest ended runs; older ended runs collapse', () => {
    const { shown, collapsed } = splitAgents(agents);
    expect(shown.map((a) => a.id)).toEqual(['a_mayor', 'a_p5', 'a_ref', 'a_p4', 'a_p3']);
    expect(collapsed.map((a) => a.id)).toEqual(['a_p2', 'a_p1']);
    expect(RECENT_ENDED_SHOWN).toBe(2);
  });

  it('with no more ended runs than shown, nothing collapses; a mayor is never an ended run', () => {
    expect(splitAgents(agents.slice(0, 3)).collapsed).toEqual([]);
    expect(isEnded(agent('m', 'mayor', 'stopped', 1))).toBe(false);
    expect(isEnded(agent('r', 'refinery', 'exited', 1))).toBe(true);
  });

  it('a failed run’s reason is given in full (not cut at 20 characters), whitespace collapsed; none for other statuses', () => {
    expect(agentFailureReason(agents[1]!)).toBe('container start failed (unable to clone https://example.test/missing.git: repository not found)');
    expect(agentFailureReason({ status: 'failed', statusLine: 'a\n\n  b' })).toBe('a b');
    expect(agentFailureReason({ status: 'exited', statusLine: 'done' })).toBeNull();
    expect(agentFailureReason({ status: 'failed', statusLine: null })).toBeNull();
    expect(agentFailureReason({ status: 'failed', statusLine: 'y'.repeat(900) })!.length).toBe(500);
  });
});

describe('bead editor requests', () => {
  it('labels: split on commas and spaces, each once', () => {
    expect(parseLabels(' api, backend  api,,ops ')).toEqual(['api', 'backend', 'ops']);
    expect(parseLabels('')).toEqual([]);
  });

  it('create: what the form says, empty parts left out', () => {
    expect(createBeadRequest(form({ body: '', priority: '1', labels: 'api backend', dependsOn: ['bd_a', 'bd_a', 'bd_b'] }))).toEqual({
      rigId: 'rig_1',
      title: 'Add a health check',
      priority: 1,
      labels: ['api', 'backend'],
      dependsOn: ['bd_a', 'bd_b'],
    });
    expect(createBeadRequest(form({ title: '  T  ' }))).toEqual({ rigId: 'rig_1', title: 'T', body: 'GET /health', priority: 2 });
  });

  it('edit: only the fields that changed; nothing changed is null', () => {
    const b = bead({ labels: ['api'], dependsOn: ['bd_a', 'bd_b'] });
    expect(updateBeadRequest(b, form({ labels: 'api', dependsOn: ['bd_b', 'bd_a'] }))).toBeNull();
    expect(updateBeadRequest(b, form({ title: 'New', priority: '0', dependsOn: ['bd_a'], labels: 'api' }))).toEqual({
      title: 'New',
      priority: 0,
      dependsOn: ['bd_a'],
    });
    expect(updateBeadRequest(b, form({ labels: 'api, docs', dependsOn: ['bd_a', 'bd_b'], rigId: 'rig_2' }))).toEqual({
      labels: ['api', 'docs'],
      rigId: 'rig_2',
    });
    expect(updateBeadRequest(b, form({ labels: 'api', dependsOn: [], body: 'changed' }))).toEqual({ body: 'changed', dependsOn: [] });
  });

  it('actions: Requeue a failed bead, Reopen a closed one; in progress and in review cannot be deleted; only issues', () => {
    expect(beadActions({ type: 'issue', status: 'failed' })).toEqual({ edit: true, close: true, reopen: 'Requeue', delete: true });
    expect(beadActions({ type: 'issue', status: 'closed' })).toEqual({ edit: true, close: false, reopen: 'Reopen', delete: true });
    expect(beadActions({ type: 'issue', status: 'open' })).toEqual({ edit: true, close: true, reopen: null, delete: true });
    expect(beadActions({ type: 'issue', status: 'in_progress' })).toEqual({ edit: true, close: true, reopen: null, delete: false });
    expect(beadActions({ type: 'issue', status: 'in_review' })).toEqual({ edit: true, close: false, reopen: null, delete: false });
    expect(beadActions({ type: 'merge_request', status: 'open' })).toEqual({ edit: false, close: false, reopen: null, delete: false });
  });

  it('the dependencies still open', () => {
    const byId = new Map([
      ['bd_a', { status: 'closed' as const }],
      ['bd_b', { status: 'in_progress' as const }],
    ]);
    expect(openDependencies({ dependsOn: ['bd_a', 'bd_b', 'bd_gone'] }, byId)).toEqual(['bd_b', 'bd_gone']);
  });
});

describe('a bead’s last failure', () => {
  const reason = 'container start failed (unable to access https://example.test/acme/missing.git: the requested URL returned error: 404)';
  it('shows metadata.lastFailure.reason in full while the bead is failed or open again', () => {
    expect(lastFailureReason(bead({ status: 'failed', metadata: { lastFailure: { reason, at: 1 } } }))).toBe(reason);
    expect(lastFailureReason(bead({ status: 'open', metadata: { lastFailure: { reason, at: 1 } } }))).toBe(reason);
  });
  it('none once the bead moved on, or without a reason', () => {
    expect(lastFailureReason(bead({ status: 'closed', metadata: { lastFailure: { reason, at: 1 } } }))).toBeNull();
    expect(lastFailureReason(bead({ status: 'failed', metadata: {} }))).toBeNull();
    expect(lastFailureReason(bead({ status: 'failed', metadata: { lastFailure: 'text' } }))).toBeNull();
    expect(lastFailureReason(bead({ status: 'failed', metadata: { lastFailure: { reason: '  ' } } }))).toBeNull();
  });
});

describe('convoys and escalations', () => {
  const convoy = (id: string, status: Convoy['status'], closed: number, total: number, createdAt: number) =>
    ({ id, status, progress: { closed, total }, createdAt }) as Convoy;

  it('progress: n of m closed and the share done', () => {
    expect(convoyProgress(convoy('c', 'open', 1, 3, 1))).toEqual({ text: '1 of 3 closed', fraction: 1 / 3 });
    expect(convoyProgress(convoy('c', 'open', 0, 0, 1))).toEqual({ text: '0 of 0 closed', fraction: 0 });
  });

  it('open convoys first, newest first', () => {
    const list = [convoy('a', 'landed', 2, 2, 3), convoy('b', 'open', 0, 2, 1), convoy('c', 'cancelled', 0, 1, 5), convoy('d', 'open', 1, 2, 2)];
    expect(sortConvoys(list).map((c) => c.id)).toEqual(['d', 'b', 'a', 'c']);
  });

  it('escalation state agrees with the protocol’s (without zod in the bundle)', () => {
    const cases = [bead({ type: 'escalation' }), bead({ type: 'escalation', metadata: { acknowledgedAt: 5 } }), bead({ type: 'escalation', status: 'closed' })];
    expect(cases.map(escalationState)).toEqual(['open', 'acknowledged', 'resolved']);
    for (const b of cases) expect(escalationState(b)).toBe(protocolEscalationState(b));
  });

  it('escalations needing a human first', () => {
    const list = [
      bead({ id: 'r', type: 'escalation', status: 'closed', createdAt: 9 }),
      bead({ id: 'k', type: 'escalation', metadata: { acknowledgedAt: 1 }, createdAt: 8 }),
      bead({ id: 'o1', type: 'escalation', createdAt: 1 }),
      bead({ id: 'o2', type: 'escalation', createdAt: 2 }),
      bead({ id: 'i', type: 'issue' }),
    ];
    expect(sortEscalations(list).map((b) => b.id)).toEqual(['o2', 'o1', 'k', 'r']);
  });

  it('events: convoy.* refetch the convoys; rig.deleted the rigs, beads and agents', () => {
    expect(panelsFor({ type: 'convoy.landed' })).toEqual(['convoys']);
    expect(panelsFor({ type: 'convoy.created' })).toEqual(['convoys']);
    expect(panelsFor({ type: 'rig.deleted' })).toEqual(['rigs', 'beads', 'agents']);
    expect(panelsFor({ type: 'escalation.acknowledged' })).toEqual(['beads']);
    expect(panelsFor({ type: 'agent.restart_requested' })).toEqual(['agents']);
    expect(panelsFor({ type: 'agent.nudged' })).toEqual(['agents']);
  });
});
