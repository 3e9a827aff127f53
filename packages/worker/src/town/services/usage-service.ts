import {
  costMicros,
  ModelUsageRecordSchema,
  priceFor,
  type AgentEvent,
  type ModelPrice,
  type ModelUsageRecord,
  type ProviderConfig,
  type UsageQuery,
  type UsageResponse,
} from '@gastown/protocol';
import type { AgentRecord } from '../repositories/agent-repository';
import type { TownContext } from './context';
import type { SpendCapService } from './spend-cap-service';
import type { WorkService } from './work-service';

/** Provider statuses that mean "the key was refused" (one escalation per outage). */
const KEY_REFUSED_STATUSES: ReadonlySet<number> = new Set([401, 403]);

/**
 * Model usage: the container's `model.usage` events become priced rows (ingest, inside the event
 * batch's transaction), and the user reads sums of them (query).
 */
export class UsageService {
  constructor(
    private readonly ctx: TownContext,
    private readonly work: WorkService,
    private readonly spendCap: SpendCapService,
  ) {}

  /**
   * Newly accepted `model.usage` events of one agent → one row each, priced at the town's prices.
   * An event whose data is not a usage record stays an agent event; it only gets a `usage.invalid`
   * town event. Returns how many rows were inserted (a retried event id inserts none).
   */
  ingest(agent: AgentRecord, events: readonly AgentEvent[], receivedAt: number): number {
    if (events.length === 0) return 0;
    const { repos } = this.ctx;
    const config = repos.town.get()?.config;
    const prices: Readonly<Record<string, ModelPrice>> = config?.prices ?? {};
    let inserted = 0;
    for (const e of events) {
      const parsed = ModelUsageRecordSchema.safeParse(e.data);
      if (!parsed.success) {
        // paths and codes only: never a value the container sent
        const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(data)'}: ${i.code}`);
        this.ctx.event({ type: 'usage.invalid', agentId: agent.id, data: { eventId: e.id, issues } });
        continue;
      }
      const record = parsed.data;
      const price = priceFor(record.model, prices);
      const isNew = repos.usage.insert({
        id: e.id,
        at: e.at,
        receivedAt,
        agentId: agent.id,
        role: agent.role,
        rigId: agent.rigId,
        beadId: agent.beadId,
        record,
        costMicros: price ? costMicros(record, price) : null,
      });
      if (!isNew) continue;
      inserted += 1;
      if (KEY_REFUSED_STATUSES.has(record.status)) this.escalateKeyRefused(agent, record, config?.provider ?? null);
    }
    return inserted;
  }

  /** Sums over the range, grouped (SQL GROUP BY), with the spend cap's standing when a cap is set. */
  query(q: UsageQuery): UsageResponse {
    const range = { from: q.from ?? null, to: q.to ?? null };
    const { usage } = this.ctx.repos;
    return { by: q.by, from: range.from, to: range.to, totals: usage.totals(range), rows: usage.groups(q.by, range), spend: this.spendCap.status() };
  }

  /**
   * One escalation per outage of the provider key: while one with the same title is open, another
   * refused call adds nothing. The body names the env var the key is read from — never its value.
   */
  private escalateKeyRefused(agent: AgentRecord, record: ModelUsageRecord, provider: ProviderConfig | null): void {
    const cause = record.errorCode ?? `HTTP ${record.status}`;
    const title = `Model provider refused the key (${record.providerKind}: ${cause})`.slice(0, 200);
    const open = this.ctx.repos.beads.list({ type: 'escalation' }).some((b) => (b.status === 'open' || b.status === 'in_progress') && b.title === title);
    if (open) return;
    const where = provider?.apiKeyEnvVar
      ? `Check the town env var ${provider.apiKeyEnvVar} (the provider config's apiKeyEnvVar): it holds the key sent to the provider.`
      : 'The provider config names no key env var (apiKeyEnvVar): set one and give the town that env var.';
    this.work.escalate(agent, {
      title,
      body: `The ${record.providerKind} provider answered HTTP ${record.status} (${cause}) to a model call of ${agent.role} ${agent.name} (model ${record.model}). ${where} Every model call fails until the key is accepted again.`,
      severity: 'high',
      relatedBeadId: agent.beadId,
    });
  }
}
