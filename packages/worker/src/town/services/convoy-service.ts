import {
  CONVOY_LANDED_EVENT,
  CONVOY_LIMITS,
  GastownError,
  type Bead,
  type Convoy,
  type ConvoyDetailResponse,
  type ConvoyStatus,
  type SlingBatchBead,
} from '@gastown/protocol';
import type { Page, PageRequest } from '../list-page';
import type { BeadActor, BeadService } from './bead-service';
import type { TownContext } from './context';

export interface NewConvoyInput {
  name: string;
  goal: string;
  beadIds: readonly string[];
}

export interface ConvoyEdit {
  name?: string | undefined;
  goal?: string | undefined;
  addBeadIds?: readonly string[] | undefined;
  removeBeadIds?: readonly string[] | undefined;
  status?: 'cancelled' | undefined;
}

/** A bead of gt_sling_batch after zod: `dependsOn` entries are bead ids or indexes of earlier beads of the batch. */
export type BatchBeadInput = Omit<SlingBatchBead, 'body' | 'dependsOn'> & { body: string; dependsOn?: readonly (string | number)[] | undefined };

/**
 * Convoys: a named group of issue beads of the town with one goal. Users create them from
 * existing beads; the mayor's gt_sling_batch creates the beads and their convoy in one step.
 * A convoy lands once every one of its beads is closed, whatever closed them (a merge, a user,
 * a cancellation): `landReady` is asked after every change and lands each ready convoy exactly
 * once (open → landed in one conditional UPDATE, the `convoy.landed` event in the same
 * transaction). A landed or cancelled convoy keeps its status; reopening one of its beads does
 * not reopen it.
 */
export class ConvoyService {
  constructor(
    private readonly ctx: TownContext,
    private readonly beads: BeadService,
  ) {}

  get(convoyId: string): Convoy {
    const convoy = this.ctx.repos.convoys.get(convoyId);
    if (!convoy) throw new GastownError('not_found', 'convoy not found');
    return convoy;
  }

  /** The convoy and its beads, in the convoy's order. */
  detail(convoyId: string): ConvoyDetailResponse {
    const convoy = this.get(convoyId);
    const beads = convoy.beadIds.map((id) => this.ctx.repos.beads.get(id)).filter((b): b is Bead => b !== null);
    return { convoy, beads };
  }

  page(status: ConvoyStatus | null, request: PageRequest): Page<Convoy> {
    return this.ctx.repos.convoys.page(status, request);
  }

  /** A new open convoy of existing issue beads of this town (400 validation_failed naming a bead that is not one). */
  create(actor: BeadActor, input: NewConvoyInput): Convoy {
    const created = this.ctx.transaction(() => {
      this.assertIssues('beadIds', input.beadIds);
      return this.insert(actor, input);
    });
    this.landReady();
    return this.get(created.id);
  }

  /**
   * Rename, re-describe, add or remove beads (open convoys only: 409 otherwise), or cancel an
   * open convoy (its beads are not touched; cancelling a cancelled convoy changes nothing). A
   * convoy keeps between one and CONVOY_LIMITS.maxBeads beads (400 otherwise).
   */
  update(convoyId: string, edit: ConvoyEdit): Convoy {
    const convoy = this.get(convoyId);
    const changesMembers = edit.addBeadIds !== undefined || edit.removeBeadIds !== undefined;
    if (edit.status === 'cancelled' && convoy.status === 'landed') throw new GastownError('conflict', `convoy ${convoy.id} has landed: it cannot be cancelled`);
    if (changesMembers && convoy.status !== 'open')
      throw new GastownError('conflict', `convoy ${convoy.id} is ${convoy.status}: only an open convoy takes or loses beads`);
    const now = this.ctx.clock.now();
    this.ctx.transaction(() => {
      if (edit.addBeadIds !== undefined) this.assertIssues('addBeadIds', edit.addBeadIds);
      if (changesMembers) {
        const removed = new Set(edit.removeBeadIds ?? []);
        const next = new Set([...convoy.beadIds.filter((id) => !removed.has(id)), ...(edit.addBeadIds ?? [])]);
        if (next.size === 0) throw new GastownError('validation_failed', 'removeBeadIds: a convoy keeps at least one bead (delete the convoy instead)');
        if (next.size > CONVOY_LIMITS.maxBeads)
          throw new GastownError('validation_failed', `addBeadIds: a convoy holds at most ${CONVOY_LIMITS.maxBeads} beads`);
        if (edit.removeBeadIds !== undefined) this.ctx.repos.convoys.removeBeads(convoy.id, edit.removeBeadIds);
        if (edit.addBeadIds !== undefined) this.ctx.repos.convoys.addBeads(convoy.id, edit.addBeadIds);
      }
      const cancel = edit.status === 'cancelled' && convoy.status === 'open';
      this.ctx.repos.convoys.update(convoy.id, { name: edit.name, goal: edit.goal, ...(cancel ? { status: 'cancelled' as const } : {}) }, now);
      const fields = Object.keys(edit).filter((k) => edit[k as keyof ConvoyEdit] !== undefined);
      this.ctx.event({ type: cancel ? 'convoy.cancelled' : 'convoy.updated', data: { convoyId: convoy.id, fields, by: 'user' } });
    });
    this.landReady();
    return this.get(convoy.id);
  }

