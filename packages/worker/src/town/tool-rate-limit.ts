import { GastownError, type Clock, type ToolName } from '@gastown/protocol';
import { TokenBuckets, type RateLimit } from './rate-limit';

const MINUTE_MS = 60_000;

/**
 * Per-agent limits of the tools that create work or reach other agents and the user (a prompt-
 * injected agent looping on them would flood the town). A bucket per agent and tool: a burst of
 * `capacity` calls, then `capacity` per `windowMs`.
 *
 * | tool         | default                 |
 * |--------------|-------------------------|
 * | gt_sling     | 30 per 10 min (burst 30) |
 * | gt_sling_batch | 10 per 10 min (burst 10; each ≤ 20 beads) |
 * | gt_mail_send | 60 per 10 min (burst 60) |
 * | gt_escalate  | 10 per 10 min (burst 10) |
 *
 * Every other tool is unlimited here (reads, status lines, done; the body limits still apply).
 */
export const TOOL_RATE_LIMITS: Readonly<Partial<Record<ToolName, RateLimit>>> = Object.freeze({
  sling: { capacity: 30, windowMs: 10 * MINUTE_MS },
  sling_batch: { capacity: 10, windowMs: 10 * MINUTE_MS },
  mail_send: { capacity: 60, windowMs: 10 * MINUTE_MS },
  escalate: { capacity: 10, windowMs: 10 * MINUTE_MS },
});

/**
 * The TownDO's tool limiter. State lives in the object's memory only (a Durable Object is single-
 * threaded, so no locking): when the object restarts (deploy, eviction after idling, a crash)
 * every bucket starts full again, so an agent can get at most one extra burst per restart. The
 * key is the agent id, not its generation: a re-dispatch does not reset its buckets.
 */
export class ToolRateLimiter {
  private readonly buckets = new Map<ToolName, { limit: RateLimit; buckets: TokenBuckets }>();

  constructor(clock: Clock, limits: Readonly<Partial<Record<ToolName, RateLimit>>> = TOOL_RATE_LIMITS) {
    for (const [tool, limit] of Object.entries(limits) as [ToolName, RateLimit][]) this.buckets.set(tool, { limit, buckets: new TokenBuckets(limit, clock) });
  }

  /** The hook for tool dispatch: returns when the call may run, throws 429 `rate_limited` when not. */
  enforce(agentId: string, tool: ToolName): void {
    const entry = this.buckets.get(tool);
    if (!entry) return;
    const decision = entry.buckets.take(agentId);
    if (decision.allowed) return;
    const retrySeconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
    const per = `${entry.limit.capacity} calls per ${formatWindow(entry.limit.windowMs)}`;
    throw new GastownError('rate_limited', `gt_${tool}: rate limit of ${per} reached for this agent; retry in ${retrySeconds} s`);
  }
}

function formatWindow(ms: number): string {
  if (ms % MINUTE_MS === 0) return `${ms / MINUTE_MS} min`;
  return `${Math.ceil(ms / 1000)} s`;
}
