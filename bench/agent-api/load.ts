/**
 * Authenticated agent API vs an unauthenticated baseline on `wrangler dev`: N agents of one
 * town, each with its own access token, each looping heartbeat → tool call `status`, next to
 * N loops of `GET /health`, at the same concurrency, in the same run.
 */
import { createHash } from 'node:crypto';
import { AGENT_API, routePath, type AgentCredentials, type HeartbeatRequest } from '@gastown/protocol';
import { createUserToken, UserApi } from '@gastown/testkit/stack/clients';
import { httpJson } from '../lib/http';
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
  route: 'health' | 'verify-only' | 'agent';
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
  const res = await httpJson(worker.url + BENCH_SETUP_PATH, {
    headers: { [BENCH_ADMIN_HEADER]: worker.adminSecret },
    body: { townId: town.id, rigId: rig.id, count },
  });
  if (res.status !== 200) throw new Error(`bench setup failed: ${res.status} ${res.text.slice(0, 300)}`);
  const body = JSON.parse(res.text) as { agents: Array<{ agentId: string; credentials: AgentCredentials }> };
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

/**
 * A decomposition row: agent i's valid token on agent (i+1)'s route. The worker verifies the
 * token (signature, claims, expiry) and refuses it with 403 token_scope before any Durable
 * Object is touched: the cost of authentication without the TownDO round trip.
 */
function verifyOnlyRequester(baseUrl: string, agents: readonly BenchAgent[]) {
  const prepared = agents.map((agent, i) => {
    const other = agents[(i + 1) % agents.length]!;
    return {
      headers: { authorization: `Bearer ${agent.credentials.accessToken}` },
      url: baseUrl + routePath(AGENT_API.tool, { townId: other.townId, agentId: other.agentId, tool: 'status' }),
    };
  });
  return async (worker: number): Promise<boolean> => {
    const p = prepared[worker]!;
    // no body: under wrangler dev a POST whose body the worker refuses unread is sometimes reset
    // (ECONNRESET / 503 "worker restarted mid-request") instead of answered — see docs/PERFORMANCE.md
    const res = await fetch(p.url, { method: 'POST', headers: p.headers });
    const text = await res.text();
    if (res.status !== 403 || !text.includes('token_scope')) throw new Error(`expected 403 token_scope, got ${res.status} ${text.slice(0, 200)}`);
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

function toPhase(route: PhaseResult['route'], concurrency: number, runs: readonly LoadResult[]): PhaseResult {
  const requests = runs.reduce((n, r) => n + r.requests, 0);
  const elapsedMs = runs.reduce((n, r) => n + r.elapsedMs, 0);
  return {
    route,
    concurrency,
    requests,
    failures: runs.reduce((n, r) => n + r.failures, 0),
    firstError: runs.find((r) => r.firstError !== null)?.firstError ?? null,
    elapsedMs: Math.round(elapsedMs),
    requestsPerSecond: (requests / elapsedMs) * 1000,
    latencyMs: summarize(runs.flatMap((r) => r.latenciesMs)),
  };
}

export async function runPhases(options: {
  worker: BenchWorker;
  agents: readonly BenchAgent[];
  concurrencies: readonly number[];
  /** Total time per route and concurrency, split over `rounds` interleaved slices. */
  phaseMs: number;
  rounds: number;
  maxRequestsPerPhase: number;
  warmupMs: number;
}): Promise<PhaseResult[]> {
  const { worker, agents } = options;
  const agentRequest = agentRequester(worker.url, agents);
  const healthRequest = healthRequester(worker.url);
  const verifyOnlyRequest = verifyOnlyRequester(worker.url, agents);
  const max = Math.max(...options.concurrencies);
  if (agents.length < max) throw new Error(`need ${max} agents, have ${agents.length}`);
  // warm-up: JIT, DO instance, SQLite pages, sockets
  await closedLoop({ concurrency: Math.min(10, max), durationMs: options.warmupMs, maxRequests: 100_000, request: agentRequest });
  await closedLoop({ concurrency: Math.min(10, max), durationMs: options.warmupMs / 2, maxRequests: 100_000, request: healthRequest });
  const results: PhaseResult[] = [];
  const routes = { health: healthRequest, 'verify-only': verifyOnlyRequest, agent: agentRequest } as const;
  for (const concurrency of options.concurrencies) {
    // interleaved rounds, so a burst of load from elsewhere on the machine hits every route alike
    const runs = { health: [] as LoadResult[], 'verify-only': [] as LoadResult[], agent: [] as LoadResult[] };
    const slice = { concurrency, durationMs: options.phaseMs / options.rounds, maxRequests: Math.ceil(options.maxRequestsPerPhase / options.rounds) };
    for (let round = 0; round < options.rounds; round += 1) {
      for (const route of ['health', 'verify-only', 'agent'] as const) {
        // refresh the client's socket pool first: a keep-alive socket the server closed while
        // idle fails the next POST with ECONNRESET (fetch retries only GETs), a client artefact
        await closedLoop({ concurrency, durationMs: 100, maxRequests: concurrency * 4, request: healthRequest });
        runs[route].push(await closedLoop({ ...slice, request: routes[route] }));
      }
    }
    for (const route of ['health', 'verify-only', 'agent'] as const) results.push(toPhase(route, concurrency, runs[route]));
  }
  return results;
}
