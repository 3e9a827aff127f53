/**
 * 4. Refresh requests per agent-hour at the default TTL (simulated time, real broker), and
 * inbound requests to an idle town container (real interval, real host and container).
 * Alone: `npx tsx bench/refresh-rate/bench.ts` (needs `npm run build` once, for the plugin).
 */
import { DEFAULT_AGENT_TOKEN_TTL_SECONDS } from '@gastown/protocol';
import type { Benchmark, BenchBody } from '../lib/report';
import { isMain, runAlone } from '../lib/report';
import { measureIdleContainer } from './idle-container';
import { simulateRefreshRate } from './simulate';

const AGENTS = 100;
const HOURS = 24;
const IDLE = { ttlSeconds: 8, sleepAfterSeconds: 30, heartbeatIntervalSeconds: 5, observeSeconds: 45 };

export const benchmark: Benchmark = {
  id: 'refresh-rate',
  title: '4. Refresh requests per agent-hour; inbound requests to an idle container',
  command: 'npx tsx bench/refresh-rate/bench.ts',
  async run(): Promise<BenchBody> {
    const sim = await simulateRefreshRate({ agents: AGENTS, hours: HOURS, ttlSeconds: DEFAULT_AGENT_TOKEN_TTL_SECONDS });
    const idle = await measureIdleContainer(IDLE);
    return {
      tables: [
        {
          title: `refresh requests, ${AGENTS} agents × ${HOURS} simulated hours at the default TTL (${DEFAULT_AGENT_TOKEN_TTL_SECONDS} s) — SIMULATED time`,
          columns: ['metric', 'value'],
          rows: [
            ['refresh requests (all agents)', sim.refreshRequests],
            ['refresh requests per agent-hour', sim.perAgentHour.toFixed(3)],
            ['per agent over 24 h: min / p50 / max', `${sim.perAgent.min} / ${sim.perAgent.p50} / ${sim.perAgent.max}`],
            ['gap between refreshes (× TTL): min – max', `${sim.minIntervalFractionOfTtl.toFixed(3)} – ${sim.maxIntervalFractionOfTtl.toFixed(3)}`],
            ['failed refreshes', sim.failedRefreshes],
            ['hourly checks with an agent not holding a valid token', sim.expiredObservations],
            ['other requests by the brokers', sim.otherRequests],
            ['wall time (s)', (sim.wallMs / 1000).toFixed(1)],
          ],
          notes: ['expected: 1 / (0.5 × TTL) = 2 per agent-hour; jitter ±10 % of the TTL puts every gap in [0.4, 0.6] × TTL'],
        },
        {
          title: `inbound requests to an idle town container (a waiting mayor) — MEASURED over a real interval`,
          columns: ['metric', 'value'],
          rows: [
            ['token TTL / sleepAfter / heartbeat interval (s)', `${idle.ttlSeconds} / ${idle.sleepAfterSeconds} / ${idle.heartbeatIntervalSeconds}`],
            ['dispatch (host start + container + opencode serve) ms', idle.dispatchMs],
            ['awake after the dispatch answered (s)', idle.awakeObservedSeconds],
            ['outbound refreshes while awake (ok / failed)', `${idle.refreshesWhileAwake} / ${idle.failedRefreshes}`],
            ['outbound heartbeats while awake', idle.heartbeatsWhileAwake],
            ['inbound requests in the host log, total', idle.inboundTotal],
            ['inbound requests after the dispatch', idle.inboundAfterDispatch],
            ['inbound requests per hour while idle', idle.inboundPerHourWhileIdle],
            ['container went to sleep after (s)', idle.asleepAfterSeconds],
            ['container starts / sleeps', `${idle.containerStarts} / ${idle.containerSleeps}`],
          ],
          notes: [
            'the one inbound request is the dispatch itself; refreshes and heartbeats are outbound and did not keep the container awake',
            'the control plane is the testkit fake (no TownDO alarm drives the host yet), so an alarm push is not part of this interval',
          ],
        },
      ],
      data: { simulated: sim, idleContainer: idle },
      method: [
        `refresh rate — SIMULATED time: ${AGENTS} real brokers (createCredentialBroker) on one ManualClock/ManualTimers; every refresh is a real HTTP request to the testkit fake control plane (real HS256 tokens, single-use refresh rotation) on the same manual clock; ${HOURS} h advanced an hour at a time; jitter from a seeded PRNG`,
        'idle container — MEASURED: the real container host (in-process), the real container process (packages/container/src/main.ts) with its supervisor, broker and a real `opencode serve` for a mayor dispatched with no prompt (waiting); counted: the host\'s inbound log, the fake control plane\'s request log; SIMULATED: the control plane (testkit fake), TTL and sleepAfter shortened to seconds so the interval fits the run',
        'per hour while idle = inbound after the dispatch / awake seconds × 3600 (0 stays 0 at any scale)',
      ],
    };
  },
};

if (isMain(import.meta.url)) await runAlone(benchmark);
