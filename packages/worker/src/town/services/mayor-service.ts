import { asGastownError, type MayorMessage, type MayorMessageResponse } from '@gastown/protocol';
import type { AgentRecord } from '../repositories/agent-repository';
import { cappedMayorAnswer } from '../spend-rules';
import type { AgentService } from './agent-service';
import type { TownContext } from './context';
import type { DispatchService } from './dispatch-service';
import type { SpendCapService } from './spend-cap-service';

export type MayorDelivery = MayorMessageResponse['delivery'];

const LIVE = new Set(['starting', 'working', 'waiting']);
const MESSAGE_SEPARATOR = '\n\n---\n\n';

/**
 * Messages from the user to the mayor. Every message is stored first, then:
 * - warm path: the mayor runs (working/waiting) → every undelivered message goes to the same session
 *   with a freshly minted access token → `delivered`;
 * - cold path: the mayor does not run (or the container says so) → the mayor starts (gen + 1) with
 *   the undelivered messages as its first prompt → `started`;
 * - a start already in flight → `stored`, delivered as soon as that start completes;
 * - the mayor's run is ending (the container answers 409: stopped after its turn, draining) →
 *   `stored`, delivered by a new start once that run's completion report is in
 *   (`deliverAfterRunEnded`): starting a new generation now would revoke the credentials its last
 *   events and its report carry;
 * - a failure → `failed`: the message stays stored (delivered on the next start), the error is a
 *   town event and the mayor's status line;
 * - the town's spend cap is reached → `stored`: not handed to the mayor (delivered with the next
 *   message or start once the cap is lifted); the control plane answers in the mayor's place, as
 *   the mayor's chat events (`agent.text`, then `session.idle`) the dashboard and the CLI show.
 */
export class MayorService {
  constructor(
    private readonly ctx: TownContext,
    private readonly agents: AgentService,
    private readonly dispatch: DispatchService,
    private readonly spendCap: SpendCapService,
  ) {}

  list(limit = 100): MayorMessage[] {
    return this.ctx.repos.mayorMessages.list(limit);
  }

  async post(text: string): Promise<MayorMessageResponse> {
    const { repos, clock, ids } = this.ctx;
    const mayor = this.agents.ensureMayor();
    // without a provider, or with a control-plane URL it may not be handed, the mayor cannot run: refuse before storing anything
    if (!this.isLive(mayor)) {
      this.dispatch.requireProvider();
      this.dispatch.controlPlaneUrl();
    }
    const message = this.ctx.transaction(() => {
      const m = repos.mayorMessages.insert(ids('mm'), text, clock.now());
      this.ctx.event({ type: 'mayor.message_received', agentId: mayor.id, data: { messageId: m.id, chars: text.length } });
      return m;
    });
    const spend = this.spendCap.evaluate();
    if (spend?.state === 'capped') {
      this.answerCapped(mayor.id, message.id, cappedMayorAnswer(spend));
      return { message, delivery: 'stored', mayor: this.agents.view(mayor.id) };
    }
    const delivery = await this.deliverPending(mayor.id);
    return { message: repos.mayorMessages.get(message.id) ?? message, delivery, mayor: this.agents.view(mayor.id) };
  }

  /** Deliver every stored message (warm, else by starting the mayor). */
  async deliverPending(mayorId: string): Promise<MayorDelivery> {
    const { ctx } = this;
    if (ctx.inFlight.has(mayorId)) return 'stored';
    const mayor = this.agents.record(mayorId);
    if (this.isLive(mayor)) {
      try {
        const warm = await this.deliverWarm(mayor);
        if (warm !== null) return warm;
      } catch (err) {
        return this.failed(mayorId, err, 'deliver');
      }
    }
    return this.startCold(mayorId);
  }

  private async deliverWarm(mayor: AgentRecord): Promise<MayorDelivery | null> {
    const pending = this.ctx.repos.mayorMessages.undelivered();
    if (pending.length === 0) return 'delivered';
    const result = await this.dispatch.deliver(mayor.id, joinMessages(pending));
    if (result === 'ending') {
      this.ctx.event({ type: 'agent.not_running', agentId: mayor.id, data: { gen: mayor.gen, during: 'deliver', ending: true } });
      return 'stored';
    }
    if (result !== 'delivered') {
      this.ctx.event({ type: 'agent.not_running', agentId: mayor.id, data: { gen: mayor.gen, during: 'deliver' } });
      return null;
    }
    this.markDelivered(pending);
    return 'delivered';
  }

  private async startCold(mayorId: string): Promise<MayorDelivery> {
    const pending = this.ctx.repos.mayorMessages.undelivered();
    try {
      await this.dispatch.start(mayorId, { prompt: pending.length > 0 ? joinMessages(pending) : null, reason: 'message' });
    } catch (err) {
      return this.failed(mayorId, err, 'start');
    }
    this.markDelivered(pending);
    // messages that arrived while the mayor was starting go to the now-running session
    if (this.ctx.repos.mayorMessages.undelivered().length > 0) {
      try {
        await this.deliverWarm(this.agents.record(mayorId));
      } catch (err) {
        this.failed(mayorId, err, 'deliver');
      }
    }
    return 'started';
  }

  /**
   * The mayor's run has ended (its completion report is in): messages that arrived while it was
   * ending start the next run. Never throws: the completion itself went through.
   */
  async deliverAfterRunEnded(mayorId: string): Promise<void> {
    if (this.ctx.repos.mayorMessages.undelivered().length === 0 || this.ctx.inFlight.has(mayorId)) return;
    if (this.spendCap.evaluate()?.state === 'capped') return;
    try {
      await this.deliverPending(mayorId);
    } catch (err) {
      this.failed(mayorId, err, 'start');
    }
  }

  /** The control plane's own answer, shaped as the mayor's reply: its text, then the end of the turn. */
  private answerCapped(mayorId: string, messageId: string, text: string): void {
    this.ctx.transaction(() => {
      this.ctx.event({ type: 'agent.text', agentId: mayorId, data: { text, messageId, source: 'control_plane', reason: 'spend_cap' } });
      this.ctx.event({ type: 'session.idle', agentId: mayorId, data: { source: 'control_plane' } });
    });
  }

  private markDelivered(messages: readonly MayorMessage[]): void {
    const now = this.ctx.clock.now();
    this.ctx.transaction(() => {
      for (const m of messages) this.ctx.repos.mayorMessages.markDelivered(m.id, now);
    });
  }

  private failed(mayorId: string, err: unknown, during: 'deliver' | 'start'): MayorDelivery {
    const { code, message } = asGastownError(err, 'upstream_failed', 'delivery failed');
    this.ctx.logger.warn({ msg: 'mayor message delivery failed', townId: this.ctx.townId, during, code });
    if (during === 'deliver') {
      this.ctx.event({ type: 'mayor.delivery_failed', agentId: mayorId, data: { code, message: message.slice(0, 500) } });
    }
    return 'failed';
  }

  private isLive(agent: AgentRecord): boolean {
    return agent.gen >= 1 && LIVE.has(agent.status);
  }
}

function joinMessages(messages: readonly MayorMessage[]): string {
  return messages.map((m) => m.text).join(MESSAGE_SEPARATOR);
}
