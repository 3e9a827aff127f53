import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHarness, grant, RIG, startRequest, type Harness } from './fakes';

let h: Harness;

beforeEach(async () => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: 1_000_000 });
  h = await createHarness();
});
afterEach(async () => {
  vi.useRealTimers();
  await rm(h.dataDir, { recursive: true, force: true });
});

const POLECAT = 'ag_polecat01';
const MAYOR = 'ag_mayor001';
const REFINERY = 'ag_refinery1';

/** Let queued promise chains run (fake timers do not touch microtasks). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await vi.advanceTimersByTimeAsync(0);
}

describe('AgentSupervisor.start', () => {
  it('starts a polecat in a fixed order and hands the runtime only the broker URL and key', async () => {
    const status = await h.supervisor.start(startRequest('polecat'));
    expect(status).toMatchObject({
      agentId: POLECAT,
      role: 'polecat',
      gen: 1,
      runtimeState: 'running',
      activity: 'working',
      pid: 1001,
      sessionId: 'ses_1001',
      lastError: null,
    });
    expect(h.log.filter((l) => l.startsWith(POLECAT))).toEqual([
      `${POLECAT}:broker.start`,
      `${POLECAT}:heartbeat.start`,
      `${POLECAT}:git.createWorktree`,
      `${POLECAT}:brokerApi.register`,
      `${POLECAT}:runtime.start`,
      `${POLECAT}:runtime.prompt`,
    ]);
    const { runtime, broker, sink } = h.latest(POLECAT);
    expect(runtime.options).toMatchObject({
      workdir: join(h.dataDir, 'worktrees', POLECAT),
      stateDir: join(h.dataDir, 'agent-state', POLECAT),
      brokerUrl: h.brokerApi.url,
      brokerKey: h.brokerApi.registrations.get(POLECAT)!.brokerKey,
      pluginPath: '/opt/gastown/plugin.js',
      instructions: 'be good',
    });
    expect(JSON.stringify(runtime.options)).not.toContain('access-token-');
    expect(JSON.stringify(runtime.options)).not.toContain('gtr_');
    expect(runtime.prompts).toEqual(['start working']);
    expect(broker.options.initial.refreshCredential).toBe('gtr_refresh_credential_0123456789');
    expect(h.brokerApi.registrations.get(POLECAT)!.provider.model).toBe('fake-model');
    expect(sink.types()).toEqual(['agent.starting', 'agent.started']);
  });

  it('gives the mayor a scratch dir and leaves it waiting without a prompt', async () => {
    const status = await h.supervisor.start(startRequest('mayor'));
    expect(status).toMatchObject({ runtimeState: 'idle', activity: 'waiting' });
    expect((await stat(join(h.dataDir, 'scratch', MAYOR))).isDirectory()).toBe(true);
    expect(h.latest(MAYOR).runtime.prompts).toEqual([]);
  });

  it('gives the refinery a clone', async () => {
    await h.supervisor.start(startRequest('refinery'));
    expect(h.latest(REFINERY).runtime.options.workdir).toBe(join(h.dataDir, 'clones', REFINERY));
  });

  it('is idempotent for the same gen: one runtime, same status', async () => {
    const first = await h.supervisor.start(startRequest('polecat'));
    const again = await h.supervisor.start(startRequest('polecat'));
    expect(again).toEqual(first);
    expect(h.runtimes).toHaveLength(1);
    expect(h.brokers).toHaveLength(1);
  });

  it('a higher gen stops the old run first (no completion for the superseded gen)', async () => {
    await h.supervisor.start(startRequest('polecat', { gen: 1 }));
    const old = h.latest(POLECAT);
    const status = await h.supervisor.start(startRequest('polecat', { gen: 2 }));
    expect(status).toMatchObject({ gen: 2, runtimeState: 'running' });
    expect(old.runtime.stopped).toBe(true);
    expect(old.broker.stopped).toBe(true);
    expect(old.heartbeat.running).toBe(false);
    expect(old.client.completions).toEqual([]);
    const order = h.log.filter((l) => /runtime\.(stop|start)|broker\.(stop|start)|unregister|register/.test(l));
    expect(order.indexOf(`${POLECAT}:runtime.stop`)).toBeLessThan(order.lastIndexOf(`${POLECAT}:runtime.start`));
    expect(order.indexOf(`${POLECAT}:brokerApi.unregister`)).toBeLessThan(order.lastIndexOf(`${POLECAT}:brokerApi.register`));
    expect(h.supervisor.liveCount()).toBe(1);
  });

  it('a lower gen than the running one is a conflict', async () => {
    await h.supervisor.start(startRequest('polecat', { gen: 3 }));
    await expect(h.supervisor.start(startRequest('polecat', { gen: 2 }))).rejects.toMatchObject({ code: 'conflict' });
    expect(h.runtimes).toHaveLength(1);
  });

  it.each([
    { name: 'polecat without bead', body: startRequest('polecat', { bead: null }) },
    { name: 'refinery without rig', body: startRequest('refinery', { rig: null }) },
    { name: 'rig id mismatch', body: startRequest('polecat', { rig: { ...RIG, id: 'rig_other01' } }) },
    { name: 'credentials of another gen', body: { ...startRequest('polecat'), credentials: { ...startRequest('polecat').credentials, gen: 2 } } },
    { name: 'not an object', body: 'hello' },
    { name: 'hostile rig default branch', body: startRequest('polecat', { rig: { ...RIG, defaultBranch: '--upload-pack=x' } }) },
  ])('rejects a malformed start: $name', async ({ body }) => {
    await expect(h.supervisor.start(body)).rejects.toMatchObject({ code: 'validation_failed' });
    expect(h.brokers).toHaveLength(0);
  });

  it('a failed runtime start fails the run and releases everything', async () => {
    const failing = await createHarness({ runtimeStartError: new Error('serve did not start') });
    await expect(failing.supervisor.start(startRequest('polecat'))).rejects.toMatchObject({ code: 'internal' });
    const { broker, heartbeat, sink } = failing.latest(POLECAT);
    expect(failing.supervisor.status(POLECAT)).toMatchObject({ runtimeState: 'failed', lastError: 'serve did not start' });
    expect(broker.stopped).toBe(true);
    expect(heartbeat.running).toBe(false);
    expect(sink.closed).toBe(true);
    expect(failing.brokerApi.registrations.size).toBe(0);
    await rm(failing.dataDir, { recursive: true, force: true });
  });
});

describe('idle handling', () => {
  it('polecat: session.idle arms the idle timer; on expiry it exits in order and reports completion', async () => {
    await h.supervisor.start(startRequest('polecat'));
    const { runtime, client, broker } = h.latest(POLECAT);
    runtime.emit({ type: 'session.busy', sessionId: 'ses_1001' });
    runtime.emit({ type: 'session.idle', sessionId: 'ses_1001' });
    expect(h.supervisor.status(POLECAT)).toMatchObject({ runtimeState: 'idle', activity: 'waiting' });

    await vi.advanceTimersByTimeAsync(119_999);
    expect(h.supervisor.status(POLECAT).runtimeState).toBe('idle');
    expect(client.completions).toEqual([]);

    h.log.length = 0;
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(h.log).toEqual([
      `${POLECAT}:runtime.stop`,
      `${POLECAT}:git.pushBranch:gt/${POLECAT}/bd_bead0001`,
      `${POLECAT}:heartbeat.stop`,
      `${POLECAT}:events.close`,
      `${POLECAT}:client.completion:completed`,
      `${POLECAT}:broker.stop`,
      `${POLECAT}:brokerApi.unregister`,
    ]);
    expect(client.completions).toEqual([{ outcome: 'completed', reason: 'idle timeout', branch: `gt/${POLECAT}/bd_bead0001` }]);
    expect(broker.stopped).toBe(true);
    expect(h.supervisor.status(POLECAT)).toMatchObject({ runtimeState: 'exited' });
    expect(h.latest(POLECAT).sink.types()).toContain('agent.exited');
  });

  it('a busy session before expiry cancels the timer', async () => {
    await h.supervisor.start(startRequest('polecat'));
    const { runtime, client } = h.latest(POLECAT);
    runtime.emit({ type: 'session.idle', sessionId: 'ses_1001' });
    await vi.advanceTimersByTimeAsync(100_000);
    runtime.emit({ type: 'session.busy', sessionId: 'ses_1001' });
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(h.supervisor.status(POLECAT)).toMatchObject({ runtimeState: 'running', activity: 'working' });
    expect(client.completions).toEqual([]);
  });

  it('the timer restarts from the latest idle', async () => {
    await h.supervisor.start(startRequest('polecat'));
    const { runtime, client } = h.latest(POLECAT);
    runtime.emit({ type: 'session.idle', sessionId: 's' });
    await vi.advanceTimersByTimeAsync(100_000);
    runtime.emit({ type: 'session.busy', sessionId: 's' });
    await vi.advanceTimersByTimeAsync(10_000);
    runtime.emit({ type: 'session.idle', sessionId: 's' });
    await vi.advanceTimersByTimeAsync(119_000);
    await settle();
    expect(h.supervisor.status(POLECAT).runtimeState).toBe('idle');
    await vi.advanceTimersByTimeAsync(1_000);
    await settle();
    expect(h.supervisor.status(POLECAT).runtimeState).toBe('exited');
    expect(client.completions).toHaveLength(1);
  });

  it('a delivered message before expiry cancels the timer', async () => {
    await h.supervisor.start(startRequest('polecat'));
    const { runtime, client } = h.latest(POLECAT);
    runtime.emit({ type: 'session.idle', sessionId: 'ses_1001' });
    await vi.advanceTimersByTimeAsync(119_000);
    await h.supervisor.deliver(POLECAT, { text: 'one more thing' });
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(h.supervisor.status(POLECAT).runtimeState).toBe('running');
    expect(client.completions).toEqual([]);
  });

  it('the refinery uses its own (longer) default and the request can override it', async () => {
    await h.supervisor.start(startRequest('refinery'));
    h.latest(REFINERY).runtime.emit({ type: 'session.idle', sessionId: 's' });
    await vi.advanceTimersByTimeAsync(599_000);
    expect(h.supervisor.status(REFINERY).runtimeState).toBe('idle');
    await vi.advanceTimersByTimeAsync(1_000);
    await settle();
    expect(h.supervisor.status(REFINERY).runtimeState).toBe('exited');
    expect(h.latest(REFINERY).client.completions).toEqual([{ outcome: 'completed', reason: 'idle timeout', branch: null }]);

    const custom = await createHarness();
    await custom.supervisor.start(startRequest('polecat', { runtime: { ...startRequest('polecat').runtime, idleTimeoutSeconds: 5 } }));
    custom.latest(POLECAT).runtime.emit({ type: 'session.idle', sessionId: 's' });
    await vi.advanceTimersByTimeAsync(5_000);
    await settle();
    expect(custom.supervisor.status(POLECAT).runtimeState).toBe('exited');
    await rm(custom.dataDir, { recursive: true, force: true });
  });

  it('mayor: session.idle reports waiting through a heartbeat and never exits', async () => {
    await h.supervisor.start(startRequest('mayor', { prompt: 'hello' }));
    const { runtime, heartbeat, client } = h.latest(MAYOR);
    runtime.emit({ type: 'session.busy', sessionId: 's' });
    const beatsBefore = heartbeat.beats;
    runtime.emit({ type: 'session.idle', sessionId: 's' });
    await settle();
    expect(heartbeat.beats).toBe(beatsBefore + 1);
    expect(client.heartbeats.at(-1)).toMatchObject({ activity: 'waiting', runtimeState: 'idle', containerInstanceId: 'ci_test0001', pid: 1001 });
    await vi.advanceTimersByTimeAsync(7 * 24 * 3_600_000);
    expect(h.supervisor.status(MAYOR)).toMatchObject({ runtimeState: 'idle', activity: 'waiting' });
    expect(client.completions).toEqual([]);
    expect(runtime.stopped).toBe(false);
  });

  it('a failed branch push turns an idle completion into failed, with the reason', async () => {
    h.git.pushError = new Error('remote rejected');
    await h.supervisor.start(startRequest('polecat'));
    h.latest(POLECAT).runtime.emit({ type: 'session.idle', sessionId: 's' });
    await vi.advanceTimersByTimeAsync(120_000);
    await settle();
    expect(h.latest(POLECAT).client.completions).toEqual([{ outcome: 'failed', reason: expect.stringContaining('branch push failed'), branch: null }]);
    expect(h.supervisor.status(POLECAT).runtimeState).toBe('failed');
  });
});

describe('deliver and push', () => {
  it('swaps the message grant into the broker BEFORE the prompt reaches the runtime', async () => {
    await h.supervisor.start(startRequest('mayor'));
    h.log.length = 0;
    const g = grant(1, 2_000_000);
    await h.supervisor.deliver(MAYOR, { text: 'build a thing', grant: g });
    expect(h.log).toEqual([`${MAYOR}:broker.push:message`, `${MAYOR}:runtime.prompt`]);
    const { broker, runtime, sink } = h.latest(MAYOR);
    expect(broker.pushes).toEqual([{ grant: g, refresh: null, source: 'message' }]);
    expect(runtime.prompts).toEqual(['build a thing']);
    expect(sink.types()).toContain('credential.refreshed');
  });

  it('without a grant only prompts', async () => {
    await h.supervisor.start(startRequest('mayor'));
    await h.supervisor.deliver(MAYOR, { text: 'hi' });
    expect(h.latest(MAYOR).broker.pushes).toEqual([]);
  });

  it.each([
    { name: 'empty text', body: { text: '' } },
    { name: 'bad grant', body: { text: 'x', grant: { accessToken: 'short', accessTokenExpiresAt: 1, accessTokenIssuedAt: 1, gen: 1 } } },
    { name: 'unknown field', body: { text: 'x', extra: 1 } },
  ])('rejects a malformed message: $name', async ({ body }) => {
    await h.supervisor.start(startRequest('mayor'));
    await expect(h.supervisor.deliver(MAYOR, body)).rejects.toMatchObject({ code: 'validation_failed' });
    expect(h.latest(MAYOR).runtime.prompts).toEqual([]);
  });

  it('deliver to an unknown agent is not_found, to an exited one a conflict', async () => {
    await expect(h.supervisor.deliver('ag_nobody01', { text: 'x' })).rejects.toMatchObject({ code: 'not_found' });
    await h.supervisor.start(startRequest('polecat'));
    await h.supervisor.stop(POLECAT, {});
    await expect(h.supervisor.deliver(POLECAT, { text: 'x' })).rejects.toMatchObject({ code: 'conflict' });
  });

  it('push hands grant and refresh credential to the broker and records the event', async () => {
    await h.supervisor.start(startRequest('polecat'));
    const g = grant(1, 2_000_000);
    const refresh = { refreshCredential: 'gtr_reissued_credential_012345', refreshCredentialExpiresAt: 9_999_999 };
    const status = h.supervisor.push(POLECAT, { grant: g, refresh });
    const { broker, sink } = h.latest(POLECAT);
    expect(broker.pushes).toEqual([{ grant: g, refresh, source: 'push' }]);
    expect(status.credential.refreshCount).toBe(1);
    expect(sink.types()).toEqual(expect.arrayContaining(['credential.pushed', 'credential.refreshed']));
    expect(JSON.stringify(sink.records)).not.toContain('gtr_');
    expect(JSON.stringify(sink.records)).not.toContain(g.accessToken);
  });

  it('heartbeat snapshots record credential events the broker made on its own', async () => {
    await h.supervisor.start(startRequest('polecat'));
    const { broker, heartbeat, sink } = h.latest(POLECAT);
    broker.state = { ...broker.state, refreshCount: 1, lastRefreshAt: 1_500_000, lastRefreshSource: 'pull' };
    const snap = heartbeat.options.snapshot();
    expect(snap.credential.refreshCount).toBe(1);
    expect(sink.records.filter((r) => r.type === 'credential.refreshed')).toEqual([
      {
        type: 'credential.refreshed',
        data: { source: 'pull', tokenFingerprint: 'abcdef01', accessTokenExpiresAt: broker.state.accessTokenExpiresAt, refreshCount: 1 },
      },
    ]);
    heartbeat.options.snapshot();
    expect(sink.records.filter((r) => r.type === 'credential.refreshed')).toHaveLength(1);
  });
});

describe('stop, failure and shutdown', () => {
  it('stop: runtime stop, completion stopped, broker stop, key unregistered', async () => {
    await h.supervisor.start(startRequest('polecat'));
    h.log.length = 0;
    const status = await h.supervisor.stop(POLECAT, { reason: 'user asked' });
    expect(status.runtimeState).toBe('exited');
    expect(h.log).toEqual([
      `${POLECAT}:runtime.stop`,
      `${POLECAT}:git.pushBranch:gt/${POLECAT}/bd_bead0001`,
      `${POLECAT}:heartbeat.stop`,
      `${POLECAT}:events.close`,
      `${POLECAT}:client.completion:stopped`,
      `${POLECAT}:broker.stop`,
      `${POLECAT}:brokerApi.unregister`,
    ]);
    expect(h.latest(POLECAT).client.completions).toEqual([{ outcome: 'stopped', reason: 'user asked', branch: `gt/${POLECAT}/bd_bead0001` }]);
    // stopping again is a no-op
    await h.supervisor.stop(POLECAT, {});
    expect(h.latest(POLECAT).client.completions).toHaveLength(1);
    await expect(h.supervisor.stop('ag_nobody01', {})).rejects.toMatchObject({ code: 'not_found' });
  });

  it('a runtime that exits unexpectedly fails the run and reports failed', async () => {
    await h.supervisor.start(startRequest('refinery'));
    const { runtime, client, broker } = h.latest(REFINERY);
    runtime.emit({ type: 'exit', code: 137, signal: null });
    await settle();
    expect(h.supervisor.status(REFINERY)).toMatchObject({ runtimeState: 'failed', lastError: expect.stringContaining('code 137') });
    expect(client.completions).toEqual([{ outcome: 'failed', reason: expect.stringContaining('exited unexpectedly'), branch: null }]);
    expect(broker.stopped).toBe(true);
    expect(h.brokerApi.registrations.has(REFINERY)).toBe(false);
  });

  it('stopAll drains: tells the town, commits a polecat’s uncommitted work as the agent, ends every agent `drained`, refuses new starts', async () => {
    await h.supervisor.start(startRequest('mayor'));
    await h.supervisor.start(startRequest('polecat'));
    await h.supervisor.start(startRequest('refinery'));
    await h.supervisor.stopAll();
    for (const id of [MAYOR, POLECAT, REFINERY]) {
      const f = h.latest(id);
      expect(f.runtime.stopped).toBe(true);
      expect(f.sink.closed).toBe(true);
      expect(f.broker.stopped).toBe(true);
      expect(f.sink.types()).toContain('container.draining');
      expect(f.client.completions).toEqual([expect.objectContaining({ outcome: 'drained', reason: 'container shutdown' })]);
    }
    const polecat = h.latest(POLECAT);
    // add, check, commit — in the agent's worktree, hooks off — before the runtime stopped and the branch was pushed
    expect(polecat.runtime.commands.map((c) => c.slice(c.indexOf('-C') + 2)[0])).toEqual(['add', 'diff', 'commit']);
    expect(polecat.runtime.commands.every((c) => c.includes('core.hooksPath=/dev/null'))).toBe(true);
    expect(polecat.sink.records.find((r) => r.type === 'agent.work_saved')?.data).toMatchObject({ committed: true, branch: `gt/${POLECAT}/bd_bead0001` });
    expect(polecat.client.completions[0]).toMatchObject({ branch: `gt/${POLECAT}/bd_bead0001` });
    expect(h.latest(MAYOR).runtime.commands).toEqual([]);
    expect(h.latest(REFINERY).runtime.commands).toEqual([]);
    expect(h.supervisor.liveCount()).toBe(0);
    await expect(h.supervisor.start(startRequest('polecat', { gen: 2 }))).rejects.toMatchObject({ code: 'container_unavailable' });
  });
});

describe('stopAll budget', () => {
  it('stopAll resolves at the stop budget even when completion reports hang (runtimes already stopped)', async () => {
    await h.supervisor.start(startRequest('mayor'));
    await h.supervisor.start(startRequest('polecat'));
    for (const id of [MAYOR, POLECAT]) h.latest(id).client.hangCompletion = true;
    let done = false;
    const stopping = h.supervisor.stopAll().then(() => (done = true));
    await vi.advanceTimersByTimeAsync(19_999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await stopping;
    for (const id of [MAYOR, POLECAT]) expect(h.latest(id).runtime.stopped).toBe(true);
  });
});

describe('merge callbacks', () => {
  const mergeBody = {
    agentId: REFINERY,
    rig: RIG,
    mergeRequestBeadId: 'bd_mr000001',
    branch: `gt/${POLECAT}/bd_bead0001`,
    commit: 'e'.repeat(40),
    message: 'Merge bd_bead0001',
  };

  it.each([
    {
      name: 'merged',
      result: { outcome: 'merged' as const, commitSha: 'b'.repeat(40) },
      expected: { outcome: 'merged', commitSha: 'b'.repeat(40), message: '' },
    },
    {
      name: 'conflict',
      result: { outcome: 'conflict' as const, files: ['a.txt'], message: 'conflicts in: a.txt' },
      expected: { outcome: 'conflict', commitSha: null, message: 'conflicts in: a.txt' },
    },
    {
      name: 'failed',
      result: { outcome: 'failed' as const, message: 'push rejected' },
      expected: { outcome: 'failed', commitSha: null, message: 'push rejected' },
    },
    {
      name: 'changed_since_review (the branch tip travels as commitSha)',
      result: { outcome: 'changed_since_review' as const, branchCommit: 'c'.repeat(40), message: 'branch moved' },
      expected: { outcome: 'changed_since_review', commitSha: 'c'.repeat(40), message: 'branch moved' },
    },
  ])('reports $name through the refinery client', async ({ result, expected }) => {
    await h.supervisor.start(startRequest('refinery'));
    h.git.mergeResult = result;
    expect(h.supervisor.merge(mergeBody)).toMatchObject({ accepted: true });
    await h.supervisor.drain();
    expect(h.git.merges).toEqual([{ branch: mergeBody.branch, message: mergeBody.message }]);
    expect(h.git.mergeCommits).toEqual([mergeBody.commit]);
    expect(h.latest(REFINERY).client.mergeResults).toEqual([{ mergeRequestBeadId: 'bd_mr000001', ...expected }]);
  });

  it('a refinery that stops waits for its pending merge callback before its broker stops', async () => {
    await h.supervisor.start(startRequest('refinery'));
    h.supervisor.merge(mergeBody);
    await h.supervisor.stop(REFINERY, {});
    const order = h.log.filter((l) => l.includes('mergeResult') || l.includes('broker.stop'));
    expect(order).toEqual([`${REFINERY}:client.mergeResult:merged`, `${REFINERY}:broker.stop`]);
  });

  it('rejects unknown agents, non-refineries and hostile branches', async () => {
    expect(() => h.supervisor.merge(mergeBody)).toThrow(expect.objectContaining({ code: 'not_found' }));
    await h.supervisor.start(startRequest('polecat'));
    expect(() => h.supervisor.merge({ ...mergeBody, agentId: POLECAT })).toThrow(expect.objectContaining({ code: 'role_forbidden' }));
    expect(() => h.supervisor.merge({ ...mergeBody, branch: '--upload-pack=x' })).toThrow(expect.objectContaining({ code: 'validation_failed' }));
    await h.supervisor.start(startRequest('refinery'));
    const { commit: _commit, ...withoutCommit } = mergeBody;
    expect(() => h.supervisor.merge(withoutCommit)).toThrow(expect.objectContaining({ code: 'validation_failed' }));
    expect(() => h.supervisor.merge({ ...mergeBody, commit: 'HEAD' })).toThrow(expect.objectContaining({ code: 'validation_failed' }));
    expect(h.git.merges).toEqual([]);
  });
});

describe("a polecat's gt_done submits its own branch (the container copies it, the call carries the commit)", () => {
  const OWN = `gt/${POLECAT}/bd_bead0001`;
  const toolClient = (agentId: string) => h.brokerApi.registrations.get(agentId)!.client;

  it('copies the branch, replaces any commit the agent sent, then calls the control plane; the exit push does not copy again', async () => {
    await h.supervisor.start(startRequest('polecat'));
    await toolClient(POLECAT).tool('done', { branch: OWN, summary: 'did it', commit: 'f'.repeat(40) });
    expect(h.log).toContain(`${POLECAT}:git.submitBranch:${OWN}`);
    expect(h.latest(POLECAT).client.tools).toEqual([{ name: 'done', args: { branch: OWN, summary: 'did it', commit: h.git.submittedCommit } }]);
    expect(h.latest(POLECAT).sink.records.filter((r) => r.type === 'branch.submitted')).toEqual([
      { type: 'branch.submitted', data: { branch: OWN, commit: h.git.submittedCommit } },
    ]);

    await h.supervisor.stop(POLECAT, { reason: 'done' });
    expect(h.git.pushes).toEqual([{ branch: OWN, capture: false }]);
  });

  it("another agent's branch: 403 token_scope, nothing copied, nothing sent", async () => {
    await h.supervisor.start(startRequest('polecat'));
    await expect(toolClient(POLECAT).tool('done', { branch: 'gt/ag_other001/bd_bead0001', summary: 'not mine' })).rejects.toMatchObject({
      code: 'token_scope',
    });
    expect(h.log.some((l) => l.includes('git.submitBranch'))).toBe(false);
    expect(h.latest(POLECAT).client.tools).toEqual([]);
    // a run that never submitted has its branch copied at exit
    await h.supervisor.stop(POLECAT, { reason: 'done' });
    expect(h.git.pushes).toEqual([{ branch: OWN, capture: true }]);
  });

  it('a failed copy fails the tool call and sends nothing', async () => {
    await h.supervisor.start(startRequest('polecat'));
    h.git.submitError = Object.assign(new Error('branch gone'), { code: 'conflict' });
    await expect(toolClient(POLECAT).tool('done', { branch: OWN, summary: 'x' })).rejects.toThrow('branch gone');
    expect(h.latest(POLECAT).client.tools).toEqual([]);
  });

  it('other tools, and the refinery, pass straight through', async () => {
    await h.supervisor.start(startRequest('polecat'));
    await toolClient(POLECAT).tool('status', { text: 'working' });
    expect(h.latest(POLECAT).client.tools).toEqual([{ name: 'status', args: { text: 'working' } }]);
    await h.supervisor.start(startRequest('refinery'));
    const approval = { branch: OWN, mergeRequestBeadId: 'bd_mr000001', summary: 'ok', commit: 'e'.repeat(40) };
    await toolClient(REFINERY).tool('done', approval);
    expect(h.latest(REFINERY).client.tools).toEqual([{ name: 'done', args: approval }]);
    expect(h.log.some((l) => l.includes('git.submitBranch'))).toBe(false);
  });
});
