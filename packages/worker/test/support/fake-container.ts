/**
 * A scripted ContainerClient for worker tests: records every call (method + arguments) and answers
 * as told. Install it in a town's TownDO with `installFakeContainer` (through the seams the test
 * worker builds every TownDO with: support/town-seams.ts), which also swaps the alarm for a
 * ManualAlarms so the test runs the reconciler itself (`runAlarm`).
 */
import { env, runInDurableObject } from 'cloudflare:test';
import {
  GastownError,
  type AgentRuntimeStatus,
  type ContainerNudgeRequest,
  type DeliverMessageRequest,
  type MergeRequest,
  type PushCredentialsRequest,
  type StartAgentRequest,
} from '@gastown/protocol';
import { ManualAlarms } from '../../src/town/alarm-scheduler';
import type { ContainerClient, ContainerDelivery, ContainerSettings, StopOptions } from '../../src/town/container-client';
import type { TownDO } from '../../src/town/town-do';
import { installTownSeams } from './town-seams';

export type FakeCall =
  | { method: 'start'; req: StartAgentRequest }
  | { method: 'deliver'; agentId: string; req: DeliverMessageRequest }
  | { method: 'nudge'; agentId: string; req: ContainerNudgeRequest }
  | { method: 'push'; agentId: string; req: PushCredentialsRequest }
  | { method: 'stop'; agentId: string; reason: string; afterTurn?: true }
  | { method: 'status'; agentId: string }
  | { method: 'merge'; req: MergeRequest }
  | { method: 'configure'; settings: ContainerSettings }
  | { method: 'keepAwake' }
  | { method: 'restart' }
  | { method: 'removeRig'; rigId: string; agentIds: string[] }
  | { method: 'destroy' };

export interface FakeBehaviour {
  /** Hold every start until this promise settles (a slow container start). */
  startGate?: Promise<void> | null;
  /** Throw this from start (else the agent "runs": working with a prompt, waiting without). */
  startError?: GastownError | null;
  deliver?: ContainerDelivery | GastownError;
  nudge?: ContainerDelivery | GastownError;
  push?: ContainerDelivery | GastownError;
  /** Hold every push until this promise settles (a slow container: the hand-over of a reissue). */
  pushGate?: Promise<void> | null;
  /** What the container does while it stops an agent, before it answers (its final event flush and completion report). */
  onStop?: ((agentId: string) => Promise<void>) | null;
  merge?: GastownError | null;
  /** Throw this from keepAwake. */
  keepAwake?: GastownError | null;
  /** Throw this from restart, or answer whether a container was running (default true). */
  restart?: GastownError | { wasRunning: boolean } | null;
  /** Throw this from removeRig, or answer with it (default `removed`). */
  removeRig?: GastownError | 'removed' | 'container_asleep' | null;
  /** Throw this from destroy, or answer whether a container was running (default true). */
  destroy?: GastownError | { wasRunning: boolean } | null;
  /** destroy waits for this first (a container that takes its time to go). */
  destroyGate?: Promise<void> | null;
}

export function runtimeStatus(agentId: string, role: AgentRuntimeStatus['role'], gen: number, activity: 'working' | 'waiting'): AgentRuntimeStatus {
  return {
    agentId,
    role,
    gen,
    runtimeState: 'running',
    activity,
    pid: 4242,
    sessionId: 'ses_fake',
    startedAt: 0,
    credential: {
      accessTokenExpiresAt: 0,
      tokenFingerprint: '00000000',
      nextRefreshAt: null,
      lastRefreshAt: null,
      lastRefreshSource: 'dispatch',
      refreshCount: 0,
      consecutiveFailures: 0,
      unauthorizedCount: 0,
      lastError: null,
      state: 'valid',
    },
    lastError: null,
  };
}

export class FakeContainer implements ContainerClient {
  readonly calls: FakeCall[] = [];
  behaviour: FakeBehaviour = {};

  of<M extends FakeCall['method']>(method: M): Extract<FakeCall, { method: M }>[] {
    return this.calls.filter((c): c is Extract<FakeCall, { method: M }> => c.method === method);
  }

  /**
   * Calls that reach the container itself (configure only stores settings for the next boot;
   * keepAwake renews the sleep window without contacting it — tests of it check `of('keepAwake')`).
   */
  containerCalls(): FakeCall[] {
    return this.calls.filter((c) => c.method !== 'configure' && c.method !== 'keepAwake');
  }

