/**
 * Authenticated agent API vs an unauthenticated baseline on `wrangler dev`: N agents of one
 * town, each with its own access token, each looping heartbeat → tool call `status`, next to
 * N loops of `GET /health`, at the same concurrency, in the same run.
 */
import { createHash } from 'node:crypto';
import { AGENT_API, routePath, type AgentCredentials, type HeartbeatRequest } from '@gastown/protocol';
import { createUserToken, UserApi } from '@gastown/testkit/stack/clients';
import { closedLoop, type LoadResult } from '../lib/load';
import { summarize, type Summary } from '../lib/stats';
import type { BenchWorker } from '../lib/wrangler-dev';

export const BENCH_SETUP_PATH = '/__bench/agents';
export const BENCH_ADMIN_HEADER = 'x-gastown-bench-admin';

export interface BenchAgent {
  agentId: string;
  townId: string;
  credentials: AgentCredentials;
}

export interface PhaseResult {
  route: 'health' | 'agent';
  concurrency: number;
  requests: number;
  failures: number;
  firstError: string | null;
  elapsedMs: number;
  requestsPerSecond: number;
  latencyMs: Summary;
}

export async function createBenchAgents(worker: BenchWorker, count: number): Promise<BenchAgent[]> {
  const user = new UserApi(worker.url, (await createUserToken(worker.url, worker.adminSecret, 'bench-user')).token);
  const town = await user.createTown('bench-town');
  const rig = await user.createRig(town.id, { name: 'bench-rig', gitUrl: 'https://git.example.invalid/bench.git', defaultBranch: 'main' });
  const res = await fetch(worker.url + BENCH_SETUP_PATH, {
    method: 'POST',
    headers: { [BENCH_ADMIN_HEADER]: worker.adminSecret, 'content-type': 'application/json' },
    body: JSON.stringify({ townId: town.id, rigId: rig.id, count }),
  });
  if (!res.ok) throw new Error(`bench setup failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { agents: Array<{ agentId: string; credentials: AgentCredentials }> };
  return body.agents.map((a) => ({ agentId: a.agentId, townId: town.id, credentials: a.credentials }));
}

function heartbeatBody(agent: BenchAgent): HeartbeatRequest {
  const c = agent.credentials;
  return {
    containerInstanceId: 'ci_benchload',
    runtimeState: 'running',
    activity: 'working',
    credential: {
      accessTokenExpiresAt: c.accessTokenExpiresAt,
      tokenFingerprint: createHash('sha256').update(c.accessToken).digest('hex').slice(0, 8),
      nextRefreshAt: null,
      lastRefreshAt: null,
      lastRefreshSource: 'dispatch',
      refreshCount: 0,
      consecutiveFailures: 0,
      unauthorizedCount: 0,
      lastError: null,
      state: 'valid',
    },
    pid: 4242,
    sessionId: 'ses_bench',
  };
}

/** One agent's next request: heartbeat on even iterations, tool `status` on odd ones. */
function agentRequester(baseUrl: string, agents: readonly BenchAgent[]) {
  const prepared = agents.map((agent) => ({
    headers: { authorization: `Bearer ${agent.credentials.accessToken}`, 'content-type': 'application/json' },
    heartbeatUrl: baseUrl + routePath(AGENT_API.heartbeat, { townId: agent.townId, agentId: agent.agentId }),
    heartbeat: JSON.stringify(heartbeatBody(agent)),
    toolUrl: baseUrl + routePath(AGENT_API.tool, { townId: agent.townId, agentId: agent.agentId, tool: 'status' }),
    tool: JSON.stringify({ text: 'benchmarking the agent API' }),
  }));
  return async (worker: number, iteration: number): Promise<boolean> => {
    const p = prepared[worker]!;
    const even = iteration % 2 === 0;
    const res = await fetch(even ? p.heartbeatUrl : p.toolUrl, { method: 'POST', headers: p.headers, body: even ? p.heartbeat : p.tool });
    const text = await res.text();
    if (!res.ok) throw new Error(`${res.status} ${text.slice(0, 200)}`);
    return true;
  };
}

function healthRequester(baseUrl: string) {
  const url = `${baseUrl}/health`;
  return async (): Promise<boolean> => {
    const res = await fetch(url);
    const text = await res.text();
    if (!res.ok) throw new Error(`${res.status} ${text.slice(0, 200)}`);
    return true;
  };
}

function toPhase(route: PhaseResult['route'], r: LoadResult): PhaseResult {
  return {
    route,
    concurrency: r.concurrency,
    requests: r.requests,
    failures: r.failures,
    firstError: r.firstError,
    elapsedMs: Math.round(r.elapsedMs),
    requestsPerSecond: r.requestsPerSecond,
    latencyMs: summarize(r.latenciesMs),
  };
}

export async function runPhases(options: {
  worker: BenchWorker;
  agents: readonly BenchAgent[];
  concurrencies: readonly number[];
  phaseMs: number;
  maxRequestsPerPhase: number;
  warmupMs: number;
}): Promise<PhaseResult[]> {
  const { worker, agents } = options;
  const agentRequest = agentRequester(worker.url, agents);
  const healthRequest = healthRequester(worker.url);
  const max = Math.max(...options.concurrencies);
  if (agents.length < max) throw new Error(`need ${max} agents, have ${agents.length}`);
  // warm-up: JIT, DO instance, SQLite pages, sockets
  await closedLoop({ concurrency: Math.min(10, max), durationMs: options.warmupMs, maxRequests: 100_000, request: agentRequest });
  await closedLoop({ concurrency: Math.min(10, max), durationMs: options.warmupMs / 2, maxRequests: 100_000, request: healthRequest });
  const results: PhaseResult[] = [];
  for (const concurrency of options.concurrencies) {
    const base = { concurrency, durationMs: options.phaseMs, maxRequests: options.maxRequestsPerPhase };
    results.push(toPhase('health', await closedLoop({ ...base, request: healthRequest })));
    results.push(toPhase('agent', await closedLoop({ ...base, request: agentRequest })));
  }
  return results;
}
