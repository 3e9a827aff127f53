/** Plausible, schema-valid results for every tool, derived from the (already validated) args. */
import { TOOLS } from '@gastown/protocol';
import type { AgentIdentity, ToolName } from '@gastown/protocol';
import type { FixtureFactory } from './fixtures';

export function toolResult(tool: ToolName, args: Record<string, unknown>, agent: AgentIdentity, gen: number, f: FixtureFactory): unknown {
  const s = (key: string, fallback = ''): string => (typeof args[key] === 'string' ? (args[key] as string) : fallback);
  let result: unknown;
  switch (tool) {
    case 'sling':
      result = { bead: f.bead(agent, { rigId: s('rigId'), title: s('title'), body: s('body') }) };
      break;
    case 'list_rigs':
      result = { rigs: [f.rig(agent.townId, agent.rigId ?? undefined)] };
      break;
    case 'list_beads':
      result = { beads: [f.bead(agent, { title: 'first bead', status: 'open' })] };
      break;
    case 'list_agents':
      result = { agents: [f.agent(agent, gen)] };
      break;
    case 'mail_send':
      result = { mail: f.mail(agent, s('to'), s('subject'), s('body')) };
      break;
    case 'mail_check':
      result = { mail: [] };
      break;
    case 'done':
      result = {
        mergeRequest: f.bead(agent, {
          type: 'merge_request',
          status: 'open',
          title: `merge ${s('branch')}`,
          body: s('summary'),
          metadata: { branch: s('branch') },
        }),
      };
      break;
    case 'request_changes':
      result = { bead: f.bead(agent, { status: 'in_progress', title: 'changes requested', body: s('feedback') }) };
      break;
    case 'escalate':
      result = { bead: f.bead(agent, { type: 'escalation', title: s('title'), body: s('body') }) };
      break;
    case 'status':
      result = { ok: true };
      break;
    case 'prime':
      result = { agent: f.agent(agent, gen), rig: agent.rigId === null ? null : f.rig(agent.townId, agent.rigId), hookedBead: null, unreadMail: [] };
      break;
    case 'bead_status':
      result = { bead: { ...f.bead(agent, { status: 'in_progress' }), id: s('beadId') } };
      break;
    case 'bead_update':
      result = { bead: { ...f.bead(agent, { title: s('title', 'a bead'), body: s('body') }), id: s('beadId') } };
      break;
    case 'sling_batch': {
      const items = Array.isArray(args.beads) ? (args.beads as Record<string, unknown>[]) : [];
      const beads = items.map((b) =>
        f.bead(agent, { rigId: typeof b.rigId === 'string' ? b.rigId : null, title: typeof b.title === 'string' ? b.title : 'work' }),
      );
      result = {
        convoy: convoyFixture(
          f,
          agent,
          s('name', 'a convoy'),
          beads.map((b) => b.id),
        ),
        beads,
      };
      break;
    }
    case 'list_convoys':
      result = { convoys: [] };
      break;
    case 'convoy_status':
      result = { convoy: { ...convoyFixture(f, agent, 'a convoy', []), id: s('convoyId') }, beads: [] };
      break;
  }
  // Our own fixtures must satisfy the contract, or the fake is lying to the tests.
  return TOOLS[tool].result.parse(result);
}

function convoyFixture(f: FixtureFactory, agent: AgentIdentity, name: string, beadIds: string[]) {
  // the factory's clock, read through a throwaway bead
  const at = f.bead(agent).createdAt;
  return {
    id: f.id('cv'),
    townId: agent.townId,
    name,
    goal: '',
    beadIds,
    status: 'open' as const,
    progress: { closed: 0, total: beadIds.length },
    createdBy: agent.id,
    createdAt: at,
    updatedAt: at,
    landedAt: null,
  };
}
