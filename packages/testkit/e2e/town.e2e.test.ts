/**
 * End to end, with real processes: workerd (wrangler dev) running the control plane, the
 * container host starting one real container process per town, real `opencode serve` agents
 * with the bundled plugin, and the scripted fake LLM (packages/testkit/src/stack/town-scenario.ts)
 * deciding every model turn.
 *
 * One stack for the whole file. The idle town of (c) is set up first so its 10-minute idle
 * window runs while (d), (a) and (b) use their own towns; (c) then only waits for what is left.
 *
 * Knobs (for a quick local run; CI uses the defaults):
 *   E2E_IDLE_SECONDS  (default 600) — idle window of (c)
 *   E2E_CHURN_SECONDS (default 180) — how long (a) keeps messaging the mayor (≥ 18 × 10 s tokens)
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentRuntimeListSchema, AGENT_API, routePath, type Agent } from '@gastown/protocol';
import {
  branchContains,
  failureCodeOf,
  fileOn,
  findStackProcesses,
  mintTestAgentToken,
  requestJson,
  errorCodeOf,
  secretValues,
  type RigRepo,
} from '../src/stack/index';
import { scanForSecrets } from '../src/leak-scan/index';
import { REFRESH_CREDENTIAL_PREFIX } from '@gastown/protocol';
import { describeAgents, E2E_USER, sleep, startHarness, waitFor, type Harness } from './support/harness';
import { sessionIdsSeenByLlm, unauthorizedFor } from './support/unauthorized';
import { collectLogFiles } from './support/log-files';
import { agentProcessPids, dumpStoredRows, stateDirScanRoots, WRANGLER_STATE } from './support/leak-check';
import { keepStateOfFailedRuns } from './support/stack-state-keeper';

const IDLE_SECONDS = Number(process.env.E2E_IDLE_SECONDS ?? 600);
const CHURN_SECONDS = Number(process.env.E2E_CHURN_SECONDS ?? 180);

let h: Harness;

/** Exact values that must appear nowhere but the operator's secret store: signing keys, admin secret, container key, provider key. */
const stackSecrets = () => [...secretValues(h.stack.keys), h.llmApiKey];

/** (c)'s idle town, created and quiesced before the other tests run. */
interface IdleTown {
  townId: string;
  mayorId: string;
  markAt: number;
  instanceId: string;
  refreshCountAtMark: number;
  cpRefreshCountAtMark: number;
}
let idle: IdleTown;

/** Deterministic gaps (mulberry32). */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

/** Chat requests of an agent whose answer ended a turn (a text reply). */
function turnsEnded(agentId: string): number {
  return (h.stack.fakeLlm?.chatRequests(agentId) ?? []).filter((r) => r.answer.type === 'text').length;
}

/** gt_* tool results of an agent that failed (any code). */
function failedToolResults(agentId: string): string[] {
  return h.stack
    .fakeLlm!.toolResults(agentId)
    .filter((r) => failureCodeOf(r) !== null)
    .map((r) => `${r.name}: ${r.content.slice(0, 200)}`);
}

/** Wait until a bead is closed by its merge, then check its commit is on the rig's default branch. */
async function expectMerged(townId: string, beadId: string, repo: RigRepo, what: string, describe: () => Promise<string>): Promise<void> {
  await waitFor(async () => (await h.api.beads(townId)).find((b) => b.id === beadId && b.status === 'closed'), {
    timeoutMs: 300_000,
    intervalMs: 2_000,
    what,
    describe,
  });
  const commit = h.scenario.commits.find((c) => c.beadId === beadId);
  expect(commit, `commit for ${beadId}`).toBeDefined();
  expect(branchContains(repo.path, repo.defaultBranch, commit!.sha)).toBe(true);
}

async function mayorRuntime(townId: string, mayorId: string) {
  const res = await h.stack.host.container(townId, 'GET', '/agents');
  expect(res.status).toBe(200);
  const runtime = AgentRuntimeListSchema.parse(res.body).agents.find((a) => a.agentId === mayorId);
  if (!runtime) throw new Error(`the container does not run mayor ${mayorId}`);
  return runtime;
}

async function instanceIdsOf(townId: string, agents: Agent[]): Promise<Set<string>> {
  const state = await h.stack.hostState(townId);
  const ids = new Set<string>(state.inbound.map((r) => r.instanceId));
  if (state.instanceId) ids.add(state.instanceId);
  for (const a of agents) if (a.containerInstanceId) ids.add(a.containerInstanceId);
  return ids;
}

