import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CONTAINER_KEY_HEADER, GastownError, type AgentIdentity, type StartAgentRequest } from '@gastown/protocol';
import { startFakeControlPlane, type FakeControlPlane } from '@gastown/testkit/fake-control-plane/index';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import type { AgentRuntime, RuntimeEvent, RuntimeOptions } from '../../src/contracts';
import { startContainer, type ContainerHandle } from '../../src/main';
import { createGitFixture, type GitFixture } from '../git/fixtures';
import { exportOf } from '../supervisor/fakes';

const KEY = 'integration-container-key-0123456789';
const TOWN_SECRET = 'sk-town-secret-value-0123456789';

class RecordingRuntime implements AgentRuntime {
  pid: number | null = null;
  sessionId: string | null = null;
  readonly isolation = 'none' as const;
  readonly prompts: string[] = [];
  readonly listeners = new Set<(e: RuntimeEvent) => void>();
  constructor(readonly options: RuntimeOptions) {}
  async start() {
    this.pid = 4242;
    this.sessionId = 'ses_recording';
  }
  async prompt(text: string) {
    this.prompts.push(text);
  }
  readonly restoreOutcome = null;
  async exportSession() {
    return exportOf(this.sessionId ?? 'ses_none', this.prompts);
  }
  async runAsAgent(): Promise<never> {
    throw new GastownError('internal', 'RecordingRuntime runs no commands');
  }
  onEvent(listener: (e: RuntimeEvent) => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(event: RuntimeEvent) {
    for (const l of [...this.listeners]) l(event);
  }
  async stop() {}
}

let cp: FakeControlPlane;
let fx: GitFixture;
let container: ContainerHandle;
let runtimes: RecordingRuntime[];
let lines: string[];

beforeEach(async () => {
  cp = await startFakeControlPlane({ tokenTtlSeconds: 600 });
  fx = await createGitFixture();
  runtimes = [];
  lines = [];
  const config = loadConfig({
    GASTOWN_CONTAINER_KEY: KEY,
    CONTAINER_PORT: '0',
    GASTOWN_BIND_LOOPBACK: '1',
    GASTOWN_DATA_DIR: join(fx.root, 'container-data'),
    GASTOWN_INSTANCE_ID: 'ci_integration',
    GASTOWN_LOG_LEVEL: 'debug',
    TOWN_ENV_OPENAI_API_KEY: TOWN_SECRET,
  });
  container = await startContainer(config, {
    stream: { write: (line: string) => lines.push(line) },
    createRuntime: (options) => {
      const r = new RecordingRuntime(options);
      runtimes.push(r);
      return r;
    },
  });
});
afterEach(async () => {
  await container.stop();
  await cp.stop();
  await fx.cleanup();
});

function control(method: string, path: string, body?: unknown) {
  return fetch(`${container.url}${path}`, {
    method,
    headers: { [CONTAINER_KEY_HEADER]: KEY, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function until<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function startRequest(agent: AgentIdentity, extra: Partial<StartAgentRequest>): Promise<StartAgentRequest> {
  return {
    agent,
    controlPlaneUrl: cp.url,
    credentials: await cp.issueCredentials(agent),
    runtime: { kind: 'opencode', provider: { kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:1/v1', model: 'm', apiKeyEnvVar: 'OPENAI_API_KEY' } },
    rig: null,
    bead: null,
    instructions: '',
    prompt: null,
    ...extra,
  };
}

const rigOf = (fx: GitFixture) => ({ ...fx.rig, gitUrl: fx.originPath });

describe('the composed container (real broker, client, consumers, broker API, git; recording runtime)', () => {
  it('mayor: start, heartbeat, tool call through the broker API, warm send, stop', async () => {
    const mayor: AgentIdentity = { id: 'ag_mayor001', townId: 'town_abc123', rigId: null, userId: 'user-1', role: 'mayor', name: 'mayor', gen: 1 };
    const res = await control('POST', '/agents', await startRequest(mayor, {}));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ agentId: mayor.id, runtimeState: 'idle', activity: 'waiting' });

    await until('a heartbeat', () => cp.heartbeats.find((h) => h.agentId === mayor.id));
    const runtime = runtimes[0]!;
    expect(runtime.options.brokerUrl).toBe(container.brokerUrl);
    expect(runtime.options.brokerKey).toMatch(/^gtb_/);

    // the plugin's path: broker key → broker API → control plane with the live access token
    const tool = await fetch(`${container.brokerUrl}/broker/tools/list_rigs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${runtime.options.brokerKey}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(tool.status).toBe(200);
    expect(cp.requestsFor('tool').at(-1)).toMatchObject({ agentId: mayor.id, auth: 'valid', status: 200 });

    const grant = await cp.mintGrant(mayor.id);
    const sent = await control('POST', `/agents/${mayor.id}/messages`, { text: 'hello mayor', grant });
    expect(sent.status).toBe(200);
    expect(((await sent.json()) as { credential: { lastRefreshSource: string } }).credential.lastRefreshSource).toBe('message');
    expect(runtime.prompts).toEqual(['hello mayor']);

    const stopped = await control('POST', `/agents/${mayor.id}/stop`, { reason: 'test over' });
    expect(await stopped.json()).toMatchObject({ runtimeState: 'exited' });
    expect(cp.completions).toEqual([{ agentId: mayor.id, body: { outcome: 'stopped', reason: 'test over', branch: null } }]);
    const types = cp.events.filter((e) => e.agentId === mayor.id).map((e) => e.event.type);
    expect(types).toEqual(expect.arrayContaining(['agent.starting', 'agent.started', 'agent.message', 'credential.refreshed', 'agent.exited']));

    // the broker key died with the run
    const after = await fetch(`${container.brokerUrl}/broker/tools/list_rigs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${runtime.options.brokerKey}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(after.status).toBe(401);

    const log = lines.join('');
    expect(log).not.toContain(TOWN_SECRET);
    expect(log).not.toContain(runtime.options.brokerKey);
    expect(log).not.toContain(grant.accessToken);
  });

  it('polecat work reaches origin main through refinery merge and the merge callback', async () => {
    const rig = rigOf(fx);
    const polecat: AgentIdentity = { id: 'ag_polecat01', townId: 'town_abc123', rigId: rig.id, userId: 'user-1', role: 'polecat', name: 'p1', gen: 1 };
    const refinery: AgentIdentity = { id: 'ag_refinery1', townId: 'town_abc123', rigId: rig.id, userId: 'user-1', role: 'refinery', name: 'r1', gen: 1 };

    const started = await control('POST', '/agents', await startRequest(polecat, { rig, bead: { id: 'bd_bead0001', title: 't', body: 'b' }, prompt: 'do it' }));
    expect(started.status).toBe(200);
    const worktree = runtimes[0]!.options.workdir;
    await writeFile(join(worktree, 'feature.txt'), 'from the polecat\n');
    await fx.git(['-C', worktree, 'add', 'feature.txt']);
    await fx.git(['-C', worktree, 'commit', '--quiet', '-m', 'polecat work']);
    const reviewed = await fx.git(['-C', worktree, 'rev-parse', 'HEAD']);
    await control('POST', `/agents/${polecat.id}/stop`, { reason: 'done' });
    const branch = 'gt/ag_polecat01/bd_bead0001';
    expect(cp.completions.find((c) => c.agentId === polecat.id)?.body).toEqual({ outcome: 'stopped', reason: 'done', branch });

    expect((await control('POST', '/agents', await startRequest(refinery, { rig, prompt: 'review' }))).status).toBe(200);
    const accepted = await control('POST', '/git/merge', {
      agentId: refinery.id,
      rig,
      mergeRequestBeadId: 'bd_mr000001',
      branch,
      commit: reviewed,
      message: 'Merge bd_bead0001',
    });
    expect(accepted.status).toBe(202);
    const result = await until('merge result', () => cp.mergeResults.find((m) => m.agentId === refinery.id), 15_000);
    expect(result.body).toMatchObject({ mergeRequestBeadId: 'bd_mr000001', outcome: 'merged', commitSha: expect.stringMatching(/^[0-9a-f]{40}$/) });
    expect(await fx.git(['-C', fx.originPath, 'rev-parse', 'main'])).toBe(result.body.commitSha);
    expect(await fx.git(['-C', fx.originPath, 'show', 'main:feature.txt'])).toBe('from the polecat');
  });
});
