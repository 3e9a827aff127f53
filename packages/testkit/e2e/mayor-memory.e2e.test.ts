/**
 * The mayor remembers (issue 12), end to end with real processes: the mayor's conversation is
 * saved to the control plane (R2 under wrangler dev) and restored when its container comes back,
 * whatever took it away — sleep, SIGKILL while it waits, a worker restart with the container
 * killed meanwhile (a deploy), a SIGKILL right after a message was accepted. The proof is the fake
 * LLM's recording: the first model request of the new process carries the earlier conversation.
 *
 * Then SIGTERM while a polecat has uncommitted work: the container drains — the work is committed
 * (as the agent) and pushed on the polecat's branch, the bead is re-dispatched and the new run
 * continues from that branch — and last, the leak scan over the stored snapshots.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentRuntimeListSchema, REFRESH_CREDENTIAL_PREFIX, type Agent, type TownEvent } from '@gastown/protocol';
import { callTool, messageText, reply, toolResultsOf, type ChatMessage, type RecordedRequest, type Turn } from '../src/fake-llm/index';
import { scanForSecrets } from '../src/leak-scan/index';
import { branchContains, fileOn, git, mintTestAgentToken, roleOf } from '../src/stack/index';
import { describeAgents, E2E_USER, startHarness, waitFor, type Harness } from './support/harness';
import { WRANGLER_STATE } from './support/leak-check';
import { keepStateOfFailedRuns } from './support/stack-state-keeper';

/** What the scripted mayor answers in a town without a rig. */
const MAYOR_REPLY = 'There is no rig to hand work to yet.';
const WIP_FILE = 'notes/work-in-progress.md';
const WIP_MARKER = 'WIP_WRITTEN';

let h: Harness;

/** The drain test's polecat: write a file without committing it, then hold its next model request. */
const drain = {
  enabled: false,
  agentId: null as string | null,
  written: false,
  release: null as (() => void) | null,
};

async function interceptDrainPolecat(messages: ChatMessage[], agentId: string | null, toolNames: string[]): Promise<Turn | null> {
  if (!drain.enabled || roleOf(toolNames) !== 'polecat' || agentId === null) return null;
  drain.agentId ??= agentId;
  if (agentId !== drain.agentId) return null;
  const wrote = toolResultsOf(messages).some((r) => r.name === 'bash' && r.content.includes(WIP_MARKER));
  if (!wrote) {
    const command = `mkdir -p notes && printf '%s\\n' 'half-done work' > ${WIP_FILE} && git status --porcelain && echo ${WIP_MARKER}`;
    return callTool('bash', { command, description: 'Start the work (not committed yet)' });
  }
  drain.written = true;
  // hold: the container is stopped while this turn is still working
  await new Promise<void>((resolve) => {
    drain.release = resolve;
  });
  return reply('paused');
}

beforeAll(async () => {
  h = await startHarness({
    intercept: (request, ctx) => interceptDrainPolecat(request.messages, ctx.agentId, ctx.toolNames),
  });
});

const stackState = keepStateOfFailedRuns();

afterAll(async () => {
  drain.release?.();
  await h?.stack.stop();
  stackState.dispose(h?.stack.stateDir);
});

// ---- probes -------------------------------------------------------------------------------------

function chatRequests(agentId: string): RecordedRequest[] {
  return h.stack.fakeLlm!.chatRequests(agentId);
}

/** The first model request of `agentId` among those recorded after the first `seen`. */
function firstChatRequestAfter(seen: number, agentId: string): RecordedRequest | undefined {
  return h.stack.fakeLlm!.requests.slice(seen).find((r) => r.agentId === agentId && r.kind === 'chat');
}

function turnsEnded(agentId: string): number {
  return chatRequests(agentId).filter((r) => r.answer.type === 'text').length;
}

async function mayorPid(townId: string, mayorId: string): Promise<number | null> {
  const res = await h.stack.host.container(townId, 'GET', '/agents');
  if (res.status !== 200) return null;
  return AgentRuntimeListSchema.parse(res.body).agents.find((a) => a.agentId === mayorId)?.pid ?? null;
}

async function eventsOf(townId: string, type: string, agentId?: string): Promise<TownEvent[]> {
  return (await h.api.allEvents(townId)).filter((e) => e.type === type && (agentId === undefined || e.agentId === agentId));
}

async function mayor(townId: string): Promise<Agent> {
  return h.mayorOf(townId);
}

/** Send a message and wait for the mayor's answer to it. */
async function chat(townId: string, mayorId: string, text: string): Promise<void> {
  const before = turnsEnded(mayorId);
  const sent = await h.api.sendMayorMessage(townId, text);
  expect(sent.delivery, `delivery of "${text}"`).not.toBe('failed');
  await waitFor(() => turnsEnded(mayorId) > before, {
    timeoutMs: 120_000,
    what: `the mayor's answer to "${text}"`,
    describe: async () => describeAgents(await h.agentsOf(townId)),
  });
}

