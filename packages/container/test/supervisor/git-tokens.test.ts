/**
 * The supervisor's side of private rigs: a polecat's or refinery's dispatch token goes to the
 * rig's git token broker (never with the run), the run is the broker's source until its teardown,
 * and a merge carries its strategy through to git and the report.
 */
import { rm } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GitTokenGrant, RigRef } from '@gastown/protocol';
import { ManualClock, ManualTimers } from '@gastown/testkit/fake-control-plane/index';
import { GitTokenRegistry } from '../../src/git';
import { SecretRegistry } from '../../src/log';
import { createHarness, RIG, silentLogger, startRequest, type Harness } from './fakes';

const PRIVATE: RigRef = { ...RIG, auth: 'github_app' };
const TOKEN: GitTokenGrant = { rigId: RIG.id, token: 'opaque-git-token-dispatch-0001', username: 'x-access-token', expiresAt: null };

let h: Harness;
let registry: GitTokenRegistry;
let secrets: SecretRegistry;

beforeEach(async () => {
  const clock = new ManualClock();
  secrets = new SecretRegistry();
  registry = new GitTokenRegistry({ clock, random: () => 0.5, timers: new ManualTimers(clock), logger: silentLogger, secrets });
  h = await createHarness({ gitTokens: registry });
});
afterEach(async () => {
  registry.stop();
  await rm(h.dataDir, { recursive: true, force: true });
});

describe('AgentSupervisor and the git token brokers', () => {
  it.each([{ role: 'polecat' as const }, { role: 'refinery' as const }])(
    'a $role of a private rig offers its dispatch token and is a source until its teardown',
    async ({ role }) => {
      const agentId = role === 'polecat' ? 'ag_polecat01' : 'ag_refinery1';
      await h.supervisor.start(startRequest(role, { rig: PRIVATE, gitToken: TOKEN }));
      const broker = registry.get(RIG.id)!;
      expect(broker.status()).toMatchObject({ state: 'valid', sources: 1 });
      expect(secrets.has(TOKEN.token)).toBe(true);
      // what the run keeps and shows holds no token
      expect(JSON.stringify(h.supervisor.status(agentId))).not.toContain(TOKEN.token);
      expect(JSON.stringify(h.latest(agentId).runtime.options)).not.toContain(TOKEN.token);
      // the broker pulls through the run's own client
      await broker.reject(TOKEN.token);
      expect(h.latest(agentId).client.gitTokenRequests).toEqual([RIG.id]);
      await h.supervisor.stop(agentId, {});
      expect(broker.status().sources).toBe(0);
    },
  );

  it('a rig without auth and a mayor leave the brokers alone (a stray token is ignored)', async () => {
    await h.supervisor.start(startRequest('polecat', { gitToken: TOKEN }));
    await h.supervisor.start(startRequest('mayor'));
    expect(registry.get(RIG.id)).toBeNull();
  });

  it("a token of another rig than the run's is refused before anything starts", async () => {
    await expect(h.supervisor.start(startRequest('polecat', { rig: PRIVATE, gitToken: { ...TOKEN, rigId: 'rig_another1' } }))).rejects.toMatchObject({
      code: 'validation_failed',
    });
    expect(h.supervisor.list()).toEqual([]);
  });

  it('a private rig needs an http(s) URL (git asks a credential helper only there)', async () => {
    await expect(h.supervisor.start(startRequest('polecat', { rig: { ...PRIVATE, gitUrl: 'git@github.com:acme/widgets.git' } }))).rejects.toMatchObject({
      code: 'validation_failed',
    });
  });

  it('merge strategy pull_request reaches git and its `pushed` outcome is reported with the commit', async () => {
    await h.supervisor.start(startRequest('refinery', { rig: PRIVATE, gitToken: TOKEN }));
    h.git.mergeResult = { outcome: 'pushed', commitSha: 'b'.repeat(40) };
    const body = {
      agentId: 'ag_refinery1',
      rig: PRIVATE,
      mergeRequestBeadId: 'bd_mr000001',
      branch: 'gt/ag_polecat01/bd_bead0001',
      commit: 'b'.repeat(40),
      message: 'Merge it',
      strategy: 'pull_request',
    };
    expect(h.supervisor.merge(body)).toMatchObject({ accepted: true, request: { strategy: 'pull_request' } });
    await h.supervisor.drain();
    expect(h.git.mergeStrategies).toEqual(['pull_request']);
    expect(h.latest('ag_refinery1').client.mergeResults).toEqual([
      { mergeRequestBeadId: 'bd_mr000001', outcome: 'pushed', commitSha: 'b'.repeat(40), message: '' },
    ]);
    expect(h.latest('ag_refinery1').sink.records.find((r) => r.type === 'merge.completed')?.data).toMatchObject({
      outcome: 'pushed',
      strategy: 'pull_request',
    });
    // without a strategy: direct, as before
    h.supervisor.merge({ ...body, strategy: undefined });
    await h.supervisor.drain();
    expect(h.git.mergeStrategies).toEqual(['pull_request', 'direct']);
  });
});
