/**
 * The world every bad-input file runs against: a town with a rig, a dispatched mayor, a polecat
 * hooked to a bead, a refinery with an open merge request to review, and every credential kind
 * the system knows (user token, agent access tokens, refresh credentials, admin secret,
 * container key) so cases can present the wrong one.
 */
import { env } from 'cloudflare:test';
import type { CredentialStatus } from '@gastown/protocol';
import { adminSecret, callTool, ownBranch, setupTown, spawnAgent, type TownFixture } from '../helpers';
import { snapshotTownAndOwner } from './support';

export interface World extends TownFixture {
  /** An open merge-request bead (from a second polecat) the refinery can review. */
  mergeRequestId: string;
  adminSecret: string;
  containerKey: string;
}

export async function buildWorld(): Promise<World> {
  const f = await setupTown();
  const second = (await callTool(f.mayor, 'sling', { rigId: f.rig.id, title: 'second' })).body.bead;
  const polecat2 = await spawnAgent(f.town.id, { role: 'polecat', rigId: f.rig.id, beadId: second.id });
  const mr = await callTool(polecat2, 'done', { branch: ownBranch(polecat2) });
  if (mr.status !== 200) throw new Error(`world: done failed ${JSON.stringify(mr.body)}`);
  const containerKey = (env as unknown as Record<string, string | undefined>).GASTOWN_CONTAINER_KEY;
  if (!containerKey) throw new Error('GASTOWN_CONTAINER_KEY missing from test bindings');
  return { ...f, mergeRequestId: mr.body.mergeRequest.id as string, adminSecret: adminSecret(), containerKey };
}

export function snapshotWorld(w: World): Promise<unknown> {
  return snapshotTownAndOwner(w.town.id, w.userToken);
}

export const agentPath = (w: World, who: 'mayor' | 'polecat' | 'refinery', suffix: string): string =>
  `/agent/towns/${w.town.id}/agents/${w[who].agent.id}/${suffix}`;

export const credentialStatus: CredentialStatus = {
  accessTokenExpiresAt: 4_102_444_800_000,
  tokenFingerprint: 'abcdef01',
  nextRefreshAt: null,
  lastRefreshAt: null,
  lastRefreshSource: 'dispatch',
  refreshCount: 0,
  consecutiveFailures: 0,
  unauthorizedCount: 0,
  lastError: null,
  state: 'valid',
};

export const validHeartbeat = {
  containerInstanceId: 'ci-bad-input',
  runtimeState: 'running',
  activity: 'working',
  credential: credentialStatus,
  pid: 7,
  sessionId: null,
};

/** Every credential of the world, for "must never be echoed" checks. */
export function allSecrets(w: World): string[] {
  return [w.userToken, w.adminSecret, w.containerKey, ...[w.mayor, w.polecat, w.refinery].flatMap((a) => [a.token, a.credentials.refreshCredential])];
}
