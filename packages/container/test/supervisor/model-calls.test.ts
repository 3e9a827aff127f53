/**
 * The supervisor's side of the model proxy: each run registers the models it may name and where
 * its usage goes, and a stop after the turn (spend cap) lets the turn in flight finish, then ends
 * the run at the first refused model call or session idle.
 */
import { rm } from 'node:fs/promises';
import type { ModelUsageRecord } from '@gastown/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHarness, startRequest, type Harness } from './fakes';

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
const PROVIDER = { kind: 'anthropic' as const, baseUrl: 'https://api.anthropic.com/v1', apiKeyEnvVar: 'ANTHROPIC_API_KEY' };
const BRANCH = `gt/${POLECAT}/bd_bead0001`;

/** Let queued promise chains run (fake timers do not touch microtasks). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await vi.advanceTimersByTimeAsync(0);
}

function registration(agentId: string) {
  const found = h.brokerApi.registrations.get(agentId);
  if (!found) throw new Error(`${agentId} is not registered`);
  return found;
}

const USAGE: ModelUsageRecord = {
  model: 'claude-sonnet-4-5',
  providerKind: 'anthropic',
  inputTokens: 120,
  outputTokens: 30,
  cacheReadTokens: 40,
  cacheWriteTokens: 24,
  latencyMs: 850,
  streamed: true,
  status: 200,
  errorCode: null,
};

describe('models of a run', () => {
  it.each([
    {
      name: 'a model and a small model',
      runtime: { kind: 'opencode' as const, provider: PROVIDER, model: 'claude-sonnet-4-5', smallModel: 'claude-haiku-4-5' },
      want: { model: 'claude-sonnet-4-5', smallModel: 'claude-haiku-4-5', allowed: ['claude-sonnet-4-5', 'claude-haiku-4-5'] },
    },
    {
      name: 'a model only (the small model is the model)',
      runtime: { kind: 'opencode' as const, provider: PROVIDER, model: 'claude-sonnet-4-5' },
      want: { model: 'claude-sonnet-4-5', smallModel: 'claude-sonnet-4-5', allowed: ['claude-sonnet-4-5'] },
    },
    {
      name: "an older control plane's provider.model",
      runtime: { kind: 'opencode' as const, provider: { ...PROVIDER, model: 'legacy-model' } },
      want: { model: 'legacy-model', smallModel: 'legacy-model', allowed: ['legacy-model'] },
    },
    {
      name: 'the same model twice',
      runtime: { kind: 'kilo' as const, provider: PROVIDER, model: 'm', smallModel: 'm' },
      want: { model: 'm', smallModel: 'm', allowed: ['m'] },
    },
  ])('$name: the runtime gets both, the model proxy allows them (deduplicated)', async ({ runtime, want }) => {
    await h.supervisor.start(startRequest('polecat', { runtime }));
    const options = h.latest(POLECAT).runtime.options;
    expect({ model: options.model, smallModel: options.smallModel, kind: options.kind }).toEqual({
      model: want.model,
      smallModel: want.smallModel,
      kind: runtime.kind,
    });
    expect(options.provider).toEqual(runtime.provider);
    expect(registration(POLECAT).models).toEqual(want.allowed);
    expect(registration(POLECAT).provider).toEqual(runtime.provider);
  });

  it('a start naming no model fails with config_invalid before any state exists', async () => {
    const body = startRequest('polecat', { runtime: { kind: 'opencode', provider: PROVIDER, smallModel: 'claude-haiku-4-5' } });
    await expect(h.supervisor.start(body)).rejects.toMatchObject({ code: 'config_invalid' });
    expect(h.brokers).toHaveLength(0);
    expect(h.brokerApi.registrations.size).toBe(0);
    expect(h.supervisor.list()).toEqual([]);
  });

  it("each measured model call goes out as a `model.usage` event on the run's own stream", async () => {
    await h.supervisor.start(startRequest('polecat'));
    await h.supervisor.start(startRequest('mayor'));
    registration(POLECAT).onUsage!(USAGE);
    registration(POLECAT).onUsage!({ ...USAGE, status: 401, errorCode: 'authentication_error', outputTokens: 0 });
    expect(h.latest(POLECAT).sink.records.filter((r) => r.type === 'model.usage')).toEqual([
      { type: 'model.usage', data: USAGE },
      { type: 'model.usage', data: { ...USAGE, status: 401, errorCode: 'authentication_error', outputTokens: 0 } },
    ]);
    expect(h.latest(MAYOR).sink.types()).not.toContain('model.usage');
  });
});

describe('stop after the turn', () => {
  const SPEND_CAP = { reason: 'spend_cap', afterTurn: true };

  it('a run waiting for input stops at once, as a plain stop does', async () => {
    await h.supervisor.start(startRequest('polecat'));
    h.latest(POLECAT).runtime.emit({ type: 'session.idle', sessionId: 'ses_1001' });
    const status = await h.supervisor.stop(POLECAT, SPEND_CAP);
    expect(status.runtimeState).toBe('exited');
    expect(h.latest(POLECAT).runtime.stopped).toBe(true);
    expect(h.latest(POLECAT).client.completions).toEqual([{ outcome: 'stopped', reason: 'spend_cap', branch: BRANCH }]);
  });

  it('the mayor, waiting without a prompt, stops at once', async () => {
    await h.supervisor.start(startRequest('mayor'));
    const status = await h.supervisor.stop(MAYOR, SPEND_CAP);
    expect(status.runtimeState).toBe('exited');
    expect(h.latest(MAYOR).client.completions).toEqual([{ outcome: 'stopped', reason: 'spend_cap', branch: null }]);
  });

  it('a working run answers at once, keeps running, and has its model calls refused from then on', async () => {
    await h.supervisor.start(startRequest('polecat'));
    const { runtime, client } = h.latest(POLECAT);
    runtime.emit({ type: 'session.busy', sessionId: 'ses_1001' });
    expect(registration(POLECAT).refuseModelCalls!()).toBe(false);

    const status = await h.supervisor.stop(POLECAT, SPEND_CAP);
    expect(status).toMatchObject({ runtimeState: 'running', activity: 'working' });
    expect(runtime.stopped).toBe(false);
    expect(client.completions).toEqual([]);
    expect(registration(POLECAT).refuseModelCalls!()).toBe(true);
  });

  it('the first refused model call ends the run: stopped, with the stop reason', async () => {
    await h.supervisor.start(startRequest('polecat'));
    const { runtime, client, broker } = h.latest(POLECAT);
    await h.supervisor.stop(POLECAT, SPEND_CAP);
    const { onModelCallRefused } = registration(POLECAT);
    onModelCallRefused!();
    await settle();
    expect(runtime.stopped).toBe(true);
    expect(client.completions).toEqual([{ outcome: 'stopped', reason: 'spend_cap', branch: BRANCH }]);
    expect(broker.stopped).toBe(true);
    expect(h.brokerApi.registrations.has(POLECAT)).toBe(false);
    expect(h.supervisor.status(POLECAT).runtimeState).toBe('exited');
    // the idle that follows the refused call changes nothing
    runtime.emit({ type: 'session.idle', sessionId: 'ses_1001' });
    onModelCallRefused!();
    await settle();
    expect(client.completions).toHaveLength(1);
  });

  it('a session idle first ends the run (stopped, not an idle completion), with no idle timer', async () => {
    await h.supervisor.start(startRequest('polecat'));
    const { runtime, client } = h.latest(POLECAT);
    await h.supervisor.stop(POLECAT, SPEND_CAP);
    runtime.emit({ type: 'session.idle', sessionId: 'ses_1001' });
    await settle();
    expect(client.completions).toEqual([{ outcome: 'stopped', reason: 'spend_cap', branch: BRANCH }]);
    expect(h.log.filter((l) => l.endsWith(':git.pushBranch:' + BRANCH))).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(200_000);
    expect(client.completions).toHaveLength(1);
  });

  it('a busy mayor (a message in flight) is marked too, and ends at its idle', async () => {
    await h.supervisor.start(startRequest('mayor'));
    await h.supervisor.deliver(MAYOR, { text: 'plan the week' });
    const { runtime, client } = h.latest(MAYOR);
    expect((await h.supervisor.stop(MAYOR, SPEND_CAP)).runtimeState).toBe('running');
    runtime.emit({ type: 'session.busy', sessionId: runtime.sessionId! });
    await settle();
    expect(client.completions).toEqual([]);
    runtime.emit({ type: 'session.idle', sessionId: runtime.sessionId! });
    // the mayor's conversation is saved first (compression runs off the main thread)
    await vi.waitFor(() => expect(client.completions).toEqual([{ outcome: 'stopped', reason: 'spend_cap', branch: null }]));
  });

  it('without afterTurn a working run stops now, as before', async () => {
    await h.supervisor.start(startRequest('polecat'));
    const status = await h.supervisor.stop(POLECAT, { reason: 'spend_cap' });
    expect(status.runtimeState).toBe('exited');
    expect(h.latest(POLECAT).client.completions).toEqual([{ outcome: 'stopped', reason: 'spend_cap', branch: BRANCH }]);
  });

  it('a plain stop after a pending stop-after-turn stops now, with its own reason', async () => {
    await h.supervisor.start(startRequest('polecat'));
    await h.supervisor.stop(POLECAT, SPEND_CAP);
    const status = await h.supervisor.stop(POLECAT, { reason: 'stopped by user' });
    expect(status.runtimeState).toBe('exited');
    expect(h.latest(POLECAT).client.completions).toEqual([{ outcome: 'stopped', reason: 'stopped by user', branch: BRANCH }]);
  });

  it("a newer generation's run starts without the mark", async () => {
    await h.supervisor.start(startRequest('polecat', { gen: 1 }));
    await h.supervisor.stop(POLECAT, SPEND_CAP);
    await h.supervisor.start(startRequest('polecat', { gen: 2 }));
    expect(registration(POLECAT).refuseModelCalls!()).toBe(false);
  });

  it('an unknown agent is not_found', async () => {
    await expect(h.supervisor.stop('ag_nobody01', SPEND_CAP)).rejects.toMatchObject({ code: 'not_found' });
  });
});
