import { CONVOY_LIMITS, GastownError, type TOOLS, type ToolName, type ToolResult } from '@gastown/protocol';
import type { z } from 'zod';
import { assertToolAllowed } from '../agent-authorization';
import { toAgent } from '../credential-health';
import { assertModelAllowed, townAllowedModels } from '../model-rules';
import type { AgentRecord } from '../repositories/agent-repository';
import type { AgentService } from './agent-service';
import type { BeadService } from './bead-service';
import type { ConvoyService } from './convoy-service';
import type { DispatchService } from './dispatch-service';
import type { TownContext } from './context';
import type { MailService } from './mail-service';
import type { NudgeService } from './nudge-service';
import type { ReviewService } from './review-service';
import type { TownService } from './town-service';
import type { WorkService } from './work-service';

type Args<T extends ToolName> = z.output<(typeof TOOLS)[T]['args']>;
type ToolHandlers = { [T in ToolName]: (agent: AgentRecord, args: Args<T>) => ToolResult<T> | Promise<ToolResult<T>> };

/** The agent tools (gt_*): one handler per entry of the protocol's TOOLS table. */
/**
 * Tools that change nothing the reconciler reads, so a call needs no re-arm of the alarm from the
 * whole town (town-do.ts `callTool`): the reads, and `status`, whose only write besides the status
 * line is the agent's `updated_at` — which the reconciler reads only to put deadlines later
 * (lastSignOfLife, endedRunRevokeAt, the release grace), so the armed alarm stays early enough.
 * test/town/reconcile-neutral-tools.test.ts checks each one against the reconciler's state.
 */
export const RECONCILE_NEUTRAL_TOOLS: ReadonlySet<ToolName> = new Set<ToolName>([
  'status',
  'list_rigs',
  'list_beads',
  'list_agents',
  'prime',
  'bead_status',
  'list_convoys',
  'convoy_status',
]);

export class ToolService {
  private readonly handlers: ToolHandlers;

  constructor(
    ctx: TownContext,
    town: TownService,
    agents: AgentService,
    work: WorkService,
    mail: MailService,
    review: ReviewService,
    dispatch: DispatchService,
    beads: BeadService,
    convoys: ConvoyService,
    nudges: NudgeService,
  ) {
    // a bead's own model must be one the town allows (its models, `allowed`, any rig's override): 403 model_not_allowed
    const assertBeadModel = (rigId: string, model: string | undefined, field: string) => {
      if (model === undefined) return;
      town.rig(rigId);
      const overrides = town.listRigs().flatMap((rig) => [rig.models.polecat, rig.models.refinery]);
      assertModelAllowed(model, townAllowedModels(town.town().config.models, overrides), field);
    };
    this.handlers = {
      sling: (agent, args) => {
        assertBeadModel(args.rigId, args.model, 'model');
        return { bead: beads.create({ kind: 'agent', agent }, args) };
      },
      list_rigs: () => ({ rigs: town.listRigs() }),
      list_beads: (_agent, args) => ({ beads: work.list(args) }),
      list_agents: () => ({ agents: agents.list() }),
      mail_send: async (agent, args) => {
        const sent = mail.send(agent, args);
        await dispatch.notifyMail(sent);
        return { mail: sent };
      },
      mail_check: (agent) => ({ mail: mail.check(agent) }),
      // polecat: "my branch is ready" → a merge request; refinery: approve one → the container merges it
      done: async (agent, args) => {
        if (agent.role === 'refinery') return { mergeRequest: await review.approve(agent, args) };
        if (args.mergeRequestBeadId !== undefined) throw new GastownError('validation_failed', 'mergeRequestBeadId: only a refinery approves merge requests');
        return { mergeRequest: work.done(agent, args) };
      },
      request_changes: (agent, args) => ({ bead: work.requestChanges(agent, args) }),
      escalate: (agent, args) => ({ bead: work.escalate(agent, args) }),
      status: (agent, args) => {
        ctx.repos.agents.setStatusLine(agent.id, args.text, ctx.clock.now());
        return { ok: true as const };
      },
      prime: (agent) => ({
        agent: toAgent(agent, ctx.townId, ctx.clock.now(), ctx.repos.sessions.summary(agent.id)),
        rig: agent.rigId ? ctx.repos.rigs.get(agent.rigId) : null,
        hookedBead: agent.beadId ? ctx.repos.beads.get(agent.beadId) : null,
        unreadMail: mail.unread(agent.id),
      }),
      bead_status: (_agent, args) => ({ bead: work.bead(args.beadId) }),
      // the mayor changes a bead it slung (another bead: 403 token_scope)
      bead_update: (agent, { beadId, ...patch }) => ({ bead: beads.update({ kind: 'agent', agent }, beadId, patch) }),
      // several beads (dependsOn may name earlier ones by index) and one convoy of them, all or nothing
      sling_batch: (agent, args) => {
        args.beads.forEach((bead, i) => assertBeadModel(bead.rigId, bead.model, `beads.${i}.model`));
        const batch = convoys.slingBatch({ kind: 'agent', agent }, args);
        convoys.landReady();
        return { convoy: convoys.get(batch.convoy.id), beads: batch.beads };
      },
      list_convoys: (_agent, args) => ({ convoys: convoys.page(args.status ?? null, { limit: CONVOY_LIMITS.maxListed, after: null }).items }),
      convoy_status: (_agent, args) => convoys.detail(args.convoyId),
      // the mayor nudges a live agent: it sees the text at its next turn
      nudge: async (agent, args) => ({ agent: await nudges.nudge(args.agentId, args.text, { kind: 'agent', agent }), delivered: true as const }),
    };
  }

  /** Role check, then the tool. `args` were validated against TOOLS[tool].args by the route. */
  async call<T extends ToolName>(agent: AgentRecord, tool: T, args: Args<T>): Promise<ToolResult<T>> {
    assertToolAllowed(tool, agent.role);
    const handler = this.handlers[tool] as (agent: AgentRecord, args: Args<T>) => ToolResult<T> | Promise<ToolResult<T>>;
    return handler(agent, args);
  }
}
