/**
 * The real worker (packages/worker/src/index.ts), unchanged, plus bench-only routes that exist
 * in this bundle alone (admin secret required):
 *
 *   POST /__bench/alarm/seed  {townId, rigId, userId, working, waiting, idle, offset?}  (one chunk)
 *        agents and beads through the TownDO's own RPC methods: the mayor slings one bead per
 *        live polecat (callTool 'sling'), createAgent hooks it, issueAgentCredentials dispatches
 *        it (gen 1), and one heartbeat (the DO's heartbeat method, claims as the worker would
 *        pass them after verifying the token) makes it working or waiting. Idle rows are
 *        created and never started.
 *   POST /__bench/alarm/activity {townId, userId, from, count, activity}  one heartbeat each for
 *        polecats bench-<from>…bench-<from+count−1> (turns waiting agents working, or back)
 *   POST /__bench/alarm/heartbeats {townId, userId, n, written?}  n heartbeats of bench-0 (the
 *        per-request cost of a heartbeat in a town of this size). Each repeats the seeding one but for
 *        its time (a steady beat: since issue 17 held in the TownDO's memory); `written`: each carries
 *        a changed credential report (unauthorizedCount), so it is stored — as every third steady beat is
 *        at the default interval (liveness-memory.ts)
 *   POST /__bench/alarm/tick  {townId, n}      n × reconcileNow(): what the alarm runs
 *   POST /__bench/alarm/rpc   {townId, userId, n}  n × getTown(): the RPC hop alone (baseline)
 *
 * The driver times these requests from outside (workerd freezes clocks during compute).
 */
import type { AgentClaims, HeartbeatRequest } from '@gastown/protocol';
import { AGENT_AUDIENCE, systemClock, TOKEN_ISSUER } from '@gastown/protocol';
import worker from '../../packages/worker/src/index';
import type { PageKey } from '../../packages/worker/src/town/list-page';
import { TownDO as ProductionTownDO } from '../../packages/worker/src/town/town-do';
import { ToolRateLimiter } from '../../packages/worker/src/town/tool-rate-limit';
import type { RpcResult } from '../../packages/worker/src/town/rpc-result';

export * from '../../packages/worker/src/index';

/**
 * The real TownDO without the per-agent allowance of metered tools (town/tool-rate-limit.ts): the
 * seeding slings one bead per polecat from one mayor (1,000 at the largest size, past gt_sling's 30
 * per 10 min). Nothing measured calls a metered tool.
 */
export class TownDO extends ProductionTownDO {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    Object.assign(this, { toolLimiter: new ToolRateLimiter(systemClock, {}) });
  }
}

const ADMIN_HEADER = 'x-gastown-bench-admin';
type TownStub = Pick<ProductionTownDO, 'createAgent' | 'issueAgentCredentials' | 'heartbeat' | 'callTool' | 'listAgents' | 'reconcileNow' | 'getTown'>;

function value<T>(result: RpcResult<T>): T {
  if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
  return result.value;
}

/** Every agent of the town, through the paged listAgents (pages of 500). */
async function listAll(town: TownStub, userId: string) {
  const page = (after: PageKey | null) => town.listAgents(userId, { limit: 500, after });
  const first = value(await page(null));
  const items = [...first.items];
  for (let next = first.next; next !== null;) {
    const more = value(await page(next));
    items.push(...more.items);
    next = more.next;
  }
  return items;
}

function claimsFor(agent: { id: string; rigId: string | null; role: AgentClaims['role'] }, townId: string, userId: string, gen: number): AgentClaims {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: TOKEN_ISSUER,
    aud: AGENT_AUDIENCE,
    sub: agent.id,
    townId,
    rigId: agent.rigId,
    userId,
    role: agent.role,
    gen,
    jti: `bench-${agent.id}`,
    iat: now,
    exp: now + 3600,
  };
}

function heartbeat(activity: 'working' | 'waiting', expiresAt: number, unauthorizedCount = 0): HeartbeatRequest {
  return {
    containerInstanceId: 'ci_benchalarm',
    runtimeState: 'running',
    activity,
    credential: {
      accessTokenExpiresAt: expiresAt,
      tokenFingerprint: '0badc0de',
      nextRefreshAt: null,
      lastRefreshAt: null,
      lastRefreshSource: 'dispatch',
      refreshCount: 0,
      consecutiveFailures: 0,
      unauthorizedCount,
      lastError: null,
      state: 'valid',
    },
    pid: 4242,
    sessionId: 'ses_bench',
  };
}

