import { CredentialError, GastownError, type Bead, type BeadStatus } from '@gastown/protocol';
import { dependencyCycle } from '../bead-graph';
import type { Page, PageRequest } from '../list-page';
import type { AgentRecord } from '../repositories/agent-repository';
import type { BeadFieldsPatch, BeadPageFilter } from '../repositories/bead-repository';
import type { AgentService } from './agent-service';
import type { TownContext } from './context';
import type { TownService } from './town-service';

/** Who changes a bead: the town's owner through the user API, or an agent (the mayor) through a tool. */
export type BeadActor = { kind: 'user' } | { kind: 'agent'; agent: AgentRecord };

export interface NewIssueInput {
  rigId: string;
  title: string;
  body: string;
  priority?: number | undefined;
  labels?: readonly string[] | undefined;
  dependsOn?: readonly string[] | undefined;
  /** The model of the bead's polecat (already checked against the town's). */
  model?: string | undefined;
}

/** Metadata key: why a user closed the bead. */
const CLOSE_REASON_KEY = 'closeReason';

/**
 * Issue beads a user manages (create, edit, close, reopen, delete) and the mayor slings and edits.
 * Dependencies: each must be an issue bead of this town and none may close a cycle (400
 * validation_failed naming the cycle); a bead others depend on cannot be deleted (409). Merge
 * requests, messages and escalations are not managed here (409 conflict).
 */
export class BeadService {
  constructor(
    private readonly ctx: TownContext,
    private readonly town: TownService,
    private readonly agents: AgentService,
  ) {}

  get(beadId: string): Bead {
    const bead = this.ctx.repos.beads.get(beadId);
    if (!bead) throw new GastownError('not_found', 'bead not found');
    return bead;
  }

  page(filter: BeadPageFilter, request: PageRequest): Page<Bead> {
    return this.ctx.repos.beads.page(filter, request);
  }

  /** A new open issue bead on a rig (404 unknown rig). */
  create(actor: BeadActor, input: NewIssueInput): Bead {
    this.town.rig(input.rigId);
    const dependsOn = input.dependsOn ?? [];
    return this.ctx.transaction(() => {
      const id = this.ctx.ids('bd');
      this.assertDependencies(id, dependsOn);
      const createdBy = actor.kind === 'agent' ? actor.agent.id : 'user';
      const bead = this.ctx.repos.beads.insert({
        id,
        rigId: input.rigId,
        type: 'issue',
        status: 'open',
        title: input.title,
        body: input.body,
        assigneeId: null,
        metadata: { createdBy, ...(input.model !== undefined ? { model: input.model } : {}) },
        now: this.ctx.clock.now(),
        priority: input.priority,
        labels: input.labels,
        dependsOn,
      });
      this.ctx.event({
        type: 'bead.created',
        agentId: actor.kind === 'agent' ? actor.agent.id : null,
        beadId: bead.id,
        data: { rigId: input.rigId, type: 'issue', model: input.model ?? null, by: createdBy, priority: bead.priority, dependsOn: bead.dependsOn },
      });
      return bead;
    });
  }

  /**
   * Edit an issue bead. The mayor edits only the beads it slung (another → 403 token_scope). A new
   * rig only while the bead is open and unassigned (409 otherwise).
   */
  update(actor: BeadActor, beadId: string, patch: BeadFieldsPatch): Bead {
    const bead = this.issue(beadId);
    if (actor.kind === 'agent' && bead.metadata.createdBy !== actor.agent.id) {
      throw new CredentialError('token_scope', `bead ${bead.id} was not created by this agent: it may change only the beads it slung`);
    }
    if (patch.rigId !== undefined && patch.rigId !== bead.rigId) {
      this.town.rig(patch.rigId);
      if (bead.status !== 'open' || bead.assigneeId !== null)
        throw new GastownError('conflict', `bead ${bead.id} is ${bead.status}: only an open, unassigned bead moves to another rig`);
    }
    return this.ctx.transaction(() => {
      if (patch.dependsOn !== undefined) this.assertDependencies(bead.id, patch.dependsOn);
      const updated = this.ctx.repos.beads.updateFields(bead.id, patch, this.ctx.clock.now());
      this.ctx.event({
        type: 'bead.updated',
        agentId: actor.kind === 'agent' ? actor.agent.id : null,
        beadId: bead.id,
        data: {
          fields: Object.keys(patch).filter((k) => patch[k as keyof BeadFieldsPatch] !== undefined),
          by: actor.kind === 'agent' ? actor.agent.id : 'user',
        },
      });
      return updated;
    });
  }

