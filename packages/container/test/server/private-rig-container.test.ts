/**
 * The composed container on a private rig: real supervisor, broker, client, git and credential
 * server; the fake control plane mints 3-second git tokens at a git host that refuses anything
 * else (../git/auth-git-server.ts); a recording runtime stands in for opencode.
 *
 * - A polecat's dispatch brings a token; while the run lives its client pulls fresh ones at
 *   half-life; its branch is pushed at its end; a refinery's merge with strategy pull_request
 *   pushes the approved commit and reports `pushed`. No expired token reaches the host, and no
 *   token is in a log line, an event, a file of the data dir or what the agent was given.
 * - With GASTOWN_GIT_TOKEN_REFRESH=off the branch push at the end fails once the dispatched
 *   token is past its life, and the town hears `git.credentials_expired` once.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CONTAINER_KEY_HEADER, GastownError, type AgentIdentity, type GitTokenGrant, type RigRef, type StartAgentRequest } from '@gastown/protocol';
import { startFakeControlPlane, type FakeControlPlane } from '@gastown/testkit/fake-control-plane/index';
import { loadConfig } from '../../src/config';
import type { AgentRuntime, RuntimeEvent, RuntimeOptions } from '../../src/contracts';
import { createExecGitRunner, gitEnvironment, prepareGitHome } from '../../src/git';
import { startContainer, type ContainerHandle } from '../../src/main';
import { seedRepo, startAuthGitServer, type AuthGitServer } from '../git/auth-git-server';
import { exportOf } from '../supervisor/fakes';

const KEY = 'private-rig-container-key-0123456789';
const TOKEN_TTL_MS = 3_000;
const RIG_ID = 'rig_private01';
const TOWN = 'town_private1';

class RecordingRuntime implements AgentRuntime {
  pid: number | null = null;
  sessionId: string | null = null;
  readonly isolation = 'none' as const;
  readonly restoreOutcome = null;
  readonly prompts: string[] = [];
  constructor(readonly options: RuntimeOptions) {}
  async start() {
    this.pid = 4343;
    this.sessionId = 'ses_private';
  }
  async prompt(text: string) {
    this.prompts.push(text);
  }
  async exportSession() {
    return exportOf(this.sessionId ?? 'ses_none', this.prompts);
  }
  async runAsAgent(): Promise<never> {
    throw new GastownError('internal', 'RecordingRuntime runs no commands');
  }
  onEvent(_listener: (e: RuntimeEvent) => void) {
    return () => undefined;
  }
  async stop() {}
}

interface World {
  dir: string;
  host: AuthGitServer;
  cp: FakeControlPlane;
  container: ContainerHandle;
  runtimes: RecordingRuntime[];
  lines: string[];
  rig: RigRef;
  dataDir: string;
  git(args: string[]): Promise<string>;
  mint(): GitTokenGrant;
}
let world: World | null = null;

afterEach(async () => {
  if (!world) return;
  await world.container.stop();
  await world.cp.stop();
  await world.host.stop();
  await rm(world.dir, { recursive: true, force: true });
  world = null;
}, 60_000);

async function setup(env: Record<string, string> = {}): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), 'gt-private-container-'));
  const host = await startAuthGitServer({ root: join(dir, 'host') });
  await prepareGitHome(join(dir, 'test-home'));
  const runGit = createExecGitRunner({ env: gitEnvironment(join(dir, 'test-home'), process.env.PATH) });
  const git = async (args: string[]) => {
    const result = await runGit(args);
    if (result.code !== 0) throw new Error(`test git ${args.join(' ')} failed: ${result.stderr}`);
    return result.stdout.trim();
  };
  await seedRepo(host, 'acme', 'widgets', git, join(dir, 'seed'));
  const mint = (): GitTokenGrant => {
    const { token, expiresAt } = host.issueToken(TOKEN_TTL_MS);
    return { rigId: RIG_ID, token, username: 'x-access-token', expiresAt };
  };
  const cp = await startFakeControlPlane({ tokenTtlSeconds: 600, gitTokens: () => mint() });
  const lines: string[] = [];
  const runtimes: RecordingRuntime[] = [];
  const dataDir = join(dir, 'data');
  const config = loadConfig({
    GASTOWN_CONTAINER_KEY: KEY,
    CONTAINER_PORT: '0',
    GASTOWN_BIND_LOOPBACK: '1',
    GASTOWN_DATA_DIR: dataDir,
    GASTOWN_INSTANCE_ID: 'ci_private',
    GASTOWN_LOG_LEVEL: 'debug',
    ...env,
  });
  const container = await startContainer(config, {
    stream: { write: (line: string) => lines.push(line) },
    createRuntime: (options) => {
      const runtime = new RecordingRuntime(options);
      runtimes.push(runtime);
      return runtime;
    },
  });
  const rig: RigRef = { id: RIG_ID, name: 'widgets', gitUrl: host.url('acme', 'widgets'), defaultBranch: 'main', auth: 'github_app' };
  world = { dir, host, cp, container, runtimes, lines, rig, dataDir, git, mint };
  return world;
}

function control(w: World, method: string, path: string, body?: unknown) {
  return fetch(`${w.container.url}${path}`, {
    method,
    headers: { [CONTAINER_KEY_HEADER]: KEY, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function startRequest(w: World, agent: AgentIdentity, extra: Partial<StartAgentRequest>): Promise<StartAgentRequest> {
  return {
    agent,
    controlPlaneUrl: w.cp.url,
    credentials: await w.cp.issueCredentials(agent),
    runtime: { kind: 'opencode', provider: { kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:1/v1', model: 'm', apiKeyEnvVar: 'OPENAI_API_KEY' } },
    rig: w.rig,
    bead: null,
    instructions: '',
    prompt: null,
    gitToken: w.mint(),
    ...extra,
  };
}

async function until<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const polecat: AgentIdentity = { id: 'ag_polecat01', townId: TOWN, rigId: RIG_ID, userId: 'user-1', role: 'polecat', name: 'p1', gen: 1 };
const refinery: AgentIdentity = { id: 'ag_refinery1', townId: TOWN, rigId: RIG_ID, userId: 'user-1', role: 'refinery', name: 'r1', gen: 1 };
const BRANCH = 'gt/ag_polecat01/bd_bead0001';

async function polecatCommits(w: World): Promise<string> {
  const started = await control(w, 'POST', '/agents', await startRequest(w, polecat, { bead: { id: 'bd_bead0001', title: 't', body: 'b' } }));
  expect(started.status).toBe(200);
  const worktree = w.runtimes[0]!.options.workdir;
  await writeFile(join(worktree, 'feature.txt'), 'from the polecat\n');
  await w.git(['-C', worktree, 'add', 'feature.txt']);
  await w.git(['-C', worktree, 'commit', '--quiet', '-m', 'polecat work']);
  return w.git(['-C', worktree, 'rev-parse', 'HEAD']);
}

describe('the composed container on a private rig (3-second git tokens)', () => {
  it('polecat and refinery keep git working over several token lifetimes; pull_request merge reports pushed; nothing leaks', async () => {
    const w = await setup();
    const reviewed = await polecatCommits(w);
    // the polecat lives on for more than two token lifetimes: its client pulls fresh tokens
    await sleep(2.5 * TOKEN_TTL_MS);
    expect(w.cp.requestsFor('gitToken').filter((r) => r.status === 200 && r.agentId === polecat.id).length).toBeGreaterThanOrEqual(3);
    await control(w, 'POST', `/agents/${polecat.id}/stop`, { reason: 'done' });
    expect(w.cp.completions.find((c) => c.agentId === polecat.id)?.body).toEqual({ outcome: 'stopped', reason: 'done', branch: BRANCH });
    const bare = w.host.repoPath('acme', 'widgets');
    expect(await w.git(['-C', bare, 'rev-parse', `refs/heads/${BRANCH}`])).toBe(reviewed);

    // no run of the rig is live: nothing pulls for it
    const pullsWhileIdle = w.cp.requestsFor('gitToken').length;
    await sleep(0.7 * TOKEN_TTL_MS); // past any half-life point of the token in hand
    expect(w.cp.requestsFor('gitToken').length).toBe(pullsWhileIdle);

    const mainBefore = await w.git(['-C', bare, 'rev-parse', 'main']);
    expect((await control(w, 'POST', '/agents', await startRequest(w, refinery, { prompt: 'review' }))).status).toBe(200);
    await sleep(1.5 * TOKEN_TTL_MS);
    const accepted = await control(w, 'POST', '/git/merge', {
      agentId: refinery.id,
      rig: w.rig,
      mergeRequestBeadId: 'bd_mr000001',
      branch: BRANCH,
      commit: reviewed,
      message: 'Merge bd_bead0001',
      strategy: 'pull_request',
    });
    expect(accepted.status).toBe(202);
    const result = await until('merge result', () => w.cp.mergeResults.find((m) => m.agentId === refinery.id));
    expect(result.body).toMatchObject({ mergeRequestBeadId: 'bd_mr000001', outcome: 'pushed', commitSha: reviewed });
    expect(await w.git(['-C', bare, 'rev-parse', 'main'])).toBe(mainBefore);
    expect(w.cp.requestsFor('gitToken').some((r) => r.agentId === refinery.id && r.status === 200)).toBe(true);

    // the host never saw a dead token; the town heard of no outage
    expect(w.host.requests.filter((r) => r.verdict !== 'valid' && r.verdict !== 'missing')).toEqual([]);
    expect(w.cp.events.filter((e) => e.event.type.startsWith('git.credentials'))).toEqual([]);
    await expectNoLeak(w);
  }, 60_000);

  it('GASTOWN_GIT_TOKEN_REFRESH=off: the branch push at the end fails once the token is past its life; one git.credentials_expired', async () => {
    const w = await setup({ GASTOWN_GIT_TOKEN_REFRESH: 'off' });
    await polecatCommits(w);
    await sleep(TOKEN_TTL_MS + 200);
    await control(w, 'POST', `/agents/${polecat.id}/stop`, { reason: 'done' });
    const completion = w.cp.completions.find((c) => c.agentId === polecat.id)?.body;
    expect(completion).toMatchObject({ outcome: 'stopped', branch: null, reason: expect.stringContaining('branch push failed') });
    expect(w.cp.requestsFor('gitToken')).toEqual([]);
    const outage = w.cp.events.filter((e) => e.event.type === 'git.credentials_expired');
    expect(outage).toHaveLength(1);
    expect(outage[0]!.event.data).toMatchObject({ rigId: RIG_ID, reason: 'expired' });
    await expectNoLeak(w);
  }, 60_000);
});

/** No git token in the container's log, the events, any file under its data dir, or anything the agent runtime was given. */
async function expectNoLeak(w: World): Promise<void> {
  const entries = await readdir(w.dataDir, { withFileTypes: true, recursive: true });
  const haystacks: Array<[string, string]> = [
    ['log', w.lines.join('')],
    ['events', JSON.stringify(w.cp.events)],
    ['runtime options', JSON.stringify(w.runtimes.map((r) => r.options))],
  ];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    haystacks.push([path, (await readFile(path)).toString('latin1')]);
  }
  expect(w.host.issued.length).toBeGreaterThan(0);
  for (const token of w.host.issued) {
    for (const [where, text] of haystacks) expect(text.includes(token), `a git token in ${where}`).toBe(false);
  }
}