interface SeedBody {
  townId: string;
  rigId: string;
  userId: string;
  working: number;
  waiting: number;
  idle: number;
  /** Index of the first agent of this chunk (names only). */
  offset?: number;
}

async function seed(town: TownStub, body: SeedBody): Promise<Record<string, unknown>> {
  const agents = await listAll(town, body.userId);
  const mayor = agents.find((a) => a.role === 'mayor');
  if (!mayor) throw new Error('town has no mayor');
  const mayorGen = value(await town.issueAgentCredentials(mayor.id)).credentials.gen;
  const mayorClaims = claimsFor(mayor, body.townId, body.userId, mayorGen);
  const live = [...Array<'working'>(body.working).fill('working'), ...Array<'waiting'>(body.waiting).fill('waiting')];
  for (let i = 0; i < live.length; i += 1) {
    const k = (body.offset ?? 0) + i;
    const sling = value(await town.callTool(mayorClaims, 'sling', { rigId: body.rigId, title: `bench bead ${k}`, body: '' })) as { bead: { id: string } };
    const agent = value(await town.createAgent({ role: 'polecat', rigId: body.rigId, beadId: sling.bead.id, name: `bench-${k}` }));
    const issued = value(await town.issueAgentCredentials(agent.id));
    value(
      await town.heartbeat(claimsFor(agent, body.townId, body.userId, issued.credentials.gen), heartbeat(live[i]!, issued.credentials.accessTokenExpiresAt)),
    );
  }
  for (let i = 0; i < body.idle; i += 1) value(await town.createAgent({ role: 'polecat', rigId: body.rigId, name: `bench-idle-${(body.offset ?? 0) + i}` }));
  const after = await listAll(town, body.userId);
  const byStatus: Record<string, number> = {};
  for (const a of after) byStatus[a.status] = (byStatus[a.status] ?? 0) + 1;
  return { agents: after.length, byStatus };
}

async function bench(request: Request, env: Env, path: string): Promise<Response> {
  const admin = env.GASTOWN_ADMIN_SECRET;
  if (!admin || request.headers.get(ADMIN_HEADER) !== admin)
    return Response.json({ error: { code: 'admin_unauthorized', message: 'bench routes need the admin secret' } }, { status: 401 });
  const body = (await request.json()) as { townId: string; userId?: string; n?: number };
  const town = env.TOWN.get(env.TOWN.idFromName(body.townId)) as unknown as TownStub;
  try {
    if (path === '/__bench/alarm/seed') return Response.json(await seed(town, body as SeedBody));
    const n = body.n ?? 0;
    if (path === '/__bench/alarm/tick') {
      const actions = new Set<string>();
      let nextAt: number | null = null;
      for (let i = 0; i < n; i += 1) {
        const run = value(await town.reconcileNow());
        for (const a of run.actions) actions.add(a);
        nextAt = run.nextAt;
      }
      return Response.json({ n, actions: [...actions], nextAt });
    }
    if (path === '/__bench/alarm/activity' || path === '/__bench/alarm/heartbeats') {
      const b = body as { townId: string; userId: string; from?: number; count?: number; activity?: 'working' | 'waiting'; n?: number; written?: boolean };
      const all = await listAll(town, b.userId);
      const byName = new Map(all.map((a) => [a.name, a]));
      const targets =
        path === '/__bench/alarm/heartbeats'
          ? Array.from({ length: n }, () => 'bench-0')
          : Array.from({ length: b.count ?? 0 }, (_, i) => `bench-${(b.from ?? 0) + i}`);
      for (const [i, name] of targets.entries()) {
        const agent = byName.get(name);
        if (!agent) throw new Error(`no agent ${name}`);
        const hb = heartbeat(b.activity ?? 'working', agent.credential.tokenExpiresAt ?? Date.now() + 3_600_000, b.written ? i + 1 : 0);
        value(await town.heartbeat(claimsFor(agent, b.townId, b.userId, agent.credential.gen), hb));
      }
      return Response.json({ n: targets.length });
    }
    if (path === '/__bench/alarm/rpc') {
      for (let i = 0; i < n; i += 1) value(await town.getTown(body.userId ?? ''));
      return Response.json({ n });
    }
  } catch (error) {
    return Response.json({ error: { code: 'bench_failed', message: error instanceof Error ? error.message : String(error) } }, { status: 500 });
  }
  return Response.json({ error: { code: 'not_found', message: 'no such bench route' } }, { status: 404 });
}

export default {
  fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname.startsWith('/__bench/alarm/') && request.method === 'POST') return bench(request, env, url.pathname);
    return worker.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