/** The conversation a model request carried: user texts and assistant texts, in order. */
function conversation(request: RecordedRequest): { users: string[]; assistants: string[] } {
  const users = request.messages.filter((m) => m.role === 'user').map((m) => messageText(m));
  const assistants = request.messages.filter((m) => m.role === 'assistant' && messageText(m).length > 0).map((m) => messageText(m));
  return { users, assistants };
}

async function waitContainerDown(townId: string, what: string): Promise<void> {
  await waitFor(async () => !(await h.stack.hostState(townId)).running, { timeoutMs: 120_000, intervalMs: 1_000, what });
}

/**
 * Five turns, `disrupt`, a sixth message: the first model request of the new mayor process holds
 * the five earlier user messages and the mayor's replies, and the process is a new one.
 */
async function expectRemembered(name: string, disrupt: (townId: string, mayorId: string) => Promise<void>, sleepAfterSeconds = 900): Promise<void> {
  const { town } = await h.createTown(name, { rig: false, sleepAfterSeconds });
  const mayorId = (await mayor(town.id)).id;
  const words = ['amber', 'basalt', 'cobalt', 'dune', 'ember'].map((w) => `${w}-${name}`);
  for (const [i, word] of words.entries()) await chat(town.id, mayorId, `Message ${i + 1} of ${name}: remember the word ${word}.`);
  const saved = await waitFor(
    async () => {
      const m = await mayor(town.id);
      return m.status === 'waiting' && m.session && m.session.turns >= 5 ? m.session : null;
    },
    { timeoutMs: 60_000, what: `the mayor of ${name} waiting with 5 turns saved`, describe: async () => JSON.stringify((await mayor(town.id)).session) },
  );
  expect(saved.bytes).toBeGreaterThan(0);
  const pidBefore = await mayorPid(town.id, mayorId);
  expect(pidBefore).not.toBeNull();
  const seen = h.stack.fakeLlm!.requests.length;

  await disrupt(town.id, mayorId);

  await chat(town.id, mayorId, `Message 6 of ${name}: which words did I give you?`);
  const first = firstChatRequestAfter(seen, mayorId);
  expect(first, 'a model request after the disruption').toBeDefined();
  const { users, assistants } = conversation(first!);
  for (const word of words)
    expect(
      users.some((u) => u.includes(word)),
      `user message with ${word} in the restored conversation`,
    ).toBe(true);
  expect(users.at(-1)).toContain('Message 6');
  expect(assistants.filter((a) => a.includes(MAYOR_REPLY)).length, "the mayor's five replies").toBeGreaterThanOrEqual(5);
  const pidAfter = await mayorPid(town.id, mayorId);
  expect(pidAfter).not.toBeNull();
  expect(pidAfter, 'a new mayor process').not.toBe(pidBefore);
  const restored = await eventsOf(town.id, 'session.restored', mayorId);
  expect(restored.length, 'session.restored events').toBeGreaterThanOrEqual(1);
  expect(await eventsOf(town.id, 'session.restore_failed', mayorId)).toEqual([]);
}

// ---- tests --------------------------------------------------------------------------------------

describe('the mayor remembers its conversation', () => {
  it('across container sleep and wake', async () => {
    await expectRemembered(
      'sleepy',
      async (townId) => {
        await waitContainerDown(townId, 'the idle container to sleep');
      },
      20,
    );
  });

  it('across a SIGKILL of the container while the mayor waits', async () => {
    await expectRemembered('killed', async (townId) => {
      expect(await h.stack.killContainer(townId)).toBe(true);
      await waitContainerDown(townId, 'the killed container to be gone');
    });
  });

  it('across a worker restart with the container killed meanwhile (a deploy)', async () => {
    await expectRemembered('deployed', async (townId) => {
      await h.stack.restartWorker({
        whileDown: async () => {
          expect(await h.stack.killContainer(townId)).toBe(true);
          await waitContainerDown(townId, 'the container to be gone while the worker is down');
        },
      });
    });
  });

  it('a message accepted right before a SIGKILL is in the restored conversation', async () => {
    const { town } = await h.createTown('abrupt', { rig: false, sleepAfterSeconds: 900 });
    const mayorId = (await mayor(town.id)).id;
    await chat(town.id, mayorId, 'Message 1 of abrupt: hello.');
    await waitFor(async () => (await mayor(town.id)).status === 'waiting', { timeoutMs: 60_000, what: 'the mayor to wait' });
    const sent = await h.api.sendMayorMessage(town.id, 'Message 2 of abrupt: the launch code word is zephyr-abrupt.');
    expect(sent.delivery).toBe('delivered');
    // at once: the mayor is still in that turn
    expect(await h.stack.killContainer(town.id)).toBe(true);
    await waitContainerDown(town.id, 'the killed container to be gone');
    const seen = h.stack.fakeLlm!.requests.length;
    await chat(town.id, mayorId, 'Message 3 of abrupt: what was the code word?');
    const first = firstChatRequestAfter(seen, mayorId);
    expect(first).toBeDefined();
    const { users } = conversation(first!);
    expect(
      users.some((u) => u.includes('zephyr-abrupt')),
      'the accepted message survived the SIGKILL',
    ).toBe(true);
    expect(users.some((u) => u.includes('Message 1 of abrupt'))).toBe(true);
  });
});