beforeAll(async () => {
  h = await startHarness();

  // (c) set-up: a town with no rig (the mayor lists rigs, finds none, and answers: no work is
  // slung, so nothing else runs), tokens of 20 s, and a sleepAfter far beyond the idle window.
  const { town } = await h.createTown('idle', { rig: false, agentTokenTtlSeconds: 20, sleepAfterSeconds: 900 });
  const mayor = await h.mayorOf(town.id);
  const sent = await h.api.sendMayorMessage(town.id, 'Hello mayor. Nothing to do today.');
  expect(sent.delivery).not.toBe('failed');
  await waitFor(() => turnsEnded(mayor.id) >= 1, {
    timeoutMs: 120_000,
    what: 'the idle mayor to answer',
    describe: async () => describeAgents(await h.agentsOf(town.id)),
  });
  const waiting = await waitFor(
    async () => {
      const m = await h.mayorOf(town.id);
      return m.status === 'waiting' && m.credential.reported ? m : null;
    },
    { timeoutMs: 60_000, what: 'the idle mayor to report waiting', describe: async () => describeAgents(await h.agentsOf(town.id)) },
  );
  await sleep(5_000); // let the message request finish on every side
  const state = await h.stack.hostState(town.id);
  expect(state.running).toBe(true);
  idle = {
    townId: town.id,
    mayorId: mayor.id,
    markAt: Date.now(),
    instanceId: state.instanceId!,
    refreshCountAtMark: waiting.credential.reported!.refreshCount,
    cpRefreshCountAtMark: waiting.credential.refreshCount,
  };
});

// keep the stack's state (logs, repos, agent homes) only when something failed
const stackState = keepStateOfFailedRuns();

afterAll(async () => {
  await h?.stack.stop();
  stackState.dispose(h?.stack.stateDir);
});

