/**
 * A town with a private rig on the in-worker fake GitHub (support/fake-git-host.ts): a model
 * provider, a fake container and manual alarm, the fake installed as the town's fetch, and a rig
 * with GitHub App or token auth. Plus the walk of a bead up to the container's `pushed` merge
 * result (pull-request strategy), as the container would report it.
 */
import { env } from 'cloudflare:test';
import { TOOLS, type Bead, type MergeStrategy, type Rig, type Town } from '@gastown/protocol';
import { expect } from 'vitest';
import { call, callTool, createTown, createUserToken, TEST_PROVIDER, type AgentWithCredentials, type CallResult } from '../helpers';
import { complete, heartbeat, mergeResult, sendToMayor, startedAgent, TEST_API_KEY } from './agent-calls';
import { installFakeContainer, runAlarm, type FakeContainer } from './fake-container';
import { FAKE_GIT, FakeGitHost } from './fake-git-host';
import { installTownSeams } from './town-seams';
import type { ManualAlarms } from '../../src/town/alarm-scheduler';

export const REPO = 'acme/widgets';
export const REPO_URL = `${FAKE_GIT}/${REPO}.git`;
export const WEBHOOK_SECRET = 'whsec-test-0123456789abcdef';
export const POLECAT_COMMIT = '5'.repeat(40);
export const MERGE_COMMIT = 'e'.repeat(40);

export interface PrivateTown {
  userToken: string;
  town: Town;
  host: FakeGitHost;
  fake: FakeContainer;
  alarms: ManualAlarms;
}

/** A town with a provider, a fake container and the fake GitHub as its git host (no rig yet). */
export async function privateTown(host?: FakeGitHost): Promise<PrivateTown> {
  const userToken = await createUserToken();
  const town = await createTown(userToken);
  const gitHost = host ?? (await FakeGitHost.create());
  const { fake, alarms } = await installFakeContainer(town.id);
  installTownSeams(env.TOWN.idFromName(town.id).toString(), { fetch: gitHost.fetch });
  const res = await call('PATCH', `/api/towns/${town.id}/config`, {
    token: userToken,
    body: { provider: TEST_PROVIDER, envVars: { LLM_API_KEY: TEST_API_KEY } },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { userToken, town, host: gitHost, fake, alarms };
}

export function appAuth(host: FakeGitHost, installationId: string, privateKey = host.privateKeyPem) {
  return { kind: 'github_app', appId: host.appId, installationId, privateKey } as const;
}

export function postRig(t: PrivateTown, body: Record<string, unknown>): Promise<CallResult> {
  return call('POST', `/api/towns/${t.town.id}/rigs`, {
    token: t.userToken,
    body: { name: `rig-${Math.floor(Math.random() * 1e9)}`, gitUrl: REPO_URL, provider: { apiBaseUrl: t.host.api }, ...body },
  });
}

/** A private rig (GitHub App installed on REPO unless told otherwise), pull-request strategy and a webhook secret by default. */
export async function privateRig(
  t: PrivateTown,
  options: { auth?: 'github_app' | 'token'; mergeStrategy?: MergeStrategy; webhookSecret?: string | null } = {},
): Promise<Rig> {
  const auth = options.auth === 'token' ? { kind: 'token', token: t.host.pat([REPO]) } : appAuth(t.host, t.host.install([REPO]));
  const webhookSecret = options.webhookSecret === undefined ? WEBHOOK_SECRET : options.webhookSecret;
  const res = await postRig(t, {
    auth,
    mergeStrategy: options.mergeStrategy ?? 'pull_request',
    provider: { apiBaseUrl: t.host.api, ...(webhookSecret ? { webhookSecret } : {}) },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.rig as Rig;
}

export async function beadById(t: { userToken: string; town: Town }, id: string): Promise<Bead> {
  const all = (await call('GET', `/api/towns/${t.town.id}/beads?limit=500`, { token: t.userToken })).body.beads as Bead[];
  const bead = all.find((b) => b.id === id);
  if (!bead) throw new Error(`bead ${id} not found`);
  return bead;
}

export interface PushedWork {
  bead: Bead;
  mr: Bead;
  branch: string;
  polecat: AgentWithCredentials;
  refinery: AgentWithCredentials;
  pushed: CallResult;
}

/**
 * mayor slings → polecat dispatched → done on its branch and exits → refinery reviews and approves →
 * the container reports `outcome` (`pushed`: pull-request strategy; `merged`: direct) — its answer is in `pushed`.
 */
export async function pushApprovedWork(t: PrivateTown, rig: Rig, title = 'add a README', outcome: 'pushed' | 'merged' = 'pushed'): Promise<PushedWork> {
  if (!t.fake.of('start').some((s) => s.req.agent.role === 'mayor')) await sendToMayor(t, 'please work');
  const mayor = startedAgent(t.fake.of('start').find((s) => s.req.agent.role === 'mayor')!.req);
  await heartbeat(mayor, { activity: 'waiting' });
  const slung = await callTool(mayor, 'sling', { rigId: rig.id, title, body: 'Write the README for the widgets.' });
  expect(slung.status, JSON.stringify(slung.body)).toBe(200);
  const bead = TOOLS.sling.result.parse(slung.body).bead;
  await runAlarm(t.town.id);
  const polecat = startedAgent(t.fake.of('start').at(-1)!.req);
  const branch = `gt/${polecat.agent.id}/${bead.id}`;
  await heartbeat(polecat, { activity: 'working' });
  const done = await callTool(polecat, 'done', { branch, summary: 'added it', commit: POLECAT_COMMIT });
  expect(done.status, JSON.stringify(done.body)).toBe(200);
  const mr = TOOLS.done.result.parse(done.body).mergeRequest;
  await complete(polecat, { outcome: 'completed', branch });
  await runAlarm(t.town.id);
  const refinery = startedAgent(t.fake.of('start').at(-1)!.req);
  expect(refinery.agent.role).toBe('refinery');
  await heartbeat(refinery, { activity: 'working' });
  const approved = await callTool(refinery, 'done', { branch, mergeRequestBeadId: mr.id, commit: POLECAT_COMMIT, summary: 'looks good' });
  expect(approved.status, JSON.stringify(approved.body)).toBe(200);
  const pushed = await mergeResult(refinery, { mergeRequestBeadId: mr.id, outcome, commitSha: outcome === 'pushed' ? POLECAT_COMMIT : MERGE_COMMIT });
  return { bead, mr, branch, polecat, refinery, pushed };
}
