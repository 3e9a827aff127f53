/**
 * 4. Refresh requests per agent-hour at the default TTL (simulated time, real broker), and
 * inbound requests to an idle town container (real interval, whole local stack).
 * Alone: `npx tsx bench/refresh-rate/bench.ts` (needs `npm run build` once, for the plugin).
 */
import { DEFAULT_AGENT_TOKEN_TTL_SECONDS } from '@gastown/protocol';
import type { Benchmark, BenchBody } from '../lib/report';
import { isMain, runAlone } from '../lib/report';
import { measureIdleStack } from './idle-stack';
import { simulateRefreshRate } from './simulate';

const AGENTS = 100;
const HOURS = 24;
const IDLE = { windowSeconds: 60, ttlSeconds: 20, sleepAfterSeconds: 15 };

export const benchmark: Benchmark = {
  id: 'refresh-rate',
  title: '4. Refresh requests per agent-hour; inbound requests to an idle container',
  command: 'npx tsx bench/refresh-rate/bench.ts',
  async run(): Promise<BenchBody> {
    const sim = await simulateRefreshRate({ agents: AGENTS, hours: HOURS, ttlSeconds: DEFAULT_AGENT_TOKEN_TTL_SECONDS });
    const idle = await measureIdleStack(IDLE);
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
          title: `inbound requests to an idle town container (a waiting mayor) on the whole local stack — MEASURED over a real interval`,
          columns: ['metric', 'value'],
          rows: [
            ['token TTL / heartbeat interval (s)', `${idle.ttlSeconds} / ${idle.heartbeatIntervalSeconds}`],
            ['stack start (wrangler dev + host) ms', idle.stackStartMs],
            ['mayor message → answered and waiting ms', idle.mayorReadyMs],
            ['idle window (s)', idle.windowSeconds],
            ['inbound requests before the window (starting the mayor with its message)', idle.inboundBeforeWindow],
            ['inbound requests during the window', idle.inboundDuringWindow],
            ['inbound requests per hour while idle', idle.inboundPerHourWhileIdle],
            ['broker refreshes in the window (reported by the broker / counted by the TownDO)', `${idle.refreshesReported} / ${idle.refreshesControlPlane}`],
            ['credential state / 401s seen by the broker', `${idle.credentialState ?? '?'} / ${idle.unauthorizedCount ?? '?'}`],
            ['mayor status at the end of the window', idle.mayorStatus],
            ['sleepAfter then set to (s) → container asleep after (s)', `${idle.sleepAfterSeconds} → ${idle.asleepAfterSeconds ?? 'did not sleep'}`],
            ['inbound requests from the window start until asleep', idle.inboundUntilAsleep],
            ['container starts / sleeps', `${idle.containerStarts} / ${idle.containerSleeps}`],
          ],
          notes: [
            'inbound = every request the control plane sent to the town container through the host (the host log); refreshes and heartbeats are outbound',
            'the TownDO alarm ran throughout (its credential backstop pushes only to working agents; the mayor was waiting)',
          ],
        },
      ],
      data: { simulated: sim, idleContainer: idle },
      method: [
        `refresh rate — SIMULATED time: ${AGENTS} real brokers (createCredentialBroker) on one ManualClock/ManualTimers; every refresh is a real HTTP request to the testkit fake control plane (real HS256 tokens, single-use refresh rotation) on the same manual clock; ${HOURS} h advanced an hour at a time; jitter from a seeded PRNG`,
        "idle container — MEASURED on startStack(): wrangler dev (control plane, TownDO and its alarm), the container host and real container process, a real `opencode serve` mayor driven by the scripted fake LLM; the mayor answers one message, then waits; counted over a real window: the host's inbound log, the broker's refresh count (heartbeat) and the TownDO's; shortened so it fits the run: token TTL 20 s, heartbeat 5 s, sleepAfter 15 s after the window",
        'per hour while idle = inbound in the window / window seconds × 3600 (0 stays 0 at any scale)',
      ],
    };
  },
};

if (isMain(import.meta.url)) await runAlone(benchmark);