describe('a damaged snapshot', () => {
  it('a damaged stored snapshot is refused at restore: typed error, town events, a fresh session, a mayor that answers', async () => {
    const { town } = await h.createTown('torn', { rig: false, sleepAfterSeconds: 900 });
    const mayorId = (await mayor(town.id)).id;
    await chat(town.id, mayorId, 'Message 1 of torn: remember the word quartz-torn.');
    await waitFor(async () => ((await mayor(town.id)).session?.turns ?? 0) >= 1 && (await mayor(town.id)).status === 'waiting', {
      timeoutMs: 60_000,
      what: 'a saved snapshot',
    });
    expect(await h.stack.killContainer(town.id)).toBe(true);
    await waitContainerDown(town.id, 'the killed container to be gone');
    // damage the stored object in wrangler's local R2 store, as a bad disk or a buggy writer would:
    // its second half zeroed, its length kept (a shorter blob makes the local R2 fail the read itself;
    // truncation is refused by the container's own checks, packages/container/test/session)
    const blob = storedBlobOf(town.id, mayorId);
    const bytes = readFileSync(blob);
    bytes.fill(0, Math.floor(bytes.length / 2));
    writeFileSync(blob, bytes);

    const seen = h.stack.fakeLlm!.requests.length;
    await chat(town.id, mayorId, 'Message 2 of torn: are you there?');
    const first = firstChatRequestAfter(seen, mayorId);
    const { users } = conversation(first!);
    expect(
      users.some((u) => u.includes('quartz-torn')),
      'nothing of the damaged conversation is restored',
    ).toBe(false);
    expect(users.at(-1)).toContain('Message 2 of torn');
    const failed = await waitFor(async () => (await eventsOf(town.id, 'session.restore_failed', mayorId))[0], {
      timeoutMs: 30_000,
      what: 'session.restore_failed',
    });
    expect(failed.data.code).toBe('snapshot_corrupt');
    expect((await eventsOf(town.id, 'session.snapshot_corrupt')).length).toBeGreaterThanOrEqual(1);
    expect((await mayor(town.id)).status).not.toBe('failed');
    // the fresh conversation is saved again and restores normally afterwards
    await waitFor(async () => ((await mayor(town.id)).session?.storedAt ?? 0) > failed.at, { timeoutMs: 60_000, what: 'a new snapshot after the refused one' });
  });
});

describe('drain on SIGTERM', () => {
  it("a working polecat's uncommitted work is committed and pushed on its branch; the bead is re-dispatched and continues from it", async () => {
    const { town, repo } = await h.createTown('drain', { sleepAfterSeconds: 900 });
    drain.enabled = true;
    const sent = await h.api.sendMayorMessage(town.id, 'Please add a note.');
    expect(sent.delivery).not.toBe('failed');
    await waitFor(() => drain.written, { timeoutMs: 180_000, what: 'the polecat to write its uncommitted work' });
    drain.enabled = false; // the re-dispatched run follows the scripted town
    const agentId = drain.agentId!;
    const polecat = (await h.agentsOf(town.id)).find((a) => a.id === agentId)!;
    const beadId = polecat.beadId!;
    const branch = `gt/${agentId}/${beadId}`;
    const genBefore = polecat.credential.gen;

    const state = await h.stack.hostState(town.id);
    process.kill(state.pid!, 'SIGTERM');
    await waitContainerDown(town.id, 'the container to drain and exit');
    drain.release?.();

    // pushed on its branch: the rig's origin has the half-done file on gt/<agent>/<bead>
    expect(fileOn(repo!.path, branch, WIP_FILE)).toContain('half-done work');
    const wipCommit = git(['--git-dir', repo!.path, 'rev-parse', branch]).trim();
    const completed = await waitFor(async () => (await eventsOf(town.id, 'agent.completed', agentId)).find((e) => e.data.outcome === 'drained'), {
      timeoutMs: 60_000,
      what: "the polecat's drained completion",
    });
    expect(completed.data.branch).toBe(branch);
    expect((await eventsOf(town.id, 'container.draining')).length).toBeGreaterThanOrEqual(1);

    // re-dispatched (same agent, a newer generation) and finished from that branch: merged with the half-done work
    await waitFor(async () => (await h.api.beads(town.id)).find((b) => b.id === beadId && b.status === 'closed'), {
      timeoutMs: 300_000,
      intervalMs: 2_000,
      what: 'the drained bead to be finished and merged',
      describe: async () => describeAgents(await h.agentsOf(town.id)),
    });
    const after = (await h.agentsOf(town.id)).find((a) => a.id === agentId)!;
    expect(after.credential.gen).toBeGreaterThan(genBefore);
    const commit = h.scenario.commits.find((c) => c.beadId === beadId);
    expect(commit, 'the re-dispatched run committed').toBeDefined();
    expect(branchContains(repo!.path, commit!.sha, wipCommit), "the new run's commit descends from the drained commit").toBe(true);
    expect(fileOn(repo!.path, repo!.defaultBranch, WIP_FILE)).toContain('half-done work');
  });
});

