/**
 * Credential propagation by in-process swap: one agent's real broker + real control-plane
 * client + the real local broker API, with agent traffic flowing (tool calls through the
 * broker API as the plugin makes them, heartbeats through the client) against the testkit
 * fake control plane, which records the fingerprint of the token every request carried.
 *
 * Each trial swaps the token — a push (alarm push / reissue / warm send) or a refresh (the
 * broker's single-flight refresh, as the scheduled pull runs it) — and times, on the same
 * monotonic clock, the first request sent with the new token and its accepted response.
 */
import type { AgentIdentity, HeartbeatRequest } from '@gastown/protocol';
import { createControlPlaneClient, createCredentialBroker } from '@gastown/container/broker/index';
import { createBrokerApi, startBrokerServer } from '@gastown/container/broker-api/index';
import { fingerprint } from '@gastown/container/log/fingerprint';
import { silentLogger } from '@gastown/container/log/index';
import { startFakeControlPlane } from '@gastown/testkit/fake-control-plane/index';
import { seededRandom } from '../lib/random';

export type SwapKind = 'push' | 'refresh';

export interface SwapTrial {
  kind: SwapKind;
  /** refresh only: the refresh request's round trip (ms). */
  refreshRoundTripMs: number | null;
  /** From the swap (push() call, or refresh response received) to the first request sent with the new token. */
  toFirstSendMs: number;
  /** From the swap to that request's 2xx response (the control plane accepted the new token). */
  toFirstAcceptedMs: number;
  /** Requests sent with the old token after the swap (must be 0). */
  oldTokenSentAfterSwap: number;
}

export interface SwapResult {
  trials: SwapTrial[];
  /** Agent requests during the whole run, and how many the control plane refused. */
  agentRequests: number;
  unauthorized: number;
  failedRequests: number;
  consumers: number;
  /** Every new token seen by the server was the one the broker installed (server-side check). */
  serverSawEveryNewToken: boolean;
}

interface Sent {
  at: number;
  fp: string;
  route: 'refresh' | 'agent';
  doneAt: number | null;
  status: number | null;
}

const AGENT: AgentIdentity = {
  id: 'ag_swapbench1',
  townId: 'town_swapbench',
  rigId: 'rig_swapbench',
  userId: 'user-bench',
  role: 'polecat',
  name: 'polecat-1',
  gen: 1,
};

export async function measureSwap(options: { trialsPerKind: number; consumers: number }): Promise<SwapResult> {
  const cp = await startFakeControlPlane({ tokenTtlSeconds: 3600, clockToleranceSeconds: 0 });
  const sent: Sent[] = [];
  // The fetch both broker and client use: notes when each request left and which token it carried.
  const recordingFetch: typeof fetch = async (input, init) => {
    const auth = new Headers(init?.headers).get('authorization') ?? '';
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const entry: Sent = {
      at: performance.now(),
      fp: fingerprint(auth.slice(7)),
      route: url.endsWith('/refresh') ? 'refresh' : 'agent',
      doneAt: null,
      status: null,
    };
    sent.push(entry);
    const res = await fetch(input, init);
    entry.doneAt = performance.now();
    entry.status = res.status;
    return res;
  };
  const broker = createCredentialBroker({
    agent: AGENT,
    controlPlaneUrl: cp.url,
    initial: await cp.issueCredentials(AGENT),
    clock: { now: () => Date.now() },
    random: seededRandom(7),
    timers: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>) },
    fetch: recordingFetch,
    logger: silentLogger,
  });
  broker.start();
  const client = createControlPlaneClient({ broker, agent: AGENT, controlPlaneUrl: cp.url, fetch: recordingFetch, logger: silentLogger });
  const api = createBrokerApi({ logger: silentLogger, fetch });
  const server = await startBrokerServer(api, { hostname: '127.0.0.1', port: 0 });
  const brokerKey = api.registerAgent(AGENT.id, { client, provider: null });

  let running = true;
  let failedRequests = 0;
  const heartbeat = (): HeartbeatRequest => ({
    containerInstanceId: 'ci_bench',
    runtimeState: 'running',
    activity: 'working',
    credential: broker.status(),
    pid: null,
    sessionId: null,
  });
  const consumers = Array.from({ length: options.consumers }, async (_, i) => {
    while (running) {
      try {
        if (i === 0) await client.heartbeat(heartbeat());
        else {
          const res = await fetch(`${server.url}/broker/tools/status`, {
            method: 'POST',
            headers: { authorization: `Bearer ${brokerKey}`, 'content-type': 'application/json' },
            body: JSON.stringify({ text: `consumer ${i} at work` }),
          });
          await res.arrayBuffer();
          if (!res.ok) failedRequests += 1;
        }
      } catch {
        failedRequests += 1;
      }
    }
  });

  const trials: SwapTrial[] = [];
  const newFingerprints: string[] = [];
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  try {
    await pause(300); // traffic flowing
    for (let t = 0; t < options.trialsPerKind * 2; t += 1) {
      const kind: SwapKind = t % 2 === 0 ? 'push' : 'refresh';
      const oldFp = broker.status().tokenFingerprint;
      let swapAt: number;
      let refreshRoundTripMs: number | null = null;
      if (kind === 'push') {
        // mint first (the control plane's work), then time from the moment the broker gets it
        await pause(2); // grants are ordered by issuedAt (ms); make sure the new one is newer
        const grant = await cp.mintGrant(AGENT.id);
        swapAt = performance.now();
        broker.push(grant);
      } else {
        const before = sent.length;
        await broker.handleUnauthorized(await broker.accessToken());
        const refresh = sent.slice(before).find((s) => s.route === 'refresh');
        if (!refresh || refresh.doneAt === null) throw new Error('no refresh request was sent');
        refreshRoundTripMs = refresh.doneAt - refresh.at;
        swapAt = refresh.doneAt;
      }
      const newFp = broker.status().tokenFingerprint;
      if (newFp === oldFp) throw new Error(`${kind} did not change the token`);
      newFingerprints.push(newFp);
      // wait for the first accepted request with the new token
      const deadline = performance.now() + 5_000;
      let first: Sent | undefined;
      while (performance.now() < deadline) {
        first = sent.find((s) => s.route === 'agent' && s.fp === newFp && s.status !== null && s.status < 300);
        if (first) break;
        await pause(1);
      }
      if (!first || first.doneAt === null) throw new Error(`no request used the new token within 5 s (${kind})`);
      const firstSend = sent.find((s) => s.route === 'agent' && s.fp === newFp)!;
      trials.push({
        kind,
        refreshRoundTripMs,
        toFirstSendMs: firstSend.at - swapAt,
        toFirstAcceptedMs: first.doneAt - swapAt,
        oldTokenSentAfterSwap: sent.filter((s) => s.route === 'agent' && s.fp === oldFp && s.at > swapAt).length,
      });
      await pause(20);
    }
  } finally {
    running = false;
    await Promise.all(consumers);
    broker.stop();
    await server.close();
    await cp.stop();
  }
  const agentRecords = cp.requests.filter((r) => r.route !== 'refresh');
  const serverFps = new Set(agentRecords.map((r) => r.credentialFingerprint));
  return {
    trials,
    agentRequests: agentRecords.length,
    unauthorized: agentRecords.filter((r) => r.status === 401).length,
    failedRequests,
    consumers: options.consumers,
    serverSawEveryNewToken: newFingerprints.every((f) => serverFps.has(f)),
  };
}
