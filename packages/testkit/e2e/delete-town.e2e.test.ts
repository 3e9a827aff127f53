/**
 * Deleting a town while a polecat works (issue 16 point 3), end to end: real workerd, container
 * host, town container and `opencode serve` agents, the scripted town on the fake LLM.
 *
 * The mayor slings a bead; its polecat's model request is held, so it is mid-work when the user
 * sends `DELETE /api/towns/:townId`. Afterwards: no process of the town is left (the stack's
 * process scan over the town's data dir, and every agent runtime seen before), no file of it under
 * the host's data dir, no stored row anywhere names it, its rig, agents or beads (every Durable
 * Object's rows, dumped like the leak scan does, after the stack stopped), the access tokens and
 * refresh credentials its agents really held (read on the wire by support/credential-tap.ts) get
 * 401 from the agent API, and its id answers 404. A second town of the same user is left alone
 * (and proves the rows dump reads what is there).
 */
import { existsSync, readdirSync, readFileSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_API, routePath, USER_API, type Agent } from '@gastown/protocol';
import { errorCodeOf, findStackProcesses, requestJson, type HttpResult } from '../src/stack/index';
import { startCredentialTap, type CredentialTap } from './support/credential-tap';
import { agentProcessPids, dumpStoredRows, WRANGLER_STATE } from './support/leak-check';
import { describeAgents, startHarness, waitFor, type Harness } from './support/harness';
import { keepStateOfFailedRuns } from './support/stack-state-keeper';

let h: Harness;
let tap: CredentialTap;
let releaseHeld: (() => void) | null = null;

beforeAll(async () => {
  tap = await startCredentialTap();
  // the containers call the control plane through the tap; it learns the worker's URL once the stack runs
  h = await startHarness({ workerVars: { GASTOWN_PUBLIC_URL: tap.url } });
  tap.setTarget(h.stack.workerUrl);
});

const stackState = keepStateOfFailedRuns();