describe('nothing secret in a stored snapshot', () => {
  it('the leak scan over the stored snapshots finds no planted secret (and finds one planted unredacted)', async () => {
    const { town } = await h.createTown('secretive', { rig: false, sleepAfterSeconds: 900 });
    const mayorId = (await mayor(town.id)).id;
    const token = await mintTestAgentToken(h.stack.keys, { agentId: 'ag_planted02', townId: town.id, rigId: null, userId: E2E_USER, role: 'mayor', gen: 1 });
    const refresh = `${REFRESH_CREDENTIAL_PREFIX}${'Z9y8X7w6'.repeat(5)}`;
    await chat(town.id, mayorId, `Keep these for me: ${token} and ${refresh}.`);
    await waitFor(async () => ((await mayor(town.id)).session?.turns ?? 0) >= 1, { timeoutMs: 60_000, what: 'a saved snapshot' });
    // the model saw the secrets (the conversation is the user's), the stored snapshot must not hold them
    expect(JSON.stringify(chatRequests(mayorId).at(-1)!.messages)).toContain(token);

    await h.stack.stop();
    // the R2 store of wrangler dev: the objects (blobs) and their metadata; the TownDO keeps the
    // user's own messages by design (what the user typed), so its storage is not part of this scan
    const r2 = join(h.stack.stateDir, WRANGLER_STATE, 'v3', 'r2');
    const gzipped = filesBelow(r2).filter((f) => isGzip(f));
    expect(gzipped.length, 'stored snapshots (gzip objects) under the R2 store').toBeGreaterThanOrEqual(5);
    const scan = await scanForSecrets({ secrets: [token, refresh], roots: { dirs: [r2] } });
    expect(scan.errors).toEqual([]);
    expect(scan.hits).toEqual([]);

    // the same scan finds them in a snapshot written without redaction
    const planted = join(r2, 'planted-snapshot.json.gz');
    writeFileSync(planted, gzipSync(Buffer.from(JSON.stringify({ messages: [{ text: `${token} ${refresh}` }] }))));
    const again = await scanForSecrets({ secrets: [token, refresh], roots: { dirs: [r2] } });
    expect(again.hits.map((hit) => hit.where)).toEqual(expect.arrayContaining([`gzip:file:${planted}`]));
    expect(JSON.stringify(again.hits)).not.toContain(token);
  });
});

/** The file of wrangler dev's local R2 store that holds the current session object of `agentId` (miniflare's object index, read-only). */
function storedBlobOf(townId: string, agentId: string): string {
  const r2 = join(h.stack.stateDir, WRANGLER_STATE, 'v3', 'r2');
  const index = join(r2, 'miniflare-R2BucketObject');
  const prefix = `towns/${townId}/agents/${agentId}/session/`;
  for (const db of readdirSync(index).filter((f) => f.endsWith('.sqlite'))) {
    let rows: Array<{ blob_id: string }> = [];
    try {
      rows = JSON.parse(
        execFileSync('sqlite3', ['-readonly', '-json', join(index, db), `SELECT blob_id FROM _mf_objects WHERE key LIKE '${prefix}%'`], { encoding: 'utf8' }) ||
          '[]',
      ) as Array<{ blob_id: string }>;
    } catch {
      continue; // not the object index (e.g. miniflare's metadata database)
    }
    if (rows.length === 1) return join(r2, 'gastown-sessions', 'blobs', rows[0]!.blob_id);
  }
  throw new Error(`no stored session object for ${agentId} in ${index}`);
}

function filesBelow(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stats = statSync(path);
    if (stats.isDirectory()) filesBelow(path, out);
    else if (stats.isFile()) out.push(path);
  }
  return out;
}

function isGzip(path: string): boolean {
  const head = readFileSync(path).subarray(0, 2);
  return head[0] === 0x1f && head[1] === 0x8b;
}
