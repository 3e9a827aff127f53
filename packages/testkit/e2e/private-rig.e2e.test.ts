/**
 * Private rigs and pull requests (issue 13), end to end with real processes: a rig on the fake
 * GitHub (packages/testkit/src/fake-github) authenticated as a GitHub App whose installation tokens
 * live 10 s, merge strategy `pull_request`. For at least 20 token lifetimes the town works: the
 * container clones and fetches, polecats' branches are pushed, the refinery's approvals become pull
 * requests, the test merges them as a human would, webhooks close the beads — with zero git
 * authentication failures and no process restarted. Then the token endpoint fails for a while, and
 * last the leak scan looks for every git token the fake ever issued.
 *
 * Knob: E2E_PRIVATE_RIG_SECONDS (default 210) — how long the town keeps working (≥ 20 × 10 s).
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentRuntimeListSchema, PullRequestRefSchema, type Bead, type Rig, type TownEvent } from '@gastown/protocol';
import { startFakeGitHub, type FakeGitHub } from '../src/fake-github/index';
import { scanForSecrets } from '../src/leak-scan/index';
import { fileOn } from '../src/stack/index';
import { describeAgents, sleep, startHarness, waitFor, type Harness } from './support/harness';
import { agentProcessPids, dumpStoredRows, stateDirScanRoots, WRANGLER_STATE } from './support/leak-check';
import { keepStateOfFailedRuns } from './support/stack-state-keeper';

const TOKEN_SECONDS = 10;
const RUN_SECONDS = Number(process.env.E2E_PRIVATE_RIG_SECONDS ?? 210);
const OWNER = 'acme';

let gh: FakeGitHub;
let h: Harness;

beforeAll(async () => {
  gh = await startFakeGitHub({ tokenLifetimeSeconds: TOKEN_SECONDS });
  h = await startHarness({
    // the refinery stays up for the whole run: its pid is one of the processes that must not change
    hostEnv: { GASTOWN_REFINERY_IDLE_TIMEOUT_SECONDS: '1800' },
    workerVars: { GASTOWN_PR_POLL_SECONDS: '5' },
  });
});

const stackState = keepStateOfFailedRuns();

afterAll(async () => {
  await h?.stack.stop();
  await gh?.stop();
  stackState.dispose(h?.stack.stateDir);
});

interface PrivateTown {
  townId: string;
  rig: Rig;
  repo: string;
  mayorId: string;
  webhookSecret: string;
  privateKeyPem: string;
}

/** A town with a `pull_request` rig on the fake GitHub, authenticated as a GitHub App, its webhook set up. */
async function privateTown(name: string): Promise<PrivateTown> {
  const app = gh.createApp();
  const repo = gh.createRepo(OWNER, name, { files: { 'README.md': `# ${name}\n` } });
  const installationId = gh.createInstallation(app.appId, [repo.fullName]);
  const { town } = await h.createTown(name, { rig: false, sleepAfterSeconds: 1800 });
  const webhookSecret = randomBytes(24).toString('hex');
  const rig = await h.api.createRig(town.id, {
    name,
    gitUrl: repo.cloneUrl,
    defaultBranch: 'main',
    auth: { kind: 'github_app', appId: app.appId, installationId, privateKey: app.privateKeyPem },
    mergeStrategy: 'pull_request',
    provider: { kind: 'github', apiBaseUrl: gh.apiBaseUrl, webhookSecret },
  });
  gh.addWebhook(OWNER, name, { url: `${h.stack.workerUrl}/webhooks/github/towns/${town.id}/rigs/${rig.id}`, secret: webhookSecret });
  return { townId: town.id, rig, repo: repo.path, mayorId: (await h.mayorOf(town.id)).id, webhookSecret, privateKeyPem: app.privateKeyPem };
}

async function eventsOf(townId: string, type: string): Promise<TownEvent[]> {
  return (await h.api.allEvents(townId)).filter((e) => e.type === type);
}

async function runtimePids(townId: string): Promise<Map<string, number>> {
  const res = await h.stack.host.container(townId, 'GET', '/agents');
  const pids = new Map<string, number>();
  if (res.status !== 200) return pids;
  for (const a of AgentRuntimeListSchema.parse(res.body).agents) if (a.pid !== null && a.runtimeState === 'running') pids.set(a.agentId, a.pid);
  return pids;
}

/** Merge every open pull request of `name` as a human would (through the fake's API). */
async function mergeOpenPulls(name: string, merged: Set<number>): Promise<void> {
  for (const pr of gh.pulls(OWNER, name).filter((p) => p.state === 'open')) {
    await gh.mergePull(OWNER, name, pr.number);
    merged.add(pr.number);
  }
}

