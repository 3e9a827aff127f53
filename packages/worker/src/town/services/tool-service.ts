import type { TOOLS, ToolName, ToolResult } from '@gastown/protocol';
import type { z } from 'zod';
import { assertToolAllowed } from '../agent-authorization';
import { toAgent } from '../credential-health';
import type { AgentRecord } from '../repositories/agent-repository';
import type { AgentService } from './agent-service';
import type { TownContext } from './context';
import type { MailService } from './mail-service';
import type { TownService } from './town-service';
import type { WorkService } from './work-service';

type Args<T extends ToolName> = z.output<(typeof TOOLS)[T]['args']>;
type ToolHandlers = { [T in ToolName]: (agent: AgentRecord, args: Args<T>) => ToolResult<T> };

/** The agent tools (gt_*): one handler per entry of the protocol's TOOLS table. */
export class ToolService {
  private readonly handlers: ToolHandlers;

  constructor(
    ctx: TownContext,
    town: TownService,
    agents: AgentService,
    work: WorkService,
    mail: MailService,
  ) {
    this.handlers = {
      sling: (agent, args) => ({ bead: work.sling(agent, args) }),
      list_rigs: () => ({ rigs: town.listRigs() }),
      list_beads: (_agent, args) => ({ beads: work.list(args) }),
      list_agents: () => ({ agents: agents.list() }),
      mail_send: (agent, args) => ({ mail: mail.send(agent, args) }),
      mail_check: (agent) => ({ mail: mail.check(agent) }),
      done: (agent, args) => ({ mergeRequest: work.done(agent, args) }),
      request_changes: (agent, args) => ({ bead: work.requestChanges(agent, args) }),
      escalate: (agent, args) => ({ bead: work.escalate(agent, args) }),
      status: (agent, args) => {
        ctx.repos.agents.setStatusLine(agent.id, args.text, ctx.clock.now());
        return { ok: true as const };
      },
      prime: (agent) => ({
        agent: toAgent(agent, ctx.townId, ctx.clock.now()),
        rig: agent.rigId ? ctx.repos.rigs.get(agent.rigId) : null,
        hookedBead: agent.beadId ? ctx.repos.beads.get(agent.beadId) : null,
        unreadMail: mail.unread(agent.id),
      }),
      bead_status: (_agent, args) => ({ bead: work.bead(args.beadId) }),
    };
  }

  /** Role check, then the tool. `args` were validated against TOOLS[tool].args by the route. */
  call<T extends ToolName>(agent: AgentRecord, tool: T, args: Args<T>): ToolResult<T> {
    assertToolAllowed(tool, agent.role);
    const handler = this.handlers[tool] as (agent: AgentRecord, args: Args<T>) => ToolResult<T>;
    return handler(agent, args);
  }
}
