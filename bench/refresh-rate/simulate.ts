/**
 * Refresh requests per agent-hour, simulated: N real credential brokers (the container's
 * createCredentialBroker) under one ManualClock/ManualTimers, refreshing over real HTTP
 * against the testkit's fake control plane (real HS256 tokens and refresh rotation, same
 * manual clock). Simulated time only: `hours` of broker life pass in seconds of wall time.
 */
import type { AgentIdentity } from '@gastown/protocol';
import { createCredentialBroker } from '@gastown/container/broker/index';
import { silentLogger } from '@gastown/container/log/index';
import type { CredentialBroker } from '@gastown/container/broker/index';
import { ManualClock, ManualTimers, startFakeControlPlane } from '@gastown/testkit/fake-control-plane/index';
import { seededRandom } from '../lib/random';
import { summarize, type Summary } from '../lib/stats';

export interface RefreshRateOptions {
  agents: number;
  hours: number;
  ttlSeconds: number;
  seed?: number;
}

export interface RefreshRateResult {
  agents: number;
  simulatedHours: number;
  ttlSeconds: number;
  refreshRequests: number;
  failedRefreshes: number;
  perAgentHour: number;
  /** Refreshes of each agent over the whole simulated span. */
  perAgent: Summary;
  /** Every other request the brokers made (should be none: a broker only refreshes). */
  otherRequests: number;
  /** Smallest time between two refreshes of one agent, as a fraction of the TTL. */
  minIntervalFractionOfTtl: number;
  maxIntervalFractionOfTtl: number;
  /** Any moment an agent had no valid token (checked at every refresh and at the end). */
  expiredObservations: number;
  wallMs: number;
}

export function agentIdentity(i: number, townId = 'town_bench01'): AgentIdentity {
  return { id: `ag_${i.toString(36).padStart(8, '0')}`, townId, rigId: 'rig_bench01', userId: 'user-bench', role: 'polecat', name: `polecat-${i}`, gen: 1 };
}

export async function simulateRefreshRate(options: RefreshRateOptions): Promise<RefreshRateResult> {
  const started = performance.now();
  const clock = new ManualClock();
  const timers = new ManualTimers(clock);
  const random = seededRandom(options.seed ?? 42);
  const cp = await startFakeControlPlane({ clock, tokenTtlSeconds: options.ttlSeconds, clockToleranceSeconds: 0 });
  const brokers: CredentialBroker[] = [];
  try {
    for (let i = 0; i < options.agents; i += 1) {
      const agent = agentIdentity(i);
      const broker = createCredentialBroker({
        agent,
        controlPlaneUrl: cp.url,
        initial: await cp.issueCredentials(agent),
        clock,
        random,
        timers,
        fetch,
        logger: silentLogger,
      });
      broker.start();
      brokers.push(broker);
    }
    const startMs = clock.now();
    // Advance an hour at a time and check every broker holds a valid token at each step.
    let expiredObservations = 0;
    for (let h = 0; h < options.hours; h += 1) {
      await timers.advance(3_600_000);
      for (const b of brokers) if (b.status().state !== 'valid') expiredObservations += 1;
    }
    const endMs = clock.now();
    const refreshes = cp.requestsFor('refresh');
    const failed = refreshes.filter((r) => r.status !== 200).length;
    const perAgentCounts = brokers.map((b) => b.status().refreshCount);
    const intervals = refreshIntervals(
      cp.requests.filter((r) => r.route === 'refresh'),
      options.ttlSeconds,
    );
    const hoursSpanned = (endMs - startMs) / 3_600_000;
    return {
      agents: options.agents,
      simulatedHours: hoursSpanned,
      ttlSeconds: options.ttlSeconds,
      refreshRequests: refreshes.length,
      failedRefreshes: failed,
      perAgentHour: refreshes.length / (options.agents * hoursSpanned),
      perAgent: summarize(perAgentCounts),
      otherRequests: cp.requests.length - refreshes.length,
      minIntervalFractionOfTtl: intervals.min,
      maxIntervalFractionOfTtl: intervals.max,
      expiredObservations,
      wallMs: Math.round(performance.now() - started),
    };
  } finally {
    for (const b of brokers) b.stop();
    await cp.stop();
  }
}

/** Gaps between consecutive refreshes of the same credential family (agentId as recorded). */
function refreshIntervals(records: ReadonlyArray<{ agentId: string | null; at: number }>, ttlSeconds: number): { min: number; max: number } {
  const last = new Map<string, number>();
  let min = Number.POSITIVE_INFINITY;
  let max = 0;
  for (const r of records) {
    if (r.agentId === null) continue;
    const prev = last.get(r.agentId);
    if (prev !== undefined) {
      const f = (r.at - prev) / (ttlSeconds * 1000);
      min = Math.min(min, f);
      max = Math.max(max, f);
    }
    last.set(r.agentId, r.at);
  }
  return { min: Number.isFinite(min) ? min : Number.NaN, max: max || Number.NaN };
}
