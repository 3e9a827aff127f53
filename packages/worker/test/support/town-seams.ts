/**
 * The test seams of a TownDO, given to it at construction (test/worker-entry.ts): a container client
 * and an alarm that look here on every call, so a test can put a fake container and a manual alarm
 * in place for one town (`installTownSeams`) after the town exists — without reaching into the
 * object. A town with nothing installed uses the real ones.
 */
import type {
  AgentRuntimeStatus,
  ContainerNudgeRequest,
  DeliverMessageRequest,
  MergeRequest,
  PushCredentialsRequest,
  StartAgentRequest,
} from '@gastown/protocol';
import type { FetchFn } from '../../src/git-host';
import type { AlarmScheduler } from '../../src/town/alarm-scheduler';
import type { ContainerClient, ContainerDelivery, ContainerSettings, StopOptions } from '../../src/town/container-client';

export interface TownSeams {
  container?: ContainerClient;
  alarms?: AlarmScheduler;
  /** What the town's git host clients call instead of the network (a fake GitHub / GitLab). */
  fetch?: FetchFn;
}

/** By Durable Object id (`env.TOWN.idFromName(townId).toString()`). */
const installed = new Map<string, TownSeams>();

export function installTownSeams(objectId: string, seams: TownSeams): void {
  installed.set(objectId, { ...installed.get(objectId), ...seams });
}

/** A container client that is the installed fake of this object, if any, else `real`. */
export class SeamContainerClient implements ContainerClient {
  constructor(
    private readonly objectId: string,
    private readonly real: ContainerClient,
  ) {}

  private get current(): ContainerClient {
    return installed.get(this.objectId)?.container ?? this.real;
  }
  start(req: StartAgentRequest): Promise<AgentRuntimeStatus> {
    return this.current.start(req);
  }
  deliver(agentId: string, req: DeliverMessageRequest): Promise<ContainerDelivery> {
    return this.current.deliver(agentId, req);
  }
  nudge(agentId: string, req: ContainerNudgeRequest): Promise<ContainerDelivery> {
    return this.current.nudge(agentId, req);
  }
  push(agentId: string, req: PushCredentialsRequest): Promise<ContainerDelivery> {
    return this.current.push(agentId, req);
  }
  stop(agentId: string, reason: string, options?: StopOptions): Promise<ContainerDelivery> {
    return this.current.stop(agentId, reason, options);
  }
  status(agentId: string): Promise<AgentRuntimeStatus | null> {
    return this.current.status(agentId);
  }
  merge(req: MergeRequest): Promise<{ accepted: true }> {
    return this.current.merge(req);
  }
  configure(settings: ContainerSettings): Promise<void> {
    return this.current.configure(settings);
  }
  keepAwake(): Promise<boolean> {
    return this.current.keepAwake();
  }
  restart(): Promise<{ wasRunning: boolean }> {
    return this.current.restart();
  }
  removeRig(rigId: string, agentIds: readonly string[]): Promise<'removed' | 'container_asleep'> {
    return this.current.removeRig(rigId, agentIds);
  }
  destroy(): Promise<{ wasRunning: boolean }> {
    return this.current.destroy();
  }
}

/** An alarm that is the installed manual alarm of this object, if any, else `real`. */
export class SeamAlarms implements AlarmScheduler {
  constructor(
    private readonly objectId: string,
    private readonly real: AlarmScheduler,
  ) {}

  private get current(): AlarmScheduler {
    return installed.get(this.objectId)?.alarms ?? this.real;
  }
  get(): Promise<number | null> {
    return this.current.get();
  }
  set(at: number): Promise<void> {
    return this.current.set(at);
  }
  clear(): Promise<void> {
    return this.current.clear();
  }
}

/**
 * Git's smart-HTTP discovery answer of a public repository under https://example.com/ (offline), or
 * null for any other request: the test rigs point there (test/helpers.ts addRig), and the rig access
 * check at add (git-host/remote-probe.ts) reads them through `seamFetch`.
 */
export function exampleComGitDiscovery(input: string): Response | null {
  const url = new URL(input);
  if (url.host !== 'example.com' || !url.pathname.endsWith('/info/refs') || url.searchParams.get('service') !== 'git-upload-pack') return null;
  return new Response('001e# service=git-upload-pack\n0000', { status: 200, headers: { 'content-type': 'application/x-git-upload-pack-advertisement' } });
}

/** example.com's public repositories offline; anything else goes to the network. */
function offlineFetch(input: string, init?: RequestInit): Promise<Response> {
  const discovery = exampleComGitDiscovery(input);
  return discovery ? Promise.resolve(discovery) : fetch(input, init);
}

/** A fetch that is the installed one of this object, if any, else the offline stand-in for example.com's git repositories. */
export function seamFetch(objectId: string): FetchFn {
  return (input, init) => (installed.get(objectId)?.fetch ?? offlineFetch)(input, init);
}