describe('a town, end to end', () => {
  it('(d) git flow: sling → polecat commits in its worktree → gt_done → merge request → refinery approves → merge → bead closed', async () => {
    const { town, repo } = await h.createTown('gitflow', { agentTokenTtlSeconds: 60 });
    const mayor = await h.mayorOf(town.id);
    const sent = await h.api.sendMayorMessage(town.id, 'Please add a note to the rig.');
    expect(sent.delivery).not.toBe('failed');

    const describe = async () =>
      `${describeAgents(await h.agentsOf(town.id))} || beads: ${(await h.api.beads(town.id)).map((b) => `${b.type}:${b.id}:${b.status}`).join(', ')}`;
    const sling = await waitFor(() => h.scenario.slings.find((s) => s.mayorId === mayor.id), {
      timeoutMs: 120_000,
      what: 'the mayor to sling a bead',
      describe,
    });
    const closed = await waitFor(async () => (await h.api.beads(town.id)).find((b) => b.id === sling.beadId && b.status === 'closed'), {
      timeoutMs: 300_000,
      intervalMs: 2_000,
      what: `bead ${sling.beadId} to be closed by a merge`,
      describe,
    });

    // the polecat's commit, made by opencode's bash tool in its worktree, is on main now
    const commit = h.scenario.commits.find((c) => c.beadId === sling.beadId);
    expect(commit, 'the polecat committed').toBeDefined();
    expect(commit!.branch).toMatch(new RegExp(`^gt/ag_[a-z0-9]+/${sling.beadId}$`));
    expect(branchContains(repo!.path, repo!.defaultBranch, commit!.sha)).toBe(true);
    expect(fileOn(repo!.path, repo!.defaultBranch, commit!.file)).toContain('Written by polecat');

    // the merge request went through the refinery and was merged by the container
    const beads = await h.api.beads(town.id);
    const mr = beads.find((b) => b.type === 'merge_request' && b.metadata.sourceBeadId === sling.beadId);
    expect(mr?.status).toBe('closed');
    expect(mr?.metadata.branch).toBe(commit!.branch);
    expect(String(mr?.metadata.commitSha)).toMatch(/^[0-9a-f]{40}$/);
    expect(branchContains(repo!.path, repo!.defaultBranch, String(mr!.metadata.commitSha))).toBe(true);
    expect(closed.metadata.commitSha).toBe(mr!.metadata.commitSha);
    // the scenario sees the approval in the refinery's next model turn (gt_done's result); the merge can land first
    const approval = await waitFor(() => h.scenario.approvals.find((a) => a.mergeRequestBeadId === mr!.id), {
      timeoutMs: 60_000,
      what: `the refinery's turn after approving ${mr!.id}`,
    });
    expect(approval.branch).toBe(commit!.branch);

    const types = (await h.api.allEvents(town.id)).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['bead.created', 'merge_request.created', 'merge_request.merged']));

    const agents = await h.agentsOf(town.id);
    expect(agents.map((a) => a.role).sort()).toEqual(expect.arrayContaining(['mayor', 'polecat', 'refinery']));
    for (const a of agents) expect(failedToolResults(a.id), `${a.role} ${a.id} tool failures`).toEqual([]);
    const report = unauthorizedFor(h.stack, town.id, agents, await instanceIdsOf(town.id, agents));
    expect(report).toMatchObject({ total: 0 });
  });

  /*
   * A container sleeps after sleepAfter without inbound requests, and a working polecat makes
   * only outbound ones. Its working heartbeats make the control plane renew the container's
   * sleep window (keep-awake, no request to the container): without that, the container sleeps
   * 20 s into the held model request and the polecat is stopped mid-task.
   */
  it('(e) a polecat working longer than sleepAfter keeps its container awake; once the work is done it sleeps on time', async () => {
    const sleepAfterSeconds = 20;
    const { town, repo } = await h.createTown('long-task', { agentTokenTtlSeconds: 60, sleepAfterSeconds });
    const mayor = await h.mayorOf(town.id);
    const describe = async () =>
      `${describeAgents(await h.agentsOf(town.id))} || host ${JSON.stringify({ ...(await h.stack.hostState(town.id)), inbound: undefined })}`;
    const gate = h.scenario.holdPolecats();
    let heldMs = 0;
    try {
      expect((await h.api.sendMayorMessage(town.id, 'Please add a note.')).delivery).not.toBe('failed');
      await waitFor(() => h.scenario.slings.some((s) => s.mayorId === mayor.id), { timeoutMs: 120_000, what: 'the mayor to sling', describe });
      await waitFor(() => gate.pending() >= 1, { timeoutMs: 180_000, what: "the polecat's model request", describe });
      const heldAt = Date.now();
      const before = await h.stack.hostState(town.id);
      expect(before.running).toBe(true);
      // 2.5 × sleepAfter of work, checked every 5 s: never asleep, no inbound request needed
      while (Date.now() - heldAt < sleepAfterSeconds * 2_500) {
        await sleep(5_000);
        const now = await h.stack.hostState(town.id);
        expect(now, 'the container while the polecat works').toMatchObject({ running: true, instanceId: before.instanceId, sleeps: before.sleeps });
      }
      heldMs = Date.now() - heldAt;
      const during = await h.stack.hostState(town.id);
      expect(
        during.inbound.filter((r) => r.at > heldAt + 1_000),
        'inbound requests while the polecat worked',
      ).toEqual([]);
      expect(during.keepAwakes - before.keepAwakes, 'keep-awakes while the polecat worked').toBeGreaterThanOrEqual(Math.floor(heldMs / 10_000));
    } finally {
      gate.release();
    }
    const sling = h.scenario.slings.find((s) => s.mayorId === mayor.id)!;
    await expectMerged(town.id, sling.beadId, repo!, 'the long task to be merged', describe);
    const polecats = (await h.agentsOf(town.id)).filter((a) => a.role === 'polecat');
    // one run (gen 1), whose completion revoked its credentials (gen + 1): never stopped and re-dispatched
    expect(
      polecats.map((p) => p.credential.gen),
      'the polecat was never stopped and re-dispatched',
    ).toEqual([2]);

    // the work done, nobody keeps it awake: it sleeps sleepAfter after the last renewal or request
    const slept = await waitFor(
      async () => {
        const st = await h.stack.hostState(town.id);
        return !st.running ? { state: st, at: Date.now() } : null;
      },
      { timeoutMs: 180_000, intervalMs: 500, what: 'the container to sleep after the work', describe },
    );
    expect(slept.state.sleeps).toBe(1);
    const lastActivity = Math.max(slept.state.lastInboundAt ?? 0, slept.state.lastKeptAwakeAt ?? 0);
    expect(slept.at - lastActivity).toBeGreaterThanOrEqual(sleepAfterSeconds * 1000 - 1_000);
    expect(slept.at - lastActivity).toBeLessThanOrEqual((sleepAfterSeconds + 20) * 1000);
    for (const a of await h.agentsOf(town.id)) expect(failedToolResults(a.id), `${a.role} ${a.id} tool failures`).toEqual([]);
    console.log(
      `keep-awake figures ${JSON.stringify({ sleepAfterSeconds, heldMs, keepAwakes: slept.state.keepAwakes, sleptAfterMs: slept.at - lastActivity })}`,
    );
  });

  /*
   * How this test fails when a token is not kept fresh: tokens live 10 s and are accepted for
   * at most 10 s + 60 s clock tolerance. Without broker pull refreshes (and without warm-send
   * grants) the mayor's token is dead ~70 s into the run; every later gt_list_rigs/gt_sling
   * (and every heartbeat, event batch, completion report) gets 401 token_expired. That shows
   * up in the model's tool results ("gt_sling failed: token_expired: …"), in the container's
   * `control_plane.unauthorized` log lines, in wrangler's 401 request lines, and in the
   * broker's reported unauthorizedCount — each asserted to be zero below. A "fix" that restarts
   * the agent to hand it a new token fails the pid/session assertions instead.
   */
  it('(a) 10 s tokens, a mayor messaged every 25–40 s for 3 minutes: zero 401s, same process and session, polecats finish', async () => {
    const { town, repo } = await h.createTown('churn', { agentTokenTtlSeconds: 10 });
    expect(town.config.agentTokenTtlSeconds).toBe(10);
    const mayor = await h.mayorOf(town.id);
    const random = seededRandom(Number(process.env.E2E_SEED ?? 20260426));
    const samples: Array<{ n: number; pid: number | null; sessionId: string | null; gen: number; refreshCount: number }> = [];
    const t0 = Date.now();
    const describe = async () => `${describeAgents(await h.agentsOf(town.id))} || slings ${h.scenario.slings.filter((s) => s.mayorId === mayor.id).length}`;

    let n = 0;
    const turn = async () => {
      n += 1;
      const sentAt = Date.now();
      const res = await h.api.sendMayorMessage(town.id, `Task ${n}: please add a note.`);
      expect(res.delivery, `delivery of message ${n}`).not.toBe('failed');
      // every turn: gt_list_rigs then gt_sling (the scenario) — wait until the sling is recorded
      await waitFor(() => h.scenario.slings.filter((s) => s.mayorId === mayor.id).length >= n && turnsEnded(mayor.id) >= n, {
        timeoutMs: 90_000,
        what: `the mayor's turn ${n}`,
        describe,
      });
      const runtime = await mayorRuntime(town.id, mayor.id);
      samples.push({ n, pid: runtime.pid, sessionId: runtime.sessionId, gen: runtime.gen, refreshCount: runtime.credential.refreshCount });
      return sentAt;
    };

    for (;;) {
      const sentAt = await turn();
      const gapMs = 25_000 + Math.floor(random() * 15_000);
      await sleep(Math.max(0, sentAt + gapMs - Date.now()));
      if (Date.now() - t0 >= CHURN_SECONDS * 1000) break;
    }
    await turn(); // one more turn after ≥ 18 token lifetimes
    const elapsedS = (Date.now() - t0) / 1000;
    expect(elapsedS).toBeGreaterThanOrEqual(CHURN_SECONDS);

    // same mayor process and session from the first message to the last
    expect(samples.length).toBe(n);
    expect(samples[0]!.pid).not.toBeNull();
    expect(samples[0]!.sessionId).not.toBeNull();
    expect(new Set(samples.map((s) => s.pid)).size, `pids: ${samples.map((s) => s.pid).join(',')}`).toBe(1);
    expect(new Set(samples.map((s) => s.sessionId)).size).toBe(1);
    expect(new Set(samples.map((s) => s.gen)).size).toBe(1);
    expect(sessionIdsSeenByLlm(h.stack, mayor.id)).toEqual([samples[0]!.sessionId]);
    // the broker refreshed all along (pull at ~50 % of 10 s, plus warm-send grants)
    expect(samples.at(-1)!.refreshCount - samples[0]!.refreshCount).toBeGreaterThanOrEqual(Math.floor(CHURN_SECONDS / 10));

    // every turn called gt_list_rigs and gt_sling successfully
    const mayorResults = h.stack.fakeLlm!.toolResults(mayor.id);
    expect(mayorResults.filter((r) => r.name === 'gt_list_rigs').length).toBe(n);
    expect(mayorResults.filter((r) => r.name === 'gt_sling').length).toBe(n);
    expect(failedToolResults(mayor.id)).toEqual([]);

    // polecats work their beads: every slung bead is merged and closed
    const slung = h.scenario.slings.filter((s) => s.mayorId === mayor.id).map((s) => s.beadId);
    await waitFor(
      async () => {
        const beads = await h.api.beads(town.id);
        return slung.every((id) => beads.find((b) => b.id === id)?.status === 'closed');
      },
      {
        timeoutMs: 300_000,
        intervalMs: 3_000,
        what: `all ${slung.length} slung beads to be closed`,
        describe: async () =>
          `${(await h.api.beads(town.id))
            .filter((b) => slung.includes(b.id))
            .map((b) => `${b.id}:${b.status}`)
            .join(', ')} || ${describeAgents(await h.agentsOf(town.id))}`,
      },
    );
    for (const beadId of slung) {
      const commit = h.scenario.commits.find((c) => c.beadId === beadId);
      expect(commit, `commit for ${beadId}`).toBeDefined();
      expect(branchContains(repo!.path, repo!.defaultBranch, commit!.sha)).toBe(true);
    }

    // zero 401s anywhere, for every agent of the town
    const agents = await h.agentsOf(town.id);
    for (const a of agents) expect(failedToolResults(a.id), `${a.role} ${a.id} tool failures`).toEqual([]);
    const report = unauthorizedFor(h.stack, town.id, agents, await instanceIdsOf(town.id, agents));
    expect(report).toEqual({ toolResults: [], containerLines: [], workerLines: [], reportedByBroker: [], total: 0 });
    const finalMayor = agents.find((a) => a.id === mayor.id)!;
    expect(finalMayor.credential.gen).toBe(samples[0]!.gen);
    expect(finalMayor.credential.reported?.consecutiveFailures).toBe(0);

    // after 18+ refreshes, no access token, refresh credential or secret in the environment or
    // command line of any live agent process (or its children)
    const pids = agentProcessPids(h.stack.stateDir);
    expect(pids.length, 'live agent processes').toBeGreaterThanOrEqual(1);
    const processScan = await scanForSecrets({ secrets: stackSecrets(), roots: { processTrees: pids } });
    expect(processScan.hits).toEqual([]);
    expect(processScan.scanned.processes).toBeGreaterThanOrEqual(pids.length);
  });

  it('(b) sleep → wake with fresh credentials; crash → working polecat re-dispatched with gen + 1; old-generation tokens get 401 token_revoked', async () => {
    const sleepAfterSeconds = 20;
    const { town } = await h.createTown('sleepy', { rig: false, agentTokenTtlSeconds: 30, sleepAfterSeconds });
    const mayor = await h.mayorOf(town.id);
    const describe = async () =>
      `${describeAgents(await h.agentsOf(town.id))} || host ${JSON.stringify({ ...(await h.stack.hostState(town.id)), inbound: undefined })}`;
    const waitMayor = (what: string, ok: (m: Agent) => boolean, timeoutMs = 60_000) =>
      waitFor(
        async () => {
          const m = await h.mayorOf(town.id);
          return ok(m) ? m : null;
        },
        { timeoutMs, what, describe },
      );

    // 1. the first message starts the container and the mayor (no rig yet: it answers, nothing else runs)
    expect((await h.api.sendMayorMessage(town.id, 'First message.')).delivery).not.toBe('failed');
    await waitFor(() => turnsEnded(mayor.id) >= 1, { timeoutMs: 120_000, what: 'the first answer', describe });
    const gen1 = (await waitMayor('the mayor to wait', (m) => m.status === 'waiting')).credential.gen;
    expect(gen1).toBeGreaterThanOrEqual(1);
    expect(await h.stack.hostState(town.id)).toMatchObject({ running: true, starts: 1, sleeps: 0 });

    // 2. no inbound request for sleepAfter → the container sleeps, on time
    const slept = await waitFor(
      async () => {
        const s = await h.stack.hostState(town.id);
        return !s.running && s.sleeps >= 1 ? { state: s, at: Date.now() } : null;
      },
      { timeoutMs: (sleepAfterSeconds + 60) * 1000, intervalMs: 500, what: 'the container to sleep', describe },
    );
    const idleForMs = slept.at - slept.state.lastInboundAt!;
    expect(idleForMs).toBeGreaterThanOrEqual(sleepAfterSeconds * 1000 - 1_000);
    expect(idleForMs).toBeLessThanOrEqual((sleepAfterSeconds + 20) * 1000);

    // 3. the next message wakes it: the mayor starts again, with a new generation and fresh credentials, and works
    const wakeSentAt = Date.now();
    expect((await h.api.sendMayorMessage(town.id, 'Wake up.')).delivery).not.toBe('failed');
    await waitFor(() => turnsEnded(mayor.id) >= 2, { timeoutMs: 120_000, what: 'the answer after wake', describe });
    const woken = await h.stack.hostState(town.id);
    expect(woken).toMatchObject({ running: true, starts: 2 });
    const afterWake = await waitMayor('the woken mayor to wait', (m) => m.status === 'waiting');
    const gen2 = afterWake.credential.gen;
    expect(gen2).toBeGreaterThan(gen1);
    expect(afterWake.credential.tokenIssuedAt!).toBeGreaterThanOrEqual(wakeSentAt - 1_000);
    expect(failedToolResults(mayor.id)).toEqual([]);

    // 4. crash while a polecat works: its model request is held, so it is busy when the container dies
    const { repo } = await h.addRig(town.id, 'sleepy-rig');
    const gate = h.scenario.holdPolecats();
    let survivors: number[] = [];
    try {
      expect((await h.api.sendMayorMessage(town.id, 'Please add a note.')).delivery).not.toBe('failed');
      await waitFor(() => turnsEnded(mayor.id) >= 3, { timeoutMs: 120_000, what: 'the mayor to sling', describe });
      const sling = h.scenario.slings.find((s) => s.mayorId === mayor.id)!;
      expect(sling).toBeDefined();
      const polecat = await waitFor(
        async () => (await h.agentsOf(town.id)).find((a) => a.role === 'polecat' && a.beadId === sling.beadId && a.status === 'working'),
        {
          timeoutMs: 180_000,
          what: 'a polecat working on the bead',
          describe,
        },
      );
      await waitFor(() => gate.pending() >= 1, { timeoutMs: 120_000, what: "the polecat's model request", describe });
      const polecatGen = polecat.credential.gen;
      const mayorGenBeforeCrash = (await h.mayorOf(town.id)).credential.gen;
      const crashed = await h.stack.hostState(town.id);
      const townDir = `${h.stack.stateDir}/host/towns/${town.id}`;
      const before = findStackProcesses(townDir);
      expect(before.length, 'container + mayor + polecat processes').toBeGreaterThanOrEqual(3);

      expect(await h.stack.killContainer(town.id)).toBe(true);
      await sleep(3_000);
      // A crashed container takes its agents with it (as in production): no agent process may
      // survive it. Checked softly, then finished off like a real crash would, so the rest of the
      // test still runs when the local host leaves agent runtimes behind.
      survivors = before.map((p) => p.pid).filter(isAlive);
      expect.soft(survivors, 'agent processes of the killed container still running').toEqual([]);
      for (const pid of survivors) killQuietly(pid);

      // the control plane notices (missed heartbeats) and re-dispatches the polecat, which had work, with gen + 1
      const redispatched = await waitFor(
        async () => {
          const p = (await h.agentsOf(town.id)).find((a) => a.id === polecat.id);
          const s = await h.stack.hostState(town.id);
          return p && p.credential.gen > polecatGen && s.running && s.instanceId !== crashed.instanceId && p.containerInstanceId === s.instanceId ? p : null;
        },
        { timeoutMs: 180_000, intervalMs: 2_000, what: 'the polecat to be re-dispatched after the crash', describe },
      );
      // ARCHITECTURE: "re-dispatches with gen + 1" (checked softly so the rest of the flow still runs)
      expect.soft(redispatched.credential.gen, 'generation of the re-dispatched polecat').toBe(polecatGen + 1);
      expect(redispatched.beadId).toBe(sling.beadId);
      // the mayor had no work: its old run is revoked (gen + 1), and it starts again on the next message
      const mayorAfterCrash = await waitMayor('the crashed mayor run to be revoked', (m) => m.credential.gen > mayorGenBeforeCrash);
      expect(mayorAfterCrash.status).not.toBe('working');

      // 5. tokens of older generations are revoked; the current generation is accepted
      const call = async (agent: Agent, tool: string, gen: number) => {
        const token = await mintTestAgentToken(h.stack.keys, {
          agentId: agent.id,
          townId: town.id,
          rigId: agent.rigId,
          userId: E2E_USER,
          role: agent.role,
          gen,
        });
        const url = h.stack.workerUrl + routePath(AGENT_API.tool, { townId: town.id, agentId: agent.id, tool });
        return requestJson(url, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: {} });
      };
      const refused: Array<[Agent, string, number]> = [
        [polecat, 'prime', polecatGen],
        [mayorAfterCrash, 'list_rigs', gen1],
        [mayorAfterCrash, 'list_rigs', gen2],
        [mayorAfterCrash, 'list_rigs', mayorGenBeforeCrash],
      ];
      for (const [agent, tool, gen] of refused) {
        const res = await call(agent, tool, gen);
        expect([res.status, errorCodeOf(res.body)], `${agent.role} gen ${gen}`).toEqual([401, 'token_revoked']);
      }
      const accepted = await call(redispatched, 'prime', redispatched.credential.gen);
      expect(accepted.status).toBe(200);
      expect(accepted.body).toMatchObject({ agent: { id: polecat.id }, hookedBead: { id: sling.beadId } });

      // 6. the re-dispatched polecat finishes the bead; the merge lands on the rig's default branch
      gate.release();
      await expectMerged(town.id, sling.beadId, repo, 'the bead to be merged after the crash', describe);

      // the mayor starts again on the next message and works
      expect((await h.api.sendMayorMessage(town.id, 'After the crash.')).delivery).not.toBe('failed');
      await waitFor(() => turnsEnded(mayor.id) >= 4, { timeoutMs: 120_000, what: 'the answer after the crash', describe });
      for (const a of await h.agentsOf(town.id)) expect(failedToolResults(a.id), `${a.role} ${a.id} tool failures`).toEqual([]);

      // nothing but the forged old-generation requests got a 401
      const agents = await h.agentsOf(town.id);
      const report = unauthorizedFor(h.stack, town.id, agents, await instanceIdsOf(town.id, agents));
      expect(report.toolResults).toEqual([]);
      expect(report.containerLines).toEqual([]);
      expect(report.reportedByBroker).toEqual([]);
      expect(report.workerLines).toHaveLength(refused.length);
    } finally {
      gate.release();
      for (const pid of survivors) killQuietly(pid);
    }
  });

  it('(c) idle town: zero inbound requests to its container for 10 minutes while the broker keeps refreshing; then it sleeps on time', async () => {
    const { townId, mayorId, markAt } = idle;
    const endAt = markAt + IDLE_SECONDS * 1000;
    const counts: number[] = [];
    // wait out the rest of the window, checking every 30 s (fail fast on the first inbound)
    while (Date.now() < endAt) {
      await sleep(Math.min(30_000, endAt - Date.now()));
      const state = await h.stack.hostState(townId);
      expect(
        state.inbound.filter((r) => r.at > markAt),
        'inbound requests to the idle container',
      ).toEqual([]);
      const m = await h.mayorOf(townId);
      counts.push(m.credential.reported?.refreshCount ?? -1);
    }
    const state = await h.stack.hostState(townId);
    expect(state.inbound.filter((r) => r.at > markAt)).toEqual([]);
    expect(state).toMatchObject({ running: true, instanceId: idle.instanceId, starts: 1, sleeps: 0 });

    // meanwhile the broker refreshed on its own (tokens of 20 s: a pull every ~10 s), outbound only
    const mayor = await h.mayorOf(townId);
    const reported = mayor.credential.reported!;
    expect(reported.refreshCount - idle.refreshCountAtMark).toBeGreaterThanOrEqual(Math.floor(IDLE_SECONDS / 20));
    expect(mayor.credential.refreshCount - idle.cpRefreshCountAtMark).toBeGreaterThanOrEqual(Math.floor(IDLE_SECONDS / 20));
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(reported).toMatchObject({ state: 'valid', unauthorizedCount: 0, consecutiveFailures: 0 });
    expect(reported.lastRefreshSource).toBe('pull');
    expect(Date.now() - mayor.lastHeartbeatAt!).toBeLessThan(30_000);
    expect(mayor.status).toBe('waiting');

    // a short sleepAfter now: the container goes to sleep on time, still without an inbound request
    const sleepAfterSeconds = 15;
    const patchedAt = Date.now();
    await h.api.updateConfig(townId, { sleepAfterSeconds });
    const slept = await waitFor(
      async () => {
        const s = await h.stack.hostState(townId);
        return !s.running ? { state: s, at: Date.now() } : null;
      },
      {
        timeoutMs: (sleepAfterSeconds + 45) * 1000,
        intervalMs: 500,
        what: 'the idle container to sleep',
        describe: async () => JSON.stringify({ ...(await h.stack.hostState(townId)), inbound: undefined }),
      },
    );
    expect(slept.at - patchedAt).toBeLessThanOrEqual((sleepAfterSeconds + 20) * 1000);
    expect(slept.state.sleeps).toBe(1);
    expect(slept.state.inbound.filter((r) => r.at > markAt)).toEqual([]);

    const agents = await h.agentsOf(townId);
    const report = unauthorizedFor(h.stack, townId, agents, new Set([idle.instanceId]));
    expect(report).toMatchObject({ total: 0 });
    expect(failedToolResults(mayorId)).toEqual([]);
  });

  /*
   * The leak scan: logs, stored events (the Durable Object storage as bytes, and every town's
   * events as the API serves them), agent homes and workspaces, the rig repositories and the git
   * config of every repository and worktree — for the stack's secrets, anything shaped like an
   * access token (JWT) and any refresh credential. Then it plants a token, a refresh credential
   * and the provider key where an agent could have leaked them and proves the same scan finds them.
   */
  it('stops without orphan processes; no credential in logs, stored events, workspaces or git config (and the scan finds planted ones)', async () => {
    const secrets = stackSecrets();
    const dump = join(h.stack.stateDir, 'events-dump.json');
    const towns = await h.api.towns();
    expect(towns.length).toBeGreaterThanOrEqual(4);
    const events = await Promise.all(towns.map((t) => h.api.allEvents(t.id)));
    writeFileSync(dump, JSON.stringify(events));
    expect(events.flat().length).toBeGreaterThan(100);

    const report = await h.stack.stop();
    expect(report.orphans).toEqual([]);
    expect(findStackProcesses(h.stack.stateDir)).toEqual([]);
    expect(collectLogFiles(h.stack.stateDir).length).toBeGreaterThanOrEqual(2);

    // the Durable Objects' rows, every table but the town env var store (where the provider key belongs)
    const rows = dumpStoredRows(join(h.stack.stateDir, WRANGLER_STATE), join(h.stack.stateDir, 'stored-rows.jsonl'));
    expect(rows.databases, 'one database per town and per user registry').toBeGreaterThanOrEqual(towns.length + 1);
    expect(rows.rows).toBeGreaterThan(events.flat().length);

    const roots = stateDirScanRoots(h.stack.stateDir);
    const agentRepos = roots.gitRepos!.filter((r) => r.includes('/host/'));
    expect(agentRepos.length, 'agent workspaces and clones').toBeGreaterThanOrEqual(3);
    expect(roots.gitRepos!.length - agentRepos.length, 'rig repositories').toBeGreaterThanOrEqual(3);
    const scan = await scanForSecrets({ secrets, roots: { ...roots, sqliteDirs: [] } });
    expect(scan.errors).toEqual([]);
    expect(scan.hits).toEqual([]);
    expect(scan.scanned.files).toBeGreaterThan(100);
    // the storage bytes (-wal included): every secret but the provider key, every token shape
    const storage = await scanForSecrets({ secrets: secrets.filter((v) => v !== h.llmApiKey), roots: { sqliteDirs: roots.sqliteDirs! } });
    expect(storage.errors).toEqual([]);
    expect(storage.hits).toEqual([]);

    // planted: a real access token in a workspace file, a refresh credential in a log, the provider key in a worktree's git config
    const token = await mintTestAgentToken(h.stack.keys, {
      agentId: 'ag_planted01',
      townId: towns[0]!.id,
      rigId: null,
      userId: E2E_USER,
      role: 'mayor',
      gen: 1,
    });
    const workspace = agentRepos[0]!;
    writeFileSync(join(workspace, 'planted-notes.md'), `notes\n${token}\n`);
    const log = collectLogFiles(h.stack.stateDir)[0]!;
    appendFileSync(log, `refresh with ${REFRESH_CREDENTIAL_PREFIX}${'A1b2C3d4'.repeat(5)}\n`);
    // agent repositories belong to the agents' uids: root's git reads them only past its ownership check
    execFileSync('git', ['-c', 'safe.directory=*', '-C', agentRepos.at(-1)!, 'config', '--local', 'gastown.planted', h.llmApiKey]);
    const planted = await scanForSecrets({ secrets, roots: { ...stateDirScanRoots(h.stack.stateDir), sqliteDirs: [] } });
    const found = planted.hits.map((hit) => `${hit.kind} ${hit.where}`);
    expect(found).toEqual(
      expect.arrayContaining([
        `jwt file:${join(workspace, 'planted-notes.md')}`,
        `refresh_credential file:${log}`,
        expect.stringMatching(new RegExp(`^secret git:${agentRepos.at(-1)!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:`)),
      ]),
    );
    expect(JSON.stringify(planted.hits)).not.toContain(token);
    expect(JSON.stringify(planted.hits)).not.toContain(h.llmApiKey);
  });
});
