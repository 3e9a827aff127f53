/**
 * A provider key changed while a polecat works takes effect at the town's restart (issue 15).
 *
 * The town's provider sits behind a key check (support/provider-key-gate.ts) that accepts the old
 * and the new key during the rotation and counts every refused request. The polecat writes work
 * it has not committed; the town env var holding the key is changed meanwhile, and the polecat's
 * next model request still carries the old key (env vars reach a container only when it starts).
 * Then `POST /api/towns/:townId/container/restart`: the settings are pushed, the container drains
 * (the work is committed and pushed on the polecat's branch, the run ends `drained`) and stops;
 * the old key is revoked; the polecat is dispatched again (gen + 1, same bead and branch) in a new
 * container that presents the new key; the bead is finished and merged. No request is refused.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerRestartResponseSchema, routePath, USER_API, type TownEvent } from '@gastown/protocol';
import { callTool, reply, toolResultsOf, type ChatMessage, type Turn } from '../src/fake-llm/index';
import { FAKE_LLM_KEY_VAR, FAKE_LLM_MODEL, fileOn, roleOf } from '../src/stack/index';
import { startProviderKeyGate, type ProviderKeyGate } from './support/provider-key-gate';
import { describeAgents, startHarness, waitFor, type Harness } from './support/harness';
import { keepStateOfFailedRuns } from './support/stack-state-keeper';

const WIP_FILE = 'notes/restart-in-progress.md';
const WIP_MARKER = 'WIP_WRITTEN';
const STILL_MARKER = 'STILL_WORKING';

let h: Harness;
let gate: ProviderKeyGate;

/** The polecat under test: write uncommitted work, hold; then one more step, hold again. */
const polecat = {
  enabled: true,
  agentId: null as string | null,
  held: 0,
  releases: [] as (() => void)[],
};

function hold(): Promise<void> {
  polecat.held += 1;
  return new Promise<void>((resolve) => polecat.releases.push(resolve));
}

async function interceptPolecat(messages: ChatMessage[], agentId: string | null, toolNames: string[]): Promise<Turn | null> {
  if (!polecat.enabled || roleOf(toolNames) !== 'polecat' || agentId === null) return null;
  polecat.agentId ??= agentId;
  if (agentId !== polecat.agentId) return null;
  const results = toolResultsOf(messages).filter((r) => r.name === 'bash');
  if (!results.some((r) => r.content.includes(WIP_MARKER))) {
    const command = `mkdir -p notes && printf '%s\\n' 'half-done work' > ${WIP_FILE} && echo ${WIP_MARKER}`;
    return callTool('bash', { command, description: 'Start the work (not committed yet)' });
  }
  if (!results.some((r) => r.content.includes(STILL_MARKER))) {
    await hold(); // the key is changed while this request waits
    return callTool('bash', { command: `echo ${STILL_MARKER}`, description: 'Keep working' });
  }
  await hold(); // the restart happens while this request waits
  return reply('paused');
}

beforeAll(async () => {
  h = await startHarness({ intercept: (request, ctx) => interceptPolecat(request.messages, ctx.agentId, ctx.toolNames) });
  gate = await startProviderKeyGate({ upstream: h.stack.fakeLlm!.url, upstreamKey: h.llmApiKey, accept: { old: h.llmApiKey } });
});

const stackState = keepStateOfFailedRuns();

afterAll(async () => {
  for (const release of polecat.releases) release();
  await gate?.stop();
  await h?.stack.stop();
  stackState.dispose(h?.stack.stateDir);
});

async function eventsOf(townId: string, type: string, agentId?: string): Promise<TownEvent[]> {
  return (await h.api.allEvents(townId)).filter((e) => e.type === type && (agentId === undefined || e.agentId === agentId));
}

const keysOf = (agentId: string, fromSeq = 0) => gate.uses.filter((u) => u.agentId === agentId && u.seq > fromSeq).map((u) => u.key);

