import { SETUP_TIMEOUT_SECONDS } from '@gastown/protocol';
import type { ContainerCall } from './container-rpc';
import { DEFAULT_CONTAINER_TIMEOUTS, type ContainerTimeouts } from './container-transport';

/**
 * Time limits of the production container (TownContainerDO on Cloudflare Containers), sized like the
 * local container host's so a town behaves the same in both places (docs/DEPLOYMENT.md, "Container
 * time limits"). The library's own defaults (8 s for an instance, ~20 s for the port) are too short
 * for a cold start that boots Node and a runtime, and it puts no limit on a call at all.
 */
export interface ContainerLimits {
  /** Per-call budgets (start / deliver / other): the call ends `container_unavailable` when it runs out. */
  calls: ContainerTimeouts;
  /** How long a cold start may wait for an instance to be handed to the object. */
  instanceGetMs: number;
  /** How long a cold start may wait for the control server to listen (local host: 60 s for its ready line). */
  portReadyMs: number;
  /** Poll interval of the readiness wait. */
  pollIntervalMs: number;
  /** SIGTERM → SIGKILL grace (local host: GASTOWN_STOP_GRACE_SECONDS, 25 s; the container drains in 20 s). */
  stopGraceMs: number;
  /** Extra time the TownDO gives an RPC to TownContainerDO beyond the call's own budget (a backstop). */
  rpcMarginMs: number;
}

export const CONTAINER_LIMITS: ContainerLimits = {
  calls: DEFAULT_CONTAINER_TIMEOUTS,
  instanceGetMs: 60_000,
  portReadyMs: 60_000,
  pollIntervalMs: 300,
  stopGraceMs: 25_000,
  rpcMarginMs: 15_000,
};

/**
 * The budget of one control-API call: an agent start clones a rig and boots a runtime (plus its rig's
 * setup command, up to that command's own time limit); a delivery prompts it.
 */
export function callBudgetMs(req: Pick<ContainerCall, 'method' | 'path' | 'body'>, timeouts: ContainerTimeouts = DEFAULT_CONTAINER_TIMEOUTS): number {
  if (req.method === 'POST' && req.path === '/agents') return timeouts.startMs + setupAllowanceMs(req.body);
  if (req.path.endsWith('/messages')) return timeouts.deliverMs;
  return timeouts.otherMs;
}

/** The time a start request's setup command may take (StartAgentRequest.setup.timeoutSeconds), 0 without one. */
function setupAllowanceMs(body: unknown): number {
  const setup = body && typeof body === 'object' ? (body as { setup?: unknown }).setup : null;
  const seconds = setup && typeof setup === 'object' ? (setup as { timeoutSeconds?: unknown }).timeoutSeconds : null;
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, SETUP_TIMEOUT_SECONDS.max) * 1000 : 0;
}