  /** The convoy is gone; its beads stay as they are. */
  delete(convoyId: string): { deleted: true; convoyId: string } {
    const convoy = this.get(convoyId);
    return this.ctx.transaction(() => {
      this.ctx.repos.convoys.delete(convoy.id);
      this.ctx.event({ type: 'convoy.deleted', data: { convoyId: convoy.id, status: convoy.status, by: 'user' } });
      return { deleted: true as const, convoyId: convoy.id };
    });
  }

  /**
   * gt_sling_batch: the beads, in order (a `dependsOn` index names an earlier bead of the batch),
   * and one convoy of them, all in one transaction: a bead that is refused (unknown rig, bad
   * dependency) leaves nothing behind.
   */
  slingBatch(actor: BeadActor, input: { name: string; goal: string; beads: readonly BatchBeadInput[] }): { convoy: Convoy; beads: Bead[] } {
    return this.ctx.transaction(() => {
      const created: Bead[] = [];
      input.beads.forEach((bead, i) => {
        const dependsOn = (bead.dependsOn ?? []).map((dep) => {
          if (typeof dep === 'string') return dep;
          const earlier = created[dep];
          if (!earlier || dep >= i) throw new GastownError('validation_failed', `beads.${i}.dependsOn: index ${dep} is not an earlier bead of the batch`);
          return earlier.id;
        });
        if (new Set(dependsOn).size !== dependsOn.length) throw new GastownError('validation_failed', `beads.${i}.dependsOn: a bead appears twice`);
        created.push(
          this.beads.create(actor, {
            rigId: bead.rigId,
            title: bead.title,
            body: bead.body,
            priority: bead.priority,
            labels: bead.labels,
            dependsOn,
            model: bead.model,
          }),
        );
      });
      const convoy = this.insert(actor, { name: input.name, goal: input.goal, beadIds: created.map((b) => b.id) });
      return { convoy, beads: created };
    });
  }

  /**
   * Land every open convoy whose beads are all closed; returns the ids landed by this call. One
   * whose beads were all cancelled (their rig deleted) is cancelled instead (`convoy.cancelled`).
   */
  landReady(): string[] {
    const landed: string[] = [];
    for (const { id, allCancelled } of this.ctx.repos.convoys.readyToLand()) {
      this.ctx.transaction(() => {
        const now = this.ctx.clock.now();
        if (allCancelled) {
          if (this.ctx.repos.convoys.cancelOpen(id, now)) {
            this.ctx.event({
              type: 'convoy.cancelled',
              data: { convoyId: id, fields: [], by: 'town', reason: 'every bead was cancelled (its rig was deleted)' },
            });
          }
          return;
        }
        if (!this.ctx.repos.convoys.land(id, now)) return;
        const convoy = this.get(id);
        this.ctx.event({
          type: CONVOY_LANDED_EVENT,
          data: { convoyId: id, name: convoy.name, closed: convoy.progress.closed, total: convoy.progress.total, createdBy: convoy.createdBy },
        });
        landed.push(id);
      });
    }
    return landed;
  }

  private insert(actor: BeadActor, input: NewConvoyInput): Convoy {
    const createdBy = actor.kind === 'agent' ? actor.agent.id : 'user';
    const convoy = this.ctx.repos.convoys.insert({
      id: this.ctx.ids('cv'),
      name: input.name,
      goal: input.goal,
      createdBy,
      beadIds: input.beadIds,
      now: this.ctx.clock.now(),
    });
    this.ctx.event({
      type: 'convoy.created',
      agentId: actor.kind === 'agent' ? actor.agent.id : null,
      data: { convoyId: convoy.id, name: convoy.name, beadIds: convoy.beadIds, by: createdBy },
    });
    return convoy;
  }

  /** Every id an issue bead of this town (400 validation_failed naming the first that is not). */
  private assertIssues(field: string, beadIds: readonly string[]): void {
    const found = this.ctx.repos.beads.statusesOf(beadIds);
    for (const id of beadIds) {
      const bead = found.get(id);
      if (!bead) throw new GastownError('validation_failed', `${field}: bead ${id} not found in this town`);
      if (bead.type !== 'issue') throw new GastownError('validation_failed', `${field}: bead ${id} is a ${bead.type}, not an issue`);
    }
  }
}