describe('container restart', () => {
  it('a provider key changed while a polecat works is used after the restart: the polecat drains, comes back at gen + 1 with the new key, the bead is merged, no 401', async () => {
    const newKey = `fake-new-${randomBytes(16).toString('hex')}`;
    const { town, repo } = await h.createTown('restart', {
      sleepAfterSeconds: 900,
      config: { provider: { kind: 'openai-compatible', baseUrl: gate.url, model: FAKE_LLM_MODEL, apiKeyEnvVar: FAKE_LLM_KEY_VAR } },
    });
    const snapshot = async () => `${describeAgents(await h.agentsOf(town.id))} | held ${polecat.held} | keys ${JSON.stringify(gate.uses.map((u) => u.key))}`;
    expect((await h.api.sendMayorMessage(town.id, 'Please add a note.')).delivery).not.toBe('failed');
    await waitFor(() => polecat.held === 1, { timeoutMs: 90_000, what: 'the polecat to write its uncommitted work', describe: snapshot });
    const agentId = polecat.agentId!;
    const before = (await h.agentsOf(town.id)).find((a) => a.id === agentId)!;
    const beadId = before.beadId!;
    const branch = `gt/${agentId}/${beadId}`;
    expect(keysOf(agentId).length).toBeGreaterThan(0);
    expect(new Set(keysOf(agentId))).toEqual(new Set(['old']));

    // the key is rotated: the provider accepts both for now; the town's env var takes the new one
    gate.accept({ old: h.llmApiKey, new: newKey });
    const changedAt = gate.uses.at(-1)!.seq;
    await h.api.updateConfig(town.id, { envVars: { [FAKE_LLM_KEY_VAR]: newKey } });
    polecat.releases.shift()!();
    await waitFor(() => polecat.held === 2, { timeoutMs: 60_000, what: "the polecat's next model request", describe: snapshot });
    // the running container still has the old key: env vars reach a container only when it starts
    expect(keysOf(agentId, changedAt)).toEqual(['old']);
    const oldInstance = (await h.stack.hostState(town.id)).instanceId;
    expect(oldInstance).not.toBeNull();

    // the restart: settings pushed, the container drains and stops
    const startedAt = Date.now();
    const res = await h.api.request('POST', routePath(USER_API.restartContainer, { townId: town.id }));
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(ContainerRestartResponseSchema.parse(res.body)).toEqual({ wasRunning: true });
    console.log(`restart answered in ${Date.now() - startedAt} ms`);
    // the old key is revoked at the provider: a container still presenting it would get 401
    gate.accept({ new: newKey });
    const restartedAt = gate.uses.at(-1)?.seq ?? 0;
    polecat.enabled = false; // the re-dispatched run follows the scripted town
    polecat.releases.shift()!();

    const drained = await waitFor(async () => (await eventsOf(town.id, 'agent.completed', agentId)).find((e) => e.data.outcome === 'drained'), {
      timeoutMs: 30_000,
      what: "the polecat's drained completion",
      describe: snapshot,
    });
    expect(drained.data.branch).toBe(branch);
    expect(fileOn(repo!.path, branch, WIP_FILE)).toContain('half-done work');
    expect((await eventsOf(town.id, 'container.restart_requested')).map((e) => e.data)).toEqual([{ wasRunning: true }]);
    expect((await eventsOf(town.id, 'container.draining')).length).toBeGreaterThanOrEqual(1);

    // dispatched again on the same bead and branch, in a new container with the new key; finished and merged
    await waitFor(async () => (await h.api.beads(town.id)).find((b) => b.id === beadId && b.status === 'closed'), {
      timeoutMs: 90_000,
      intervalMs: 2_000,
      what: 'the drained bead to be finished and merged',
      describe: snapshot,
    });
    const after = (await h.agentsOf(town.id)).find((a) => a.id === agentId)!;
    expect(after.credential.gen).toBeGreaterThan(before.credential.gen);
    const afterRestart = keysOf(agentId, restartedAt);
    expect(afterRestart.length, 'the re-dispatched polecat made model requests').toBeGreaterThan(0);
    expect(new Set(afterRestart)).toEqual(new Set(['new']));
    expect(gate.uses.filter((u) => u.seq > restartedAt).every((u) => u.key === 'new')).toBe(true);
    expect(gate.unauthorized(), 'requests the provider refused').toBe(0);
    expect(fileOn(repo!.path, repo!.defaultBranch, WIP_FILE)).toContain('half-done work');
    const state = await h.stack.hostState(town.id);
    expect(state.instanceId).not.toBe(oldInstance);
  });
});