function issueBeadsOf(beads: Bead[], rigId: string): Bead[] {
  return beads.filter((b) => b.type === 'issue' && b.rigId === rigId);
}

let main: PrivateTown;

describe('a private rig with 10 s GitHub App tokens, merging through pull requests', () => {
  it(`works for ${RUN_SECONDS} s (≥ 20 token lifetimes): zero git authentication failures, pull requests merged by a human close their beads, no process restarted`, async () => {
    main = await privateTown('web');
    expect(main.rig.auth).toMatchObject({ kind: 'github_app', fingerprint: expect.stringMatching(/^sha256:[0-9a-f]{8}$/) });
    expect(main.rig.mergeStrategy).toBe('pull_request');
    expect(JSON.stringify(main.rig)).not.toContain(main.privateKeyPem.split('\n')[1]!);

    const started = Date.now();
    const merged = new Set<number>();
    let sent = 0;
    let nextSendAt = started;
    let instanceId: string | null = null;
    const firstPids = new Map<string, number>();
    const pidChanges: string[] = [];
    while (Date.now() - started < RUN_SECONDS * 1000) {
      if (Date.now() >= nextSendAt) {
        sent += 1;
        const res = await h.api.sendMayorMessage(main.townId, `Please add note ${sent} to the web rig.`);
        expect(res.delivery).not.toBe('failed');
        nextSendAt = Date.now() + 45_000;
      }
      await mergeOpenPulls('web', merged);
      const state = await h.stack.hostState(main.townId);
      if (state.instanceId) {
        instanceId ??= state.instanceId;
        expect(state.instanceId, 'the container was never replaced').toBe(instanceId);
      }
      for (const [agentId, pid] of await runtimePids(main.townId)) {
        const first = firstPids.get(agentId);
        if (first === undefined) firstPids.set(agentId, pid);
        else if (first !== pid) pidChanges.push(`${agentId}: ${first} → ${pid}`);
      }
      await sleep(2_000);
    }
    // let the last pieces of work finish: every slung bead merged through its pull request
    await waitFor(
      async () => {
        await mergeOpenPulls('web', merged);
        const issues = issueBeadsOf(await h.api.beads(main.townId), main.rig.id);
        return issues.length >= sent && issues.every((b) => b.status === 'closed') ? issues : null;
      },
      {
        timeoutMs: 300_000,
        intervalMs: 3_000,
        what: 'every slung bead closed by its merged pull request',
        describe: async () =>
          `${describeAgents(await h.agentsOf(main.townId))} beads: ${JSON.stringify(issueBeadsOf(await h.api.beads(main.townId), main.rig.id).map((b) => [b.id, b.status, b.attempts]))}`,
      },
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(20 * TOKEN_SECONDS * 1000);

    // zero git authentication failures, across ≥ 20 lifetimes and many fresh tokens
    expect(gh.gitAuthFailures(), 'git requests refused for a bad or expired token').toEqual([]);
    const minted = gh.apiRequests.filter((r) => r.method === 'POST' && r.path.includes('/access_tokens') && r.status === 201).length;
    expect(minted, 'installation tokens minted (fresh tokens kept coming)').toBeGreaterThanOrEqual(Math.floor(RUN_SECONDS / TOKEN_SECONDS / 2));
    expect(gh.gitRequests.filter((r) => r.authOutcome === 'ok').length, 'authenticated git requests').toBeGreaterThan(10);
    expect(await eventsOf(main.townId, 'git.credentials_expired')).toEqual([]);

    // pull requests: one per bead, merged by the human, recorded on the beads, the work on main
    const beads = await h.api.beads(main.townId);
    const issues = issueBeadsOf(beads, main.rig.id);
    expect(issues.length).toBeGreaterThanOrEqual(4);
    for (const bead of issues) {
      const pr = PullRequestRefSchema.parse(bead.metadata.pullRequest);
      expect(pr.state).toBe('merged');
      expect(merged.has(pr.number)).toBe(true);
      expect(fileOn(main.repo, 'main', `notes/${bead.id}.md`)).toContain('Written by polecat');
    }
    expect((await eventsOf(main.townId, 'pull_request.merged')).length).toBeGreaterThanOrEqual(issues.length);
    const delivered = gh.deliveries().filter((d) => d.event === 'pull_request');
    expect(delivered.length, 'webhook deliveries').toBeGreaterThanOrEqual(issues.length);
    expect(delivered.every((d) => d.status === 200 || d.status === 202)).toBe(true);

    console.log(
      `private rig figures: ${JSON.stringify({ seconds: Math.round((Date.now() - started) / 1000), tokensMinted: minted, gitRequestsOk: gh.gitRequests.filter((r) => r.authOutcome === 'ok').length, gitAuthFailures: 0, pullRequestsMerged: merged.size, beadsClosed: issues.length, webhookDeliveries: delivered.length, agentsWatched: firstPids.size })}`,
    );
    // no process restarted: the container instance stayed, every agent kept its pid while it lived
    expect(pidChanges).toEqual([]);
    expect([...firstPids.values()].length).toBeGreaterThanOrEqual(2);
  });

  it('the token endpoint refusing for 40 % of every token lifetime: no failure; refusing past expiry: one escalation, recovery when it returns', async () => {
    const merged = new Set<number>();
    const closedIssues = async () => issueBeadsOf(await h.api.beads(main.townId), main.rig.id);
    const allClosed = async (count: number) => {
      await mergeOpenPulls('web', merged);
      const issues = await closedIssues();
      return issues.length >= count && issues.every((b) => b.status === 'closed') ? issues : null;
    };
    const describeTown = async () =>
      `${describeAgents(await h.agentsOf(main.townId))} ${JSON.stringify((await closedIssues()).map((b) => [b.id, b.status, b.attempts]))}`;

    // 1. 4 s of every 10 s refused, for a minute of work
    const before = (await closedIssues()).length;
    const refusedBefore = gh.apiRequests.filter((r) => r.fault).length;
    expect((await h.api.sendMayorMessage(main.townId, 'Please add a note while the token service flickers.')).delivery).not.toBe('failed');
    const flickerEnd = Date.now() + 60_000;
    while (Date.now() < flickerEnd) {
      gh.fault({ kind: 'refuse_tokens', until: Date.now() + 4_000 });
      await sleep(10_000);
      await mergeOpenPulls('web', merged);
    }
    gh.clearFaults();
    await waitFor(() => allClosed(before + 1), { timeoutMs: 240_000, intervalMs: 3_000, what: 'the flicker bead merged', describe: describeTown });
    expect(gh.apiRequests.filter((r) => r.fault).length - refusedBefore, 'token requests refused').toBeGreaterThan(0);
    expect(gh.gitAuthFailures()).toEqual([]);
    expect(await eventsOf(main.townId, 'git.credentials_expired')).toEqual([]);

    // 2. refused for 25 s (2.5 lifetimes) while the refinery holds the rig's token: one outage
    const outageStart = Date.now();
    gh.fault({ kind: 'refuse_tokens', until: outageStart + 25_000 });
    const expired = await waitFor(async () => (await eventsOf(main.townId, 'git.credentials_expired'))[0], {
      timeoutMs: 60_000,
      what: 'git.credentials_expired',
      describe: describeTown,
    });
    expect(expired.data.rigId).toBe(main.rig.id);
    await waitFor(async () => (await eventsOf(main.townId, 'git.credentials_recovered')).find((e) => e.at > expired.at), {
      timeoutMs: 90_000,
      what: 'git.credentials_recovered after the token endpoint came back',
      describe: describeTown,
    });
    expect(await eventsOf(main.townId, 'git.credentials_expired'), 'one event for one outage').toHaveLength(1);
    const escalations = (await h.api.beads(main.townId)).filter((b) => b.type === 'escalation' && b.title.includes('git credentials expired'));
    expect(escalations).toHaveLength(1);
    // and the town works again: a new bead goes through to its merged pull request
    const count = (await closedIssues()).length;
    expect((await h.api.sendMayorMessage(main.townId, 'Please add a note after the outage.')).delivery).not.toBe('failed');
    await waitFor(() => allClosed(count + 1), { timeoutMs: 240_000, intervalMs: 3_000, what: 'a bead merged after the outage', describe: describeTown });
  });

  it('webhooks: a bad signature → 401 and nothing changes; a replayed delivery changes nothing twice; an unknown rig → 404', async () => {
    const url = `${h.stack.workerUrl}/webhooks/github/towns/${main.townId}/rigs/${main.rig.id}`;
    const before = (await h.api.allEvents(main.townId)).length;
    const body = JSON.stringify({
      action: 'closed',
      number: 1,
      pull_request: { number: 1, merged: false, state: 'closed' },
      repository: { full_name: `${OWNER}/web` },
    });
    const forged = await gh.sendRaw(url, body, {
      'x-github-event': 'pull_request',
      'x-github-delivery': 'forged-1',
      'x-hub-signature-256': `sha256=${'0'.repeat(64)}`,
    });
    expect(forged.status).toBe(401);
    const unsigned = await gh.sendRaw(url, body, { 'x-github-event': 'pull_request', 'x-github-delivery': 'forged-2' });
    expect(unsigned.status).toBe(401);
    const unknown = await gh.sendRaw(`${h.stack.workerUrl}/webhooks/github/towns/${main.townId}/rigs/rig_unknown0001`, body, {
      'x-github-event': 'pull_request',
      'x-github-delivery': 'forged-3',
    });
    expect(unknown.status).toBe(404);
    expect((await h.api.allEvents(main.townId)).length, 'no town event from a refused delivery').toBe(before);

    const mergedDelivery = gh.deliveries().find((d) => d.event === 'pull_request' && d.action === 'closed');
    expect(mergedDelivery).toBeDefined();
    const beadsBefore = JSON.stringify(await h.api.beads(main.townId));
    const eventsBefore = (await h.api.allEvents(main.townId)).filter((e) => e.type.startsWith('pull_request.') || e.type === 'bead.status_changed').length;
    await gh.redeliver(mergedDelivery!.id);
    await gh.flushWebhooks();
    expect(JSON.stringify(await h.api.beads(main.townId))).toBe(beadsBefore);
    expect((await h.api.allEvents(main.townId)).filter((e) => e.type.startsWith('pull_request.') || e.type === 'bead.status_changed').length).toBe(
      eventsBefore,
    );
  });

  it('rig add refuses a wrong private key, an uninstalled app and a token without access with git_auth_failed naming the cause; nothing stored', async () => {
    const { town } = await h.createTown('refusals', { rig: false, sleepAfterSeconds: 1800 });
    const repo = gh.createRepo(OWNER, 'secret-sauce');
    const app = gh.createApp();
    const other = gh.createApp();
    const installed = gh.createInstallation(app.appId, [repo.fullName]);
    const elsewhere = gh.createInstallation(app.appId, [`${OWNER}/web`]);
    const base = { name: 'sauce', gitUrl: repo.cloneUrl, defaultBranch: 'main', provider: { kind: 'github' as const, apiBaseUrl: gh.apiBaseUrl } };
    const attempts: Array<{ what: string; auth: Record<string, string>; cause: RegExp }> = [
      { what: 'wrong private key', auth: { kind: 'github_app', appId: app.appId, installationId: installed, privateKey: other.privateKeyPem }, cause: /key/i },
      {
        what: 'app not installed on the repository',
        auth: { kind: 'github_app', appId: app.appId, installationId: elsewhere, privateKey: app.privateKeyPem },
        cause: /install|access/i,
      },
      { what: 'a token without access', auth: { kind: 'token', token: gh.createPat([`${OWNER}/web`]) }, cause: /access|cannot/i },
    ];
    for (const attempt of attempts) {
      const res = await h.api.request('POST', `/api/towns/${town.id}/rigs`, { ...base, auth: attempt.auth });
      expect(res.status, attempt.what).toBe(422);
      expect((res.body as { error: { code: string; message: string } }).error.code, attempt.what).toBe('git_auth_failed');
      expect((res.body as { error: { message: string } }).error.message, attempt.what).toMatch(attempt.cause);
    }
    expect(await h.api.rigs(town.id)).toEqual([]);
  });
});

describe('nothing leaks a git token', () => {
  it('no git token, app key or webhook secret in any log, event, process environment or argv, git config, remote URL, stored row, file, or tool result an agent saw', async () => {
    const tokens = gh.issuedTokens();
    expect(tokens.length).toBeGreaterThan(10);
    const secrets = [...tokens, main.privateKeyPem.split('\n')[1]!, main.webhookSecret];

    // what agents saw: every tool result of every agent
    const toolResults = JSON.stringify(h.stack.fakeLlm!.toolResults());
    for (const secret of secrets) expect(toolResults.includes(secret)).toBe(false);
    // the live processes (agent runtimes and their children), before the stack stops
    const pids = agentProcessPids(h.stack.stateDir);
    const live = await scanForSecrets({ secrets, roots: { processTrees: pids } });
    expect(live.errors).toEqual([]);
    expect(live.hits).toEqual([]);

    const events = await Promise.all((await h.api.towns()).map((t) => h.api.allEvents(t.id)));
    writeFileSync(join(h.stack.stateDir, 'events-dump.json'), JSON.stringify(events));
    await h.stack.stop();
    dumpStoredRows(join(h.stack.stateDir, WRANGLER_STATE), join(h.stack.stateDir, 'stored-rows.jsonl'));
    const roots = stateDirScanRoots(h.stack.stateDir);
    const scan = await scanForSecrets({ secrets, roots: { ...roots, sqliteDirs: [] } });
    expect(scan.errors).toEqual([]);
    expect(scan.hits).toEqual([]);
    // the storage bytes: tokens are never stored (the key and webhook secret are, in rig_secrets, by design)
    const storage = await scanForSecrets({ secrets: tokens, roots: { sqliteDirs: roots.sqliteDirs! } });
    expect(storage.hits).toEqual([]);
  });
});
