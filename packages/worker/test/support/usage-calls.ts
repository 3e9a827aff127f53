/**
 * Model usage as the container's proxy reports it (`model.usage` agent events), and a town whose
 * mayor runs and whose polecat works on a slung bead — for the usage and spend cap tests.
 */
import { MODEL_USAGE_EVENT, TOOLS, type AgentEvent, type Bead, type ModelUsageRecord, type UsageResponse } from '@gastown/protocol';
import { expect } from 'vitest';
import { call, callTool, uniqueName, type AgentWithCredentials, type CallResult } from '../helpers';
import { dispatchTown, heartbeat, postEvents, sendToMayor, startedAgent, type DispatchFixture } from './agent-calls';
import { runAlarm } from './fake-container';

/** One measured call: 1000 input and 500 output tokens of gpt-4o-mini, 200, unless overridden. */
export function usageRecord(overrides: Partial<ModelUsageRecord> = {}): ModelUsageRecord {
  return {
    model: 'gpt-4o-mini',
    providerKind: 'openai-compatible',
    inputTokens: 1000,
    outputTokens: 500,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    latencyMs: 120,
    streamed: true,
    status: 200,
    errorCode: null,
    ...overrides,
  };
}

export function usageEvent(overrides: Partial<ModelUsageRecord> = {}, options: { id?: string; at?: number } = {}): AgentEvent {
  return {
    id: options.id ?? uniqueName('evt_usage').replace(/[^A-Za-z0-9_-]/g, '_'),
    type: MODEL_USAGE_EVENT,
    at: options.at ?? Date.now(),
    data: usageRecord(overrides),
  };
}

export async function reportUsage(who: AgentWithCredentials, events: AgentEvent[]): Promise<CallResult> {
  const res = await postEvents(who, events);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res;
}

export async function usageOf(f: { userToken: string; town: { id: string } }, query = ''): Promise<UsageResponse> {
  const res = await call('GET', `/api/towns/${f.town.id}/usage${query}`, { token: f.userToken });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as UsageResponse;
}

export async function patchConfig(f: { userToken: string; town: { id: string } }, body: Record<string, unknown>): Promise<CallResult> {
  const res = await call('PATCH', `/api/towns/${f.town.id}/config`, { token: f.userToken, body });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res;
}

export interface WorkingTown {
  f: DispatchFixture;
  mayor: AgentWithCredentials;
  polecat: AgentWithCredentials;
  bead: Bead;
}

/** A town (fake container) whose mayor runs (waiting) and whose polecat, started by the alarm, works on a slung bead. */
export async function workingTown(): Promise<WorkingTown> {
  const f = await dispatchTown();
  expect((await sendToMayor(f, 'please work')).status).toBe(201);
  const mayor = startedAgent(f.fake.of('start')[0]!.req);
  expect((await heartbeat(mayor, { activity: 'waiting' })).status).toBe(200);
  const bead = await slingBead(mayor, f.rig.id, 'add a README');
  await runAlarm(f.town.id);
  const polecat = startedAgent(f.fake.of('start').at(-1)!.req);
  expect(polecat.agent.role).toBe('polecat');
  expect((await heartbeat(polecat, { activity: 'working' })).status).toBe(200);
  return { f, mayor, polecat, bead };
}

export async function slingBead(mayor: AgentWithCredentials, rigId: string, title: string): Promise<Bead> {
  const res = await callTool(mayor, 'sling', { rigId, title, body: 'one paragraph' });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return TOOLS.sling.result.parse(res.body).bead;
}