  /**
   * Close an issue bead by hand: open or failed → closed; in progress → its polecat is stopped
   * first, then closed. In review → 409 (its merge request decides). Already closed: unchanged.
   */
  async close(beadId: string, reason: string | undefined): Promise<Bead> {
    const bead = this.issue(beadId);
    if (bead.status === 'closed') return bead;
    if (bead.status === 'in_review')
      throw new GastownError('conflict', `bead ${bead.id} is in review: its merge request decides (request changes or merge it)`);
    if (bead.status === 'in_progress' && bead.assigneeId !== null) await this.agents.stop(bead.assigneeId, 'bead closed by user');
    const current = this.get(bead.id);
    if (current.status === 'closed') return current;
    const now = this.ctx.clock.now();
    return this.ctx.transaction(() => {
      const metadata = { ...current.metadata, [CLOSE_REASON_KEY]: reason ?? 'closed by user', retryAt: null };
      const closed = this.ctx.repos.beads.update(current.id, { status: 'closed', assigneeId: null, metadata }, now);
      this.statusChanged(current.status, closed, reason ?? 'closed by user');
      return closed;
    });
  }

  /** A closed or failed issue bead back to open, with fresh attempts (409 when it is not closed or failed). */
  reopen(beadId: string): Bead {
    const bead = this.issue(beadId);
    if (bead.status !== 'closed' && bead.status !== 'failed')
      throw new GastownError('conflict', `bead ${bead.id} is ${bead.status}: only a closed or failed bead reopens`);
    const now = this.ctx.clock.now();
    return this.ctx.transaction(() => {
      const { [CLOSE_REASON_KEY]: _reason, retryAt: _retryAt, ...metadata } = bead.metadata;
      const reopened = this.ctx.repos.beads.update(bead.id, { status: 'open', assigneeId: null, attempts: 0, metadata }, now);
      this.statusChanged(bead.status, reopened, 'reopened by user');
      return reopened;
    });
  }

  /** Delete an issue bead no agent holds and nothing depends on (409 otherwise). */
  delete(beadId: string): { deleted: true; beadId: string } {
    const bead = this.issue(beadId);
    if (bead.status === 'in_progress' || bead.status === 'in_review') {
      throw new GastownError('conflict', `bead ${bead.id} is ${bead.status}: close it first`);
    }
    return this.ctx.transaction(() => {
      const dependents = this.ctx.repos.beads.dependents(bead.id);
      if (dependents.length > 0) {
        throw new GastownError('conflict', `bead ${bead.id} is a dependency of ${listIds(dependents)}: remove it from their dependsOn first`);
      }
      this.ctx.repos.beads.delete(bead.id);
      this.ctx.event({ type: 'bead.deleted', beadId: bead.id, data: { rigId: bead.rigId, status: bead.status, by: 'user' } });
      return { deleted: true as const, beadId: bead.id };
    });
  }

  /** An issue bead of this town (404 none; 409 another type). */
  private issue(beadId: string): Bead {
    const bead = this.get(beadId);
    if (bead.type !== 'issue') throw new GastownError('conflict', `bead ${bead.id} is a ${bead.type}: only issue beads are managed here`);
    return bead;
  }

  /** Every dependency an issue bead of this town; none closes a cycle (400 validation_failed). */
  private assertDependencies(beadId: string, dependsOn: readonly string[]): void {
    if (dependsOn.length === 0) return;
    const found = this.ctx.repos.beads.statusesOf(dependsOn);
    for (const id of dependsOn) {
      const dep = found.get(id);
      if (!dep) throw new GastownError('validation_failed', `dependsOn: bead ${id} not found in this town`);
      if (dep.type !== 'issue') throw new GastownError('validation_failed', `dependsOn: bead ${id} is a ${dep.type}, not an issue`);
    }
    const cycle = dependencyCycle(this.ctx.repos.beads.dependencyGraph(), beadId, dependsOn);
    if (cycle) throw new GastownError('validation_failed', `dependsOn: a dependency cycle ${cycle.join(' → ')}`);
  }

  private statusChanged(from: BeadStatus, bead: Bead, reason: string): void {
    this.ctx.event({
      type: 'bead.status_changed',
      agentId: null,
      beadId: bead.id,
      data: { from, to: bead.status, attempts: bead.attempts, reason: reason.slice(0, 500), by: 'user' },
    });
  }
}

function listIds(ids: readonly string[]): string {
  return ids.length <= 5 ? ids.join(', ') : `${ids.slice(0, 5).join(', ')} and ${ids.length - 5} more`;
}
