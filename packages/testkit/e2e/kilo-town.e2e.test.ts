/**
 * The kilo runtime, end to end (issue 14): the shortest town flow of town.e2e (d) with
 * `runtime: 'kilo'` — real workerd, container host, container, and `kilo serve` agents (the
 * pinned @kilocode/cli binary) driven by the scripted town on the fake LLM: the mayor slings, a
 * polecat commits and calls gt_done, the refinery approves, the container merges, the bead is
 * closed. The agents really are kilo processes, nothing failed a tool call or got a 401, and the
 * usage the broker measured equals the fake LLM's counts.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { branchContains, failureCodeOf, fileOn } from '../src/stack/index';
import { describeAgents, startHarness, waitFor, type Harness } from './support/harness';
import { agentProcessPids } from './support/leak-check';
import { unauthorizedFor } from './support/unauthorized';
import { fetchUsage, llmCallsOf, sumsOf, sumsOfRow } from './support/usage';
import { keepStateOfFailedRuns } from './support/stack-state-keeper';

const startedAt = Date.now();
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

const stackState = keepStateOfFailedRuns();

afterAll(async () => {
  await h?.stop();
  stackState.dispose(h?.stack.stateDir);
  console.log(`usage-figures ${JSON.stringify({ file: 'kilo-town', durationMs: Date.now() - startedAt })}`);
});

/** The executable and command line of a process (`?` when it is gone). */
function processOf(pid: number): { exe: string; cmdline: string } {
  const read = (f: () => string) => {
    try {
      return f();
    } catch {
      return '?';
    }
  };
  return {
    exe: read(() => readlinkSync(`/proc/${pid}/exe`)),
    cmdline: read(() => readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ')),
  };
}

describe('a town on the kilo runtime', () => {
  it('sling → polecat commits → gt_done → refinery approves → merge → bead closed, with `kilo serve` agents', async () => {
    const { town, repo } = await h.createTown('kilo', { agentTokenTtlSeconds: 60, config: { runtime: 'kilo' } });
    expect(town.config.runtime).toBe('kilo');
    const mayor = await h.mayorOf(town.id);
    const describe = async () =>
      `${describeAgents(await h.agentsOf(town.id))} || beads: ${(await h.api.beads(town.id)).map((b) => `${b.type}:${b.id}:${b.status}`).join(', ')}`;
    expect((await h.api.sendMayorMessage(town.id, 'Please add a note to the rig.')).delivery).not.toBe('failed');

    const sling = await waitFor(() => h.scenario.slings.find((s) => s.mayorId === mayor.id), {
      timeoutMs: 150_000,
      what: 'the mayor to sling a bead',
      describe,
    });
    // while the polecat works: the agent runtimes are kilo processes
    await waitFor(async () => (await h.agentsOf(town.id)).find((a) => a.role === 'polecat' && a.status === 'working'), {
      timeoutMs: 180_000,
      what: 'a working polecat',
      describe,
    });
    const runtimes = agentProcessPids(h.stack.stateDir).map(processOf);
    // the mayor's and the polecat's runtimes (their sandbox wrappers and tools' processes carry the agent's env too)
    const kilo = runtimes.filter((p) => p.exe.endsWith('/@kilocode/cli-linux-x64/bin/kilo') && / serve /.test(p.cmdline));
    expect(kilo.length, `kilo runtimes among ${runtimes.map((p) => p.exe).join(', ')}`).toBeGreaterThanOrEqual(2);
    expect(
      runtimes.filter((p) => /opencode/.test(p.exe)),
      'opencode executables',
    ).toEqual([]);

    await waitFor(async () => (await h.api.beads(town.id)).find((b) => b.id === sling.beadId && b.status === 'closed'), {
      timeoutMs: 300_000,
      intervalMs: 2_000,
      what: `bead ${sling.beadId} to be closed by a merge`,
      describe,
    });
    const commit = h.scenario.commits.find((c) => c.beadId === sling.beadId);
    expect(commit, 'the polecat committed').toBeDefined();
    expect(branchContains(repo!.path, repo!.defaultBranch, commit!.sha)).toBe(true);
    expect(fileOn(repo!.path, repo!.defaultBranch, commit!.file)).toContain('Written by polecat');
    const mr = (await h.api.beads(town.id)).find((b) => b.type === 'merge_request' && b.metadata.sourceBeadId === sling.beadId);
    expect(mr?.status).toBe('closed');
    // the scenario sees the approval in the refinery's next model turn (gt_done's result); the merge can land first
    await waitFor(() => h.scenario.approvals.find((a) => a.mergeRequestBeadId === mr!.id), {
      timeoutMs: 60_000,
      what: `the refinery's turn after approving ${mr!.id}`,
      describe,
    });

    const agents = await h.agentsOf(town.id);
    expect([...new Set(agents.map((a) => a.role))].sort()).toEqual(['mayor', 'polecat', 'refinery']);
    for (const a of agents) {
      const failed = h.stack.fakeLlm!.toolResults(a.id).filter((r) => failureCodeOf(r) !== null);
      expect(
        failed.map((r) => `${r.name}: ${r.content.slice(0, 200)}`),
        `${a.role} ${a.id} tool failures`,
      ).toEqual([]);
    }
    const instanceIds = new Set(agents.map((a) => a.containerInstanceId).filter((id): id is string => id !== null));
    expect(unauthorizedFor(h.stack, town.id, agents, instanceIds)).toMatchObject({ total: 0 });

    // the broker measured every model call of the kilo agents
    const calls = llmCallsOf(h.stack.fakeLlm!, agents);
    await waitFor(
      async () => {
        const got = sumsOfRow((await fetchUsage(h.api, town.id)).totals);
        const expected = sumsOf(llmCallsOf(h.stack.fakeLlm!, agents));
        return JSON.stringify(got) === JSON.stringify(expected);
      },
      {
        timeoutMs: 60_000,
        intervalMs: 2_000,
        what: 'usage totals to equal the fake LLM counts',
        describe: async () => `api ${JSON.stringify(sumsOfRow((await fetchUsage(h.api, town.id)).totals))} llm ${JSON.stringify(sumsOf(calls))}`,
      },
    );
    console.log(
      `usage-figures ${JSON.stringify({ file: 'kilo-town', calls: calls.length, kinds: calls.map((r) => r.kind).filter((k) => k === 'title').length })}`,
    );
  });
});
