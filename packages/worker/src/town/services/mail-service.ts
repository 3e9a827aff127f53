import { GastownError, type Mail } from '@gastown/protocol';
import type { AgentRecord } from '../repositories/agent-repository';
import type { TownContext } from './context';

/** Mail between agents. `to` is an agent id or 'mayor'. */
export class MailService {
  constructor(private readonly ctx: TownContext) {}

  list(): Mail[] {
    return this.ctx.repos.mail.list();
  }

  send(from: AgentRecord, args: { to: string; subject: string; body: string }): Mail {
    const { repos } = this.ctx;
    const recipient = args.to === 'mayor' ? repos.agents.mayor() : repos.agents.get(args.to);
    if (!recipient) throw new GastownError('not_found', args.to === 'mayor' ? 'this town has no mayor' : 'recipient agent not found');
    return this.ctx.transaction(() => this.deliver(from.id, recipient.id, args.subject, args.body));
  }

  /** Store one mail and record the event (no body in the event). */
  deliver(fromAgentId: string | null, toAgentId: string, subject: string, body: string): Mail {
    const mail = this.ctx.repos.mail.insert({ id: this.ctx.ids('ml'), fromAgentId, toAgentId, subject, body, now: this.ctx.clock.now() });
    this.ctx.event({ type: 'mail.sent', agentId: fromAgentId, data: { mailId: mail.id, to: toAgentId } });
    return mail;
  }

  unread(agentId: string): Mail[] {
    return this.ctx.repos.mail.unread(agentId);
  }

  /** Unread mail, marked read as it is handed over. */
  check(agent: AgentRecord): Mail[] {
    return this.ctx.transaction(() => {
      const now = this.ctx.clock.now();
      const unread = this.ctx.repos.mail.unread(agent.id);
      this.ctx.repos.mail.markRead(
        unread.map((m) => m.id),
        now,
      );
      return unread.map((m) => ({ ...m, readAt: now }));
    });
  }
}
