import {
  AgentRuntimeStatusSchema,
  CONTAINER_API,
  GastownError,
  parseErrorBody,
  routePath,
  type AgentRuntimeStatus,
  type ContainerNudgeRequest,
  type DeliverMessageRequest,
  type ErrorCode,
  type MergeRequest,
  type PushCredentialsRequest,
  type RemoveRigWorkspacesRequest,
  type StartAgentRequest,
} from '@gastown/protocol';
import type { ContainerClient, ContainerDelivery, ContainerSettings, StopOptions } from '../container-client';
import type { ContainerCall, ContainerCallResult } from './container-rpc';
import type { ContainerTransport } from './container-transport';

type Answered = Extract<ContainerCallResult, { running: true }>;

/**
 * The ContainerClient over any transport: builds CONTAINER_API calls, decides which may wake the
 * container (start, deliver, merge) and which may not (status, push, stop), and turns answers into
 * results or typed errors. `not_found` / `conflict` from the container mean "no live agent".
 */
export class ControlApiContainerClient implements ContainerClient {
  constructor(private readonly transport: ContainerTransport) {}

  async start(req: StartAgentRequest): Promise<AgentRuntimeStatus> {
    const answer = await this.answered({ method: 'POST', path: CONTAINER_API.agents, body: req, wake: true });
    if (answer.status !== 200) throw errorFrom(answer, 'start');
    return parseStatus(answer);
  }

  async deliver(agentId: string, req: DeliverMessageRequest): Promise<ContainerDelivery> {
    return this.delivery({ method: 'POST', path: routePath(CONTAINER_API.messages, { agentId }), body: req, wake: true }, 'deliver');
  }

  async nudge(agentId: string, req: ContainerNudgeRequest): Promise<ContainerDelivery> {
    return this.delivery({ method: 'POST', path: routePath(CONTAINER_API.nudge, { agentId }), body: req, wake: false }, 'nudge');
  }

  async push(agentId: string, req: PushCredentialsRequest): Promise<ContainerDelivery> {
    return this.delivery({ method: 'POST', path: routePath(CONTAINER_API.credentials, { agentId }), body: req, wake: false }, 'push');
  }

  async stop(agentId: string, reason: string, options: StopOptions = {}): Promise<ContainerDelivery> {
    const body = { reason: reason.slice(0, 500), ...(options.afterTurn ? { afterTurn: true } : {}) };
    return this.delivery({ method: 'POST', path: routePath(CONTAINER_API.stop, { agentId }), body, wake: false }, 'stop');
  }

  async status(agentId: string): Promise<AgentRuntimeStatus | null> {
    const result = await this.transport.call({ method: 'GET', path: routePath(CONTAINER_API.agent, { agentId }), wake: false });
    if (!result.running) return null;
    if (result.status === 404) return null;
    if (result.status !== 200) throw errorFrom(result, 'status');
    return parseStatus(result);
  }

  async merge(req: MergeRequest): Promise<{ accepted: true }> {
    const answer = await this.answered({ method: 'POST', path: CONTAINER_API.merge, body: req, wake: true });
    if (answer.status === 200 || answer.status === 202) return { accepted: true };
    if (answer.status === 404) throw new GastownError('conflict', 'the refinery is not running in the container; the merge was not started');
    throw errorFrom(answer, 'merge');
  }

  configure(settings: ContainerSettings): Promise<void> {
    return this.transport.configure(settings);
  }

  keepAwake(): Promise<boolean> {
    return this.transport.keepAwake();
  }

  restart(): Promise<{ wasRunning: boolean }> {
    return this.transport.restart();
  }

  async removeRig(rigId: string, agentIds: readonly string[]): Promise<'removed' | 'container_asleep'> {
    const body: RemoveRigWorkspacesRequest = { agentIds: [...agentIds] };
    const result = await this.transport.call({ method: 'POST', path: routePath(CONTAINER_API.removeRig, { rigId }), body, wake: false });
    if (!result.running) return 'container_asleep';
    if (result.status === 200) return 'removed';
    throw errorFrom(result, 'remove rig');
  }

  destroy(): Promise<{ wasRunning: boolean }> {
    return this.transport.destroy();
  }

  private async delivery(call: ContainerCall, operation: string): Promise<ContainerDelivery> {
    const result = await this.transport.call(call);
    if (!result.running) return 'not_running';
    if (result.status === 200) return 'delivered';
    if (result.status === 404) return 'not_running';
    if (result.status === 409) return 'ending';
    throw errorFrom(result, operation);
  }

  private async answered(call: ContainerCall): Promise<Answered> {
    const result = await this.transport.call(call);
    if (!result.running) throw new GastownError('container_unavailable', 'the town container is not running');
    return result;
  }
}

function parseStatus(answer: Answered): AgentRuntimeStatus {
  const parsed = AgentRuntimeStatusSchema.safeParse(parseJson(answer.body));
  if (!parsed.success) throw new GastownError('upstream_failed', 'the container answered with an unexpected agent status');
  return parsed.data;
}

/** Codes a container answer may pass on as they are; anything else means the container misbehaved. */
const PASS_THROUGH: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['conflict', 'validation_failed', 'role_forbidden', 'not_found', 'container_unavailable']);

/** A typed error from a container's error answer; its message (never a secret: the container redacts) is kept. */
export function errorFrom(answer: Answered, operation: string): GastownError {
  const body = parseErrorBody(parseJson(answer.body));
  if (!body) return new GastownError('upstream_failed', `container ${operation} failed with HTTP ${answer.status}`);
  const { code, message } = body.error;
  if (code === 'container_unauthorized')
    return new GastownError(
      'upstream_failed',
      `container ${operation}: the container rejected the town's container key (derived from GASTOWN_CONTAINER_KEY: the worker's and the container host's differ)`,
    );
  if (PASS_THROUGH.has(code)) return new GastownError(code, `container ${operation}: ${message}`.slice(0, 1000));
  return new GastownError('upstream_failed', `container ${operation} failed (${code}): ${message}`.slice(0, 1000));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}