afterAll(async () => {
  releaseHeld?.();
  await h?.stop();
  await tap?.stop();
  stackState.dispose(h?.stack.stateDir);
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A pid's environment names `dir` (the town's data dir): one of the town's processes. */
function environNames(pid: number, dir: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`).includes(Buffer.from(dir));
  } catch {
    return false;
  }
}

/** Paths below `root` whose name contains `needle`, skipping the top-level entries in `skip`. */
function pathsNaming(root: string, needle: string, skip: ReadonlySet<string>, depth = 0): string[] {
  const found: string[] = [];
  let entries: Dirent[];
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (depth === 0 && skip.has(entry.name)) continue;
    const path = join(root, entry.name);
    if (entry.name.includes(needle)) found.push(path);
    if (entry.isDirectory() && depth < 16) found.push(...pathsNaming(path, needle, skip, depth + 1));
  }
  return found;
}

/** The tool an agent of this role may call without side effects. */
const READ_TOOL: Record<Agent['role'], string> = { mayor: 'list_rigs', polecat: 'prime', refinery: 'prime' };

describe('deleting a town', () => {
  it('while a polecat works: no process, no file, no row left; its tokens and refresh credentials 401; its id 404', async () => {
    const survivor = await h.createTown('survivor', { rig: false });
    // tokens of 20 s: each broker refreshes every ~10 s, so the tap sees refresh credentials soon
    const { town, rig } = await h.createTown('doomed', { agentTokenTtlSeconds: 20, sleepAfterSeconds: 900 });
    const townId = town.id;
    const townDir = join(h.stack.stateDir, 'host', 'towns', townId);
    const gate = h.scenario.holdPolecats();
    releaseHeld = () => gate.release();
    const snapshot = async () =>
      `${describeAgents(await h.agentsOf(townId))} | held ${gate.pending()} | tap: ${tap.requests} requests, ${tap.issued.length} refreshes`;

    expect((await h.api.sendMayorMessage(townId, 'Please add a note.')).delivery).not.toBe('failed');
    const polecat = await waitFor(async () => (await h.agentsOf(townId)).find((a) => a.role === 'polecat' && a.status === 'working'), {
      timeoutMs: 120_000,
      what: 'a polecat working on the slung bead',
      describe: snapshot,
    });
    await waitFor(() => gate.pending() >= 1, { timeoutMs: 60_000, what: "the polecat's model request (held)", describe: snapshot });
    const mayor = await h.mayorOf(townId);
    const agents = [mayor, polecat];
    await waitFor(() => agents.every((a) => tap.issued.some((i) => i.agentId === a.id)), {
      timeoutMs: 45_000,
      what: 'a refresh of every agent through the tap',
      describe: snapshot,
    });

    // what the town has before the deletion: processes, files, ids, live credentials
    const townPids = findStackProcesses(townDir).map((p) => p.pid);
    const runtimePids = agentProcessPids(h.stack.stateDir).filter((pid) => environNames(pid, townDir));
    expect(townPids.length, 'container + mayor + polecat processes').toBeGreaterThanOrEqual(3);
    expect(runtimePids.length, 'agent runtimes of the town').toBeGreaterThanOrEqual(2);
    expect(existsSync(townDir)).toBe(true);
    const beads = await h.api.beads(townId);
    expect(beads.some((b) => b.id === polecat.beadId)).toBe(true);
    const ids = [townId, rig!.id, ...(await h.agentsOf(townId)).map((a) => a.id), ...beads.map((b) => b.id)];

    const toolCall = (agent: Agent, token: string): Promise<HttpResult> =>
      requestJson(h.stack.workerUrl + routePath(AGENT_API.tool, { townId, agentId: agent.id, tool: READ_TOOL[agent.role] }), {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: {},
      });
    const refresh = (credential: string): Promise<HttpResult> =>
      requestJson(h.stack.workerUrl + routePath(AGENT_API.refresh, { townId }), {
        method: 'POST',
        headers: { authorization: `Bearer ${credential}` },
        body: {},
      });
    // the captured tokens are the agents' real, live ones
    for (const agent of agents) {
      const res = await toolCall(agent, tap.accessTokensOf(agent.id).at(-1)!);
      expect(res.status, `${agent.role} token before deletion: ${JSON.stringify(res.body)}`).toBe(200);
    }

    // the deletion, while the polecat's model request is held
    const startedAt = Date.now();
    const deleted = await h.api.request('DELETE', routePath(USER_API.town, { townId }));
    console.log(`DELETE town answered ${deleted.status} in ${Date.now() - startedAt} ms`);
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
    expect(deleted.body).toMatchObject({ deleted: true, townId, containerWasRunning: true });

    // no process of the town is left (a SIGKILLed process may take a moment to be reaped)
    const leftProcesses = () => [...new Set([...findStackProcesses(townDir).map((p) => p.pid), ...townPids.filter(isAlive), ...runtimePids.filter(isAlive)])];
    await waitFor(() => leftProcesses().length === 0, {
      timeoutMs: 5_000,
      intervalMs: 200,
      what: 'every process of the deleted town to be gone',
      describe: () => JSON.stringify(findStackProcesses(townDir)),
    });
    // no file of the town under the host's data dir
    expect(existsSync(townDir), townDir).toBe(false);
    expect((await h.stack.hostState(townId)).running).toBe(false);

    // its id answers 404, on every route; the user's list no longer has it; the other town is untouched
    const paths = [
      routePath(USER_API.town, { townId }),
      routePath(USER_API.rigs, { townId }),
      routePath(USER_API.rig, { townId, rigId: rig!.id }),
      routePath(USER_API.agents, { townId }),
      routePath(USER_API.beads, { townId }),
    ];
    for (const path of paths) {
      const res = await h.api.request('GET', path);
      expect([res.status, errorCodeOf(res.body)], `GET ${path}`).toEqual([404, 'not_found']);
    }
    const again = await h.api.request('DELETE', routePath(USER_API.town, { townId }));
    expect(again.status, 'DELETE again').toBe(404);
    expect((await h.api.towns()).map((t) => t.id)).toEqual([survivor.town.id]);
    expect((await h.api.town(survivor.town.id)).id).toBe(survivor.town.id);

    // the agents' real access tokens and refresh credentials: 401, refused because the town is gone
    for (const agent of agents) {
      const tokens = tap.accessTokensOf(agent.id);
      for (const [index, token] of tokens.entries()) {
        const res = await toolCall(agent, token);
        expect(res.status, `${agent.role} access token ${index + 1}/${tokens.length}`).toBe(401);
      }
      // the newest was within its lifetime: refused for the deletion, not for its age
      const newest = await toolCall(agent, tokens.at(-1)!);
      expect([newest.status, errorCodeOf(newest.body)], `${agent.role} newest access token`).toEqual([401, 'token_revoked']);
      const credentials = tap.issued.filter((i) => i.agentId === agent.id).map((i) => i.credentials.refreshCredential);
      expect(credentials.length).toBeGreaterThanOrEqual(1);
      for (const [index, credential] of credentials.entries()) {
        const res = await refresh(credential);
        expect(res.status, `${agent.role} refresh credential ${index + 1}/${credentials.length}`).toBe(401);
      }
      // the newest was the one in force when the town was deleted (never presented since)
      const newestRefresh = await refresh(credentials.at(-1)!);
      expect([newestRefresh.status, errorCodeOf(newestRefresh.body)], `${agent.role} newest refresh credential`).toEqual([401, 'token_revoked']);
    }

    // still nothing came back meanwhile (no restart of the deleted town's container)
    expect(leftProcesses()).toEqual([]);
    expect(existsSync(townDir)).toBe(false);

    // no file or directory below the stack's state names the town (but the logs, and the rig's own repository: the user's)
    expect(pathsNaming(h.stack.stateDir, townId, new Set(['logs', 'repos']))).toEqual([]);

    // no stored row names the town, its rig, agents or beads: every Durable Object's rows, read after the stop
    const report = await h.stop();
    expect(report.orphans).toEqual([]);
    const dumpFile = join(h.stack.stateDir, 'stored-rows.jsonl');
    const counts = dumpStoredRows(join(h.stack.stateDir, WRANGLER_STATE), dumpFile);
    const rows = existsSync(dumpFile) ? readFileSync(dumpFile, 'utf8').split('\n').filter(Boolean) : [];
    expect(rows.length).toBe(counts.rows);
    // the dump reads what is there: the surviving town's rows name it
    expect(
      rows.some((line) => line.includes(survivor.town.id)),
      'rows of the surviving town',
    ).toBe(true);
    for (const id of ids) {
      const naming = rows.filter((line) => line.includes(id));
      expect(
        naming.map((line) => line.slice(0, 300)),
        `stored rows naming ${id}`,
      ).toEqual([]);
    }
    const replayed = agents.map(
      (a) => `${a.role}: ${tap.accessTokensOf(a.id).length} tokens, ${tap.issued.filter((i) => i.agentId === a.id).length} refresh credentials`,
    );
    console.log(
      `deleted ${JSON.stringify(deleted.body)}; replayed ${replayed.join(', ')}; ${counts.rows} rows in ${counts.databases} databases, none of ${ids.length} ids`,
    );
  });
});
