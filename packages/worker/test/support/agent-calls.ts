/**
 * What a container does over the agent API, for tests that play the container: heartbeats,
 * completion and merge reports, tool calls — with the credentials a (fake) start handed over.
 */
import type { Agent, AgentEvent, CredentialStatus, StartAgentRequest, TownEvent } from '@gastown/protocol';
import { expect } from 'vitest';
import { call, createTown, createUserToken, addRig, TEST_PROVIDER, type AgentWithCredentials, type CallResult } from '../helpers';
import { installFakeContainer, type FakeContainer } from './fake-container';
import type { ManualAlarms } from '../../src/town/alarm-scheduler';
import type { Rig, Town } from '@gastown/protocol';

export function credentialStatus(overrides: Partial<CredentialStatus> = {}): CredentialStatus {
  return {
    accessTokenExpiresAt: Date.now() + 3_600_000,
    tokenFingerprint: 'abcdef01',
    nextRefreshAt: null,
    lastRefreshAt: null,
    lastRefreshSource: 'dispatch',
    refreshCount: 0,
    consecutiveFailures: 0,
    unauthorizedCount: 0,
    lastError: null,
    state: 'valid',
    ...overrides,
  };
}

/** The agent a (fake) container start received, with the access token it was handed. */
export function startedAgent(req: StartAgentRequest): AgentWithCredentials {
  const agent = { id: req.agent.id, townId: req.agent.townId, rigId: req.agent.rigId, role: req.agent.role, name: req.agent.name } as Agent;
  return { agent, credentials: req.credentials, token: req.credentials.accessToken };
}

export function heartbeat(
  who: AgentWithCredentials,
  body: { containerInstanceId?: string; activity?: 'working' | 'waiting'; runtimeState?: string } = {},
): Promise<CallResult> {
  return call('POST', `/agent/towns/${who.agent.townId}/agents/${who.agent.id}/heartbeat`, {
    token: who.token,
    body: { containerInstanceId: 'ci_one', runtimeState: 'running', activity: 'working', credential: credentialStatus(), pid: 42, sessionId: 'ses_1', ...body },
  });
}

export function complete(
  who: AgentWithCredentials,
  body: { outcome: 'completed' | 'failed' | 'stopped' | 'drained'; reason?: string; branch?: string | null },
): Promise<CallResult> {
  return call('POST', `/agent/towns/${who.agent.townId}/agents/${who.agent.id}/completion`, { token: who.token, body });
}

export function mergeResult(who: AgentWithCredentials, body: Record<string, unknown>): Promise<CallResult> {
  return call('POST', `/agent/towns/${who.agent.townId}/agents/${who.agent.id}/merge-result`, { token: who.token, body });
}

export function postEvents(who: AgentWithCredentials, events: AgentEvent[]): Promise<CallResult> {
  return call('POST', `/agent/towns/${who.agent.townId}/agents/${who.agent.id}/events`, { token: who.token, body: { events } });
}

/** A town with a rig, a model provider and its API key, and a fake container + manual alarm installed. */
export interface DispatchFixture {
  userToken: string;
  town: Town;
  rig: Rig;
  fake: FakeContainer;
  alarms: ManualAlarms;
}

export const TEST_API_KEY = 'sk-test-provider-key-0123456789';

export async function dispatchTown(options: { provider?: boolean } = {}): Promise<DispatchFixture> {
  const userToken = await createUserToken();
  const town = await createTown(userToken);
  const rig = await addRig(userToken, town.id);
  const { fake, alarms } = await installFakeContainer(town.id);
  if (options.provider !== false) {
    const res = await call('PATCH', `/api/towns/${town.id}/config`, {
      token: userToken,
      body: { provider: TEST_PROVIDER, envVars: { LLM_API_KEY: TEST_API_KEY } },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }
  return { userToken, town, rig, fake, alarms };
}

export async function agentsOf(f: { userToken: string; town: Town }): Promise<Agent[]> {
  return (await call('GET', `/api/towns/${f.town.id}/agents`, { token: f.userToken })).body.agents as Agent[];
}

export async function agentById(f: { userToken: string; town: Town }, id: string): Promise<Agent> {
  const agent = (await agentsOf(f)).find((a) => a.id === id);
  if (!agent) throw new Error(`agent ${id} not found`);
  return agent;
}

export async function townEvents(f: { userToken: string; town: Town }): Promise<TownEvent[]> {
  return (await call('GET', `/api/towns/${f.town.id}/events?limit=500`, { token: f.userToken })).body.events as TownEvent[];
}

export async function sendToMayor(f: { userToken: string; town: Town }, text: string): Promise<CallResult> {
  return call('POST', `/api/towns/${f.town.id}/mayor/messages`, { token: f.userToken, body: { text } });
}

/** What the container's broker does: refresh once `lifeFraction` of the token's life is used (outbound only). Mutates `who`. */
export async function refreshIfDue(who: AgentWithCredentials, lifeFraction = 0.5): Promise<void> {
  const c = who.credentials;
  if (Date.now() < c.accessTokenIssuedAt + (c.accessTokenExpiresAt - c.accessTokenIssuedAt) * lifeFraction) return;
  const res = await call('POST', `/agent/towns/${who.agent.townId}/refresh`, { token: c.refreshCredential });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  who.credentials = res.body;
  who.token = res.body.accessToken;
}
