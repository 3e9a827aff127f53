/**
 * The private-rig run of private-rig.e2e.test.ts can fail: the same set-up with the container's
 * git-token refresh switched off (GASTOWN_GIT_TOKEN_REFRESH=off, a test-only switch) and a polecat
 * that works longer than one 10 s token lifetime. Its branch push then has no usable token: the
 * town sees git.credentials_expired and no pull request is opened — exactly what the broker's
 * refresh prevents in the real run.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TownEvent } from '@gastown/protocol';
import { startFakeGitHub, type FakeGitHub } from '../src/fake-github/index';
import { roleOf } from '../src/stack/index';
import { describeAgents, sleep, startHarness, waitFor, type Harness } from './support/harness';
import { keepStateOfFailedRuns } from './support/stack-state-keeper';

const TOKEN_SECONDS = 10;
const OWNER = 'acme';

let gh: FakeGitHub;
let h: Harness;
/** Polecats think for 15 s before their first step: their work ends after the dispatch token expired. */
const HOLD_MS = 15_000;

beforeAll(async () => {
  gh = await startFakeGitHub({ tokenLifetimeSeconds: TOKEN_SECONDS });
  const held = new Set<string>();
  h = await startHarness({
    hostEnv: { GASTOWN_GIT_TOKEN_REFRESH: 'off', GASTOWN_REFINERY_IDLE_TIMEOUT_SECONDS: '1800' },
    intercept: async (_request, ctx) => {
      if (roleOf(ctx.toolNames) === 'polecat' && ctx.agentId && !held.has(ctx.agentId)) {
        held.add(ctx.agentId);
        await sleep(HOLD_MS);
      }
      return null;
    },
  });
});

const stackState = keepStateOfFailedRuns();

afterAll(async () => {
  await h?.stack.stop();
  await gh?.stop();
  stackState.dispose(h?.stack.stateDir);
});

async function eventsOf(townId: string, type: string): Promise<TownEvent[]> {
  return (await h.api.allEvents(townId)).filter((e) => e.type === type);
}

describe('the private rig without the broker’s git-token refresh', () => {
  it('fails: the polecat’s push finds no usable token (git.credentials_expired), no pull request is opened', async () => {
    const app = gh.createApp();
    const repo = gh.createRepo(OWNER, 'web', { files: { 'README.md': '# web\n' } });
    const installationId = gh.createInstallation(app.appId, [repo.fullName]);
    const { town } = await h.createTown('no-refresh', { rig: false, sleepAfterSeconds: 1800 });
    const rig = await h.api.createRig(town.id, {
      name: 'web',
      gitUrl: repo.cloneUrl,
      defaultBranch: 'main',
      auth: { kind: 'github_app', appId: app.appId, installationId, privateKey: app.privateKeyPem },
      mergeStrategy: 'pull_request',
      provider: { kind: 'github', apiBaseUrl: gh.apiBaseUrl, webhookSecret: randomBytes(24).toString('hex') },
    });
    expect((await h.api.sendMayorMessage(town.id, 'Please add a note to the web rig.')).delivery).not.toBe('failed');
    const expired = await waitFor(async () => (await eventsOf(town.id, 'git.credentials_expired'))[0], {
      timeoutMs: 120_000,
      what: 'git.credentials_expired with the refresh switched off',
      describe: async () => describeAgents(await h.agentsOf(town.id)),
    });
    expect(expired.data.rigId).toBe(rig.id);
    const failed = await waitFor(async () => (await eventsOf(town.id, 'agent.completed')).find((e) => /branch push failed/.test(String(e.data.reason))), {
      timeoutMs: 60_000,
      what: "the polecat's end reporting the failed push",
    });
    expect(failed.data.outcome).toBe('failed');
    expect(gh.pulls(OWNER, 'web'), 'no pull request without a fresh token').toEqual([]);
  });
});
