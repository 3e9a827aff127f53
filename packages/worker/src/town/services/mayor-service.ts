import { GastownError, type MayorMessage, type MayorMessageResponse } from '@gastown/protocol';
import { toAgent } from '../credential-health';
import type { AgentService } from './agent-service';
import type { TownContext } from './context';
import type { TownService } from './town-service';

export type MayorDelivery = MayorMessageResponse['delivery'];

/**
 * Messages from the user to the mayor. Every message is stored first; then, if the mayor runs
 * in the container, it is delivered with a fresh access token (warm send). Starting a mayor that
 * is not running belongs to dispatch (not built yet): until then such a message stays `stored`
 * and is delivered on the mayor's next start (see `MayorMessageRepository.undelivered`).
 */
export class MayorService {
  constructor(
    private readonly ctx: TownContext,
    private readonly town: TownService,
    private readonly agents: AgentService,
  ) {}

  list(limit = 100): MayorMessage[] {
    return this.ctx.repos.mayorMessages.list(limit);
  }

  async post(text: string): Promise<MayorMessageResponse> {
    const { repos, clock, ids } = this.ctx;
    const mayor = this.agents.ensureMayor();
    const message = this.ctx.transaction(() => {
      const m = repos.mayorMessages.insert(ids('mm'), text, clock.now());
      this.ctx.event({ type: 'mayor.message_received', agentId: mayor.id, data: { messageId: m.id, chars: text.length } });
      return m;
    });
    const delivery = await this.deliver(mayor.id, message);
    return { message: repos.mayorMessages.get(message.id) ?? message, delivery, mayor: toAgent(this.agents.record(mayor.id), this.ctx.townId, clock.now()) };
  }

  /** Hand a stored message to a running mayor; `stored` when no container runs it. */
  private async deliver(mayorId: string, message: MayorMessage): Promise<MayorDelivery> {
    const { container, credentials, repos, clock, logger } = this.ctx;
    const mayor = this.agents.record(mayorId);
    if (mayor.gen < 1 || mayor.status === 'stopped') return 'stored';
    const running = await container.status(mayorId);
    if (!running || running.gen !== mayor.gen) return 'stored';
    try {
      const grant = await credentials.mintAccess(this.agents.subject(mayor), this.town.tokenTtlSeconds());
      repos.agents.recordAccessMinted(mayorId, { jti: grant.jti, issuedAt: grant.accessTokenIssuedAt, expiresAt: grant.accessTokenExpiresAt }, clock.now());
      const { jti: _jti, ...wireGrant } = grant;
      const result = await container.deliver(mayorId, { text: message.text, grant: wireGrant });
      if (result === 'not_running') return 'stored';
      repos.mayorMessages.markDelivered(message.id, clock.now());
      return 'delivered';
    } catch (err) {
      const code = err instanceof GastownError ? err.code : 'upstream_failed';
      logger.warn({ msg: 'mayor message delivery failed', townId: this.ctx.townId, messageId: message.id, code });
      this.ctx.event({ type: 'mayor.delivery_failed', agentId: mayorId, data: { messageId: message.id, code } });
      return 'failed';
    }
  }
}