  async start(req: StartAgentRequest): Promise<AgentRuntimeStatus> {
    this.calls.push({ method: 'start', req });
    if (this.behaviour.startGate) await this.behaviour.startGate;
    if (this.behaviour.startError) throw this.behaviour.startError;
    return runtimeStatus(req.agent.id, req.agent.role, req.agent.gen, req.prompt ? 'working' : 'waiting');
  }
  async deliver(agentId: string, req: DeliverMessageRequest): Promise<ContainerDelivery> {
    this.calls.push({ method: 'deliver', agentId, req });
    return answer(this.behaviour.deliver ?? 'delivered');
  }
  async nudge(agentId: string, req: ContainerNudgeRequest): Promise<ContainerDelivery> {
    this.calls.push({ method: 'nudge', agentId, req });
    return answer(this.behaviour.nudge ?? 'delivered');
  }
  async push(agentId: string, req: PushCredentialsRequest): Promise<ContainerDelivery> {
    this.calls.push({ method: 'push', agentId, req });
    if (this.behaviour.pushGate) await this.behaviour.pushGate;
    return answer(this.behaviour.push ?? 'delivered');
  }
  async stop(agentId: string, reason: string, options: StopOptions = {}): Promise<ContainerDelivery> {
    this.calls.push({ method: 'stop', agentId, reason, ...(options.afterTurn ? { afterTurn: true as const } : {}) });
    if (this.behaviour.onStop) await this.behaviour.onStop(agentId);
    return 'delivered';
  }
  async status(agentId: string): Promise<AgentRuntimeStatus | null> {
    this.calls.push({ method: 'status', agentId });
    return null;
  }
  async merge(req: MergeRequest): Promise<{ accepted: true }> {
    this.calls.push({ method: 'merge', req });
    if (this.behaviour.merge) throw this.behaviour.merge;
    return { accepted: true };
  }
  async configure(settings: ContainerSettings): Promise<void> {
    this.calls.push({ method: 'configure', settings });
  }
  async keepAwake(): Promise<boolean> {
    this.calls.push({ method: 'keepAwake' });
    if (this.behaviour.keepAwake) throw this.behaviour.keepAwake;
    return true;
  }
  async restart(): Promise<{ wasRunning: boolean }> {
    this.calls.push({ method: 'restart' });
    const behaviour = this.behaviour.restart;
    if (behaviour instanceof GastownError) throw behaviour;
    return behaviour ?? { wasRunning: true };
  }
  async removeRig(rigId: string, agentIds: readonly string[]): Promise<'removed' | 'container_asleep'> {
    this.calls.push({ method: 'removeRig', rigId, agentIds: [...agentIds] });
    const behaviour = this.behaviour.removeRig;
    if (behaviour instanceof GastownError) throw behaviour;
    return behaviour ?? 'removed';
  }
  async destroy(): Promise<{ wasRunning: boolean }> {
    this.calls.push({ method: 'destroy' });
    if (this.behaviour.destroyGate) await this.behaviour.destroyGate;
    const behaviour = this.behaviour.destroy;
    if (behaviour instanceof GastownError) throw behaviour;
    return behaviour ?? { wasRunning: true };
  }
}

function answer(value: ContainerDelivery | GastownError): ContainerDelivery {
  if (value instanceof GastownError) throw value;
  return value;
}

function townObject(townId: string) {
  return env.TOWN.get(env.TOWN.idFromName(townId));
}

/** Install a fake container (and a manual alarm) in a town's TownDO. */
export async function installFakeContainer(townId: string, fake = new FakeContainer()): Promise<{ fake: FakeContainer; alarms: ManualAlarms }> {
  const alarms = new ManualAlarms();
  installTownSeams(env.TOWN.idFromName(townId).toString(), { container: fake, alarms });
  return { fake, alarms };
}

/** Run the TownDO's alarm (the reconciler) once, as workerd would. */
export async function runAlarm(townId: string): Promise<void> {
  await runInDurableObject(townObject(townId), (instance: TownDO) => instance.alarm());
}

/** Read or change the town's SQL state directly (backdating rows, as the cloudflare/agents tests do). */
export function withTownSql<T>(townId: string, fn: (sql: SqlStorage) => T): Promise<T> {
  return runInDurableObject(townObject(townId), (_instance: TownDO, state) => fn(state.storage.sql));
}
