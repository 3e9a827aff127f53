/**
 * The real worker (packages/worker/src/index.ts), unchanged, plus one bench-only setup route
 * that exists in this bundle alone: `POST /__bench/agents` creates agents in a town and
 * issues their credentials through the TownDO's internal RPC (createAgent +
 * issueAgentCredentials, the same calls a dispatch makes). Guarded by the admin secret.
 * Every measured request goes to the real app through `worker.fetch`.
 */
import worker from '../../packages/worker/src/index';
import type { TownDO } from '../../packages/worker/src/town/town-do';
import type { RpcResult } from '../../packages/worker/src/town/rpc-result';

export * from '../../packages/worker/src/index';

const BENCH_SETUP_PATH = '/__bench/agents';
const BENCH_ADMIN_HEADER = 'x-gastown-bench-admin';

interface SetupBody {
  townId: string;
  rigId: string;
  count: number;
}

type TownStub = Pick<TownDO, 'createAgent' | 'issueAgentCredentials'>;

function value<T>(result: RpcResult<T>): T {
  if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
  return result.value;
}

async function setup(request: Request, env: Env): Promise<Response> {
  const admin = env.GASTOWN_ADMIN_SECRET;
  if (!admin || request.headers.get(BENCH_ADMIN_HEADER) !== admin)
    return Response.json({ error: { code: 'admin_unauthorized', message: 'bench setup needs the admin secret' } }, { status: 401 });
  const body = (await request.json()) as SetupBody;
  if (!Number.isInteger(body.count) || body.count < 1 || body.count > 2000)
    return Response.json({ error: { code: 'validation_failed', message: 'count' } }, { status: 400 });
  const town = env.TOWN.get(env.TOWN.idFromName(body.townId)) as unknown as TownStub;
  const agents = [];
  for (let i = 0; i < body.count; i += 1) {
    const agent = value(await town.createAgent({ role: 'polecat', rigId: body.rigId, name: `bench-${i}` }));
    const issued = value(await town.issueAgentCredentials(agent.id));
    agents.push({ agentId: agent.id, role: agent.role, rigId: agent.rigId, credentials: issued.credentials });
  }
  return Response.json({ agents });
}

export default {
  fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === BENCH_SETUP_PATH && request.method === 'POST') return setup(request, env);
    return worker.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
