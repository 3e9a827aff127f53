/**
 * 3. Credential propagation: in-process token swap vs restarting the agent runtime.
 * Alone: `npx tsx bench/propagation/bench.ts` (needs `npm run build` once, for the plugin).
 */
import type { Benchmark, BenchBody } from '../lib/report';
import { isMain, runAlone } from '../lib/report';
import { summarize } from '../lib/stats';
import { measureRestart } from './restart';
import { measureSwap } from './swap';

const TRIALS_PER_KIND = 20;
const CONSUMERS = 4;
const RESTARTS = 5;

export const benchmark: Benchmark = {
  id: 'propagation',
  title: '3. Credential propagation: in-process swap vs agent runtime restart',
  command: 'npx tsx bench/propagation/bench.ts',
  async run(): Promise<BenchBody> {
    const swap = await measureSwap({ trialsPerKind: TRIALS_PER_KIND, consumers: CONSUMERS });
    const restart = await measureRestart({ restarts: RESTARTS });
    const byKind = (kind: 'push' | 'refresh') => swap.trials.filter((t) => t.kind === kind);
    const push = byKind('push');
    const refresh = byKind('refresh');
    const s = {
      pushSend: summarize(push.map((t) => t.toFirstSendMs)),
      pushAccepted: summarize(push.map((t) => t.toFirstAcceptedMs)),
      refreshRtt: summarize(refresh.map((t) => t.refreshRoundTripMs ?? Number.NaN)),
      refreshSend: summarize(refresh.map((t) => t.toFirstSendMs)),
      refreshAccepted: summarize(refresh.map((t) => t.toFirstAcceptedMs)),
      restartTotal: summarize(restart.trials.map((t) => t.totalMs)),
      restartStop: summarize(restart.trials.map((t) => t.stopMs)),
      restartStart: summarize(restart.trials.map((t) => t.startMs)),
      restartListening: summarize(restart.trials.map((t) => t.listeningMs ?? Number.NaN)),
    };
    const oldAfter = swap.trials.reduce((n, t) => n + t.oldTokenSentAfterSwap, 0);
    const ratio = (x: number) => `${Math.round(s.restartTotal.p50 / x).toLocaleString('en-US')}×`;
    return {
      tables: [
        {
          title: `time until agent traffic uses a new token (ms; ${TRIALS_PER_KIND} trials each, ${CONSUMERS} consumers sending back to back)`,
          columns: ['path', 'p50', 'p99', 'max', 'restart p50 ÷ p50'],
          rows: [
            ['push → first request sent with it', s.pushSend.p50, s.pushSend.p99, s.pushSend.max, ratio(s.pushSend.p50)],
            ['push → first 2xx with it', s.pushAccepted.p50, s.pushAccepted.p99, s.pushAccepted.max, ratio(s.pushAccepted.p50)],
            ['refresh round trip (broker ↔ control plane)', s.refreshRtt.p50, s.refreshRtt.p99, s.refreshRtt.max, null],
            ['refresh response → first request sent with it', s.refreshSend.p50, s.refreshSend.p99, s.refreshSend.max, ratio(s.refreshSend.p50)],
            ['refresh response → first 2xx with it', s.refreshAccepted.p50, s.refreshAccepted.p99, s.refreshAccepted.max, ratio(s.refreshAccepted.p50)],
            [`restart: stop + start opencode serve (${RESTARTS}×)`, s.restartTotal.p50, s.restartTotal.p99, s.restartTotal.max, '1×'],
            ['  of which stop', s.restartStop.p50, s.restartStop.p99, s.restartStop.max, null],
            ['  of which start → session', s.restartStart.p50, s.restartStart.p99, s.restartStart.max, null],
            ['  of which spawn → listening', s.restartListening.p50, s.restartListening.p99, s.restartListening.max, null],
          ],
          notes: [
            `agent requests during the swaps: ${swap.agentRequests}, refused with 401: ${swap.unauthorized}, failed: ${swap.failedRequests}; requests sent with the old token after a swap: ${oldAfter}`,
            `first start (fresh HOME) ${Math.round(restart.firstStartMs)} ms; RSS before each stop ${restart.trials.map((t) => t.rssMiB).join(', ')} MiB`,
            "a restart also drops the agent's in-flight turn and starts a new session; that cost is not in these numbers",
          ],
        },
      ],
      data: { swap, restart, summaries: s },
      method: [
        "swap — MEASURED in one process: the real broker (createCredentialBroker), the real control-plane client and the real local broker API; traffic = 1 heartbeat loop through the client + 3 tool-call loops (POST /broker/tools/status with the agent's broker key, as the plugin calls it), back to back, against the testkit fake control plane over HTTP, which records the fingerprint of every bearer",
        "push = broker.push(grant) with a grant the control plane minted (alarm push / reissue / warm send path), timed from the push() call; refresh = the broker's single-flight refresh (the code path the scheduled pull runs), timed from the refresh response; times from one monotonic clock around the fetch the broker and client share",
        "restart — MEASURED: the container's runtime adapter (ServeRuntime) stops a real `opencode serve` (process group, no orphans) and starts a new one with a new broker key until it listens, its event stream is connected and it has a session; same HOME across restarts; no model call",
      ],
    };
  },
};

if (isMain(import.meta.url)) await runAlone(benchmark);
