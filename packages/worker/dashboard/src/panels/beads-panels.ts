import type { Agent, Bead, BeadStatus, Rig, UsageRow } from '@gastown/protocol';
import { ApiError } from '../api/api-error';
import { clip } from '../model/event-summary';
import { costText, formatCount, totalTokens } from '../model/usage-view';
import { shortId } from '../model/format';
import { pullRequestView } from '../model/pull-request';
import { lastFailureReason, openDependencies } from '../model/bead-form';
import { escalationState, sortEscalations, type EscalationState } from '../model/escalation-view';
import { badge, empty, h, liveTime, replace } from '../view/dom';
import { pullRequestLink } from '../view/pull-request-link';

export const BOARD_COLUMNS: readonly { status: BeadStatus; title: string }[] = [
  { status: 'open', title: 'Open' },
  { status: 'in_progress', title: 'In progress' },
  { status: 'in_review', title: 'In review' },
  { status: 'closed', title: 'Closed' },
  { status: 'failed', title: 'Failed' },
];

export interface Names {
  agents: ReadonlyMap<string, Agent>;
  rigs: ReadonlyMap<string, Rig>;
}

const STATUS_TONE: Record<BeadStatus, string> = { open: 'info', in_progress: 'ok', in_review: 'warn', closed: 'muted', failed: 'bad' };

function agentName(names: Names, id: string | null | undefined): string | null {
  if (!id) return null;
  return names.agents.get(id)?.name ?? shortId(id, 12);
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

export interface BeadsBoardOptions {
  /** A card was clicked: open it in the editor. */
  onSelect(bead: Bead): void;
  /** "New bead": open the editor empty. */
  onNew(): void;
}

/** Work items (issues and messages) as a board by status; newest first in each column. Issue cards open in the editor. */
export class BeadsBoard {
  readonly el: HTMLElement;
  readonly #board: HTMLElement;
  #selectedId: string | null = null;
  /** Beads already shown (and where): a card that is new or moved is highlighted once. */
  #seen: Map<string, BeadStatus> | null = null;
  /** Each bead's model usage (usage?by=bead), for the cost on its card. */
  #costs: ReadonlyMap<string, UsageRow> = new Map();
  #last: { beads: readonly Bead[]; names: Names } | null = null;

  constructor(private readonly opts: BeadsBoardOptions = { onSelect: () => undefined, onNew: () => undefined }) {
    this.#board = h('div', { class: 'board' }, empty('Loading beads…'));
    this.el = h(
      'section',
      { class: 'card panel', id: 'beads-panel' },
      h(
        'div',
        { class: 'panel-head' },
        h('h2', null, 'Beads'),
        h('span', { class: 'muted small' }, 'work items by status; click an issue to edit it'),
        h(
          'button',
          { class: 'btn btn-small btn-primary panel-head-action', type: 'button', id: 'bead-new', on: { click: () => this.opts.onNew() } },
          '+ New bead',
        ),
      ),
      this.#board,
    );
  }

  /** The bead open in the editor (its card is outlined). */
  setSelected(beadId: string | null): void {
    this.#selectedId = beadId;
    for (const card of this.#board.querySelectorAll<HTMLElement>('.bead-card')) card.classList.toggle('is-selected', card.dataset.beadId === beadId);
  }

  showError(text: string): void {
    replace(this.#board, h('div', { class: 'form-error' }, text));
  }

  /** What each bead's calls cost so far; the board is redrawn with them. */
  setCosts(costs: ReadonlyMap<string, UsageRow>): void {
    this.#costs = costs;
    if (this.#last) this.render(this.#last.beads, this.#last.names);
  }

  render(beads: readonly Bead[], names: Names): void {
    this.#last = { beads, names };
    const work = beads.filter((b) => b.type === 'issue' || b.type === 'message');
    const seen = this.#seen;
    this.#seen = new Map(work.map((b) => [b.id, b.status]));
    const byId = new Map(beads.map((b) => [b.id, b]));
    replace(
      this.#board,
      BOARD_COLUMNS.map(({ status, title }) => {
        const items = work.filter((b) => b.status === status).sort((a, b) => b.updatedAt - a.updatedAt);
        return h(
          'div',
          { class: 'board-col', data: { status } },
          h('div', { class: 'board-col-head' }, h('span', null, title), h('span', { class: 'count' }, String(items.length))),
          h(
            'div',
            { class: 'board-col-body' },
            items.length ? items.map((b) => this.#card(b, names, byId, seen !== null && seen.get(b.id) !== b.status)) : h('div', { class: 'board-empty' }, '—'),
          ),
        );
      }),
    );
  }

  #card(b: Bead, names: Names, byId: ReadonlyMap<string, Bead>, changed: boolean): HTMLElement {
    const rig = b.rigId ? names.rigs.get(b.rigId)?.name : null;
    const assignee = agentName(names, b.assigneeId);
    const pr = pullRequestView(b.metadata);
    const usage = this.#costs.get(b.id);
    const failure = lastFailureReason(b);
    const waiting = b.status === 'open' ? openDependencies(b, byId) : [];
    const editable = b.type === 'issue';
    const classes = ['bead-card', changed ? 'is-new' : '', editable ? 'is-editable' : '', b.id === this.#selectedId ? 'is-selected' : '']
      .filter(Boolean)
      .join(' ');
    return h(
      'div',
      {
        class: classes,
        data: { beadId: b.id, status: b.status, priority: String(b.priority) },
        title: b.body ? clip(b.body, 400) : b.title,
        tabindex: editable ? '0' : undefined,
        role: editable ? 'button' : undefined,
        on: editable
          ? {
              click: () => this.opts.onSelect(b),
              keydown: (e: KeyboardEvent) => {
                if (e.key === 'Enter') this.opts.onSelect(b);
              },
            }
          : undefined,
      },
      h('div', { class: 'bead-title' }, b.title),
      h(
        'div',
        { class: 'bead-meta' },
        badge(`P${b.priority}`, b.priority <= 1 ? 'warn' : 'muted', `priority ${b.priority} (0 most urgent … 4 backlog)`),
        b.labels.map((l) => h('span', { class: 'label-chip', data: { label: l } }, l)),
        waiting.length
          ? badge(`waits for ${waiting.length}`, 'info', `not dispatched until these are closed: ${waiting.map((id) => byId.get(id)?.title ?? id).join(', ')}`)
          : b.dependsOn.length
            ? h('span', { class: 'muted', title: b.dependsOn.join(', ') }, `${b.dependsOn.length} dep${b.dependsOn.length === 1 ? '' : 's'} done`)
            : null,
      ),
      failure ? h('div', { class: 'bead-failure', data: { field: 'failure-reason' } }, failure) : null,
      h(
        'div',
        { class: 'bead-meta' },
        h('span', { class: 'mono' }, shortId(b.id, 12)),
        rig ? h('span', null, rig) : null,
        assignee ? h('span', null, `→ ${assignee}`) : null,
        b.attempts > 1 ? badge(`attempt ${b.attempts}`, 'warn') : null,
        usage
          ? h(
              'span',
              {
                class: 'bead-cost',
                data: { costMicros: String(usage.costMicros) },
                title: `${formatCount(usage.calls)} model calls · ${formatCount(totalTokens(usage))} tokens`,
              },
              costText(usage),
            )
          : null,
      ),
      pr ? h('div', { class: 'bead-meta bead-pr' }, pullRequestLink(pr)) : null,
      h('div', { class: 'bead-meta' }, 'updated ', liveTime('ago', b.updatedAt)),
    );
  }
}

function table(headers: string[], rows: HTMLElement[]): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'table' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          headers.map((t) => h('th', null, t)),
        ),
      ),
      h('tbody', null, rows),
    ),
  );
}

/** Merge requests: branch, source bead, status, resolution. */
export class MergeRequestsPanel {
  readonly el: HTMLElement;
  readonly #body: HTMLElement;

  constructor() {
    this.#body = h('div', null, empty('Loading…'));
    this.el = h('section', { class: 'card panel', id: 'merge-requests-panel' }, h('div', { class: 'panel-head' }, h('h2', null, 'Merge requests')), this.#body);
  }

  render(beads: readonly Bead[], names: Names): void {
    const mrs = beads.filter((b) => b.type === 'merge_request').sort((a, b) => b.createdAt - a.createdAt);
    if (!mrs.length) return replace(this.#body, empty('No merge requests yet. A polecat that finishes its bead opens one for the refinery.'));
    const byId = new Map(beads.map((b) => [b.id, b]));
    replace(
      this.#body,
      table(
        ['Merge request', 'Branch', 'Source bead', 'Status', 'Resolution', 'Updated'],
        mrs.map((mr) => {
          const source = byId.get(str(mr.metadata.sourceBeadId) ?? '');
          const resolution = str(mr.metadata.resolution);
          const sha = str(mr.metadata.commitSha);
          const pr = pullRequestView(mr.metadata);
          return h(
            'tr',
            { data: { beadId: mr.id } },
            h('td', null, h('div', null, clip(mr.title, 70)), h('div', { class: 'muted mono small' }, mr.id)),
            h('td', { class: 'mono small' }, str(mr.metadata.branch) ?? '—'),
            h('td', null, source ? clip(source.title, 40) : '—'),
            h('td', null, badge(mr.status, STATUS_TONE[mr.status])),
            h(
              'td',
              { class: 'small' },
              resolution ?? (pr ? '' : '—'),
              sha ? h('span', { class: 'muted mono' }, ` ${sha.slice(0, 8)}`) : null,
              pr ? h('div', null, pullRequestLink(pr)) : null,
              str(mr.metadata.feedback) ? h('div', { class: 'muted' }, clip(str(mr.metadata.feedback) ?? '', 80)) : null,
            ),
            h('td', null, liveTime('ago', mr.updatedAt)),
          );
        }),
      ),
    );
  }
}

const SEVERITY_TONE: Record<string, string> = { low: 'muted', medium: 'warn', high: 'bad' };
const ESCALATION_TONE: Record<EscalationState, string> = { open: 'bad', acknowledged: 'warn', resolved: 'muted' };

export interface EscalationsPanelOptions {
  onAcknowledge(bead: Bead): Promise<void>;
  onResolve(bead: Bead): Promise<void>;
}

/** Escalations raised by agents or the town (severity, who, what), to acknowledge and resolve. */
export class EscalationsPanel {
  readonly el: HTMLElement;
  readonly #body: HTMLElement;
  /** Per escalation: an action in flight, or the error of the last one. */
  readonly #busy = new Map<string, { pending: boolean; error: string | null }>();
  #last: { beads: readonly Bead[]; names: Names } | null = null;

  constructor(private readonly opts: EscalationsPanelOptions = { onAcknowledge: async () => undefined, onResolve: async () => undefined }) {
    this.#body = h('div', null, empty('Loading…'));
    this.el = h('section', { class: 'card panel', id: 'escalations-panel' }, h('div', { class: 'panel-head' }, h('h2', null, 'Escalations')), this.#body);
  }

  render(beads: readonly Bead[], names: Names): void {
    this.#last = { beads, names };
    const items = sortEscalations(beads);
    if (!items.length) return replace(this.#body, empty('Nothing escalated.'));
    const related = new Map(beads.map((b) => [b.id, b]));
    replace(
      this.#body,
      h(
        'ul',
        { class: 'list' },
        items.map((b) => {
          const severity = str(b.metadata.severity) ?? 'medium';
          const state = escalationState(b);
          const busy = this.#busy.get(b.id);
          const relatedBead = related.get(str(b.metadata.relatedBeadId) ?? '');
          const ackAt = typeof b.metadata.acknowledgedAt === 'number' ? b.metadata.acknowledgedAt : null;
          return h(
            'li',
            { class: `list-item escalation state-${state}`, data: { beadId: b.id, state } },
            h(
              'div',
              { class: 'list-item-head' },
              badge(severity, SEVERITY_TONE[severity] ?? 'warn'),
              h('strong', null, b.title),
              h('span', { data: { field: 'escalation-state' } }, badge(state, ESCALATION_TONE[state])),
              h(
                'span',
                { class: 'list-item-actions' },
                state === 'open'
                  ? h(
                      'button',
                      {
                        class: 'btn btn-small',
                        type: 'button',
                        disabled: busy?.pending,
                        data: { action: 'acknowledge' },
                        on: { click: () => void this.#act(b, 'ack') },
                      },
                      'Acknowledge',
                    )
                  : null,
                state !== 'resolved'
                  ? h(
                      'button',
                      {
                        class: 'btn btn-small',
                        type: 'button',
                        disabled: busy?.pending,
                        data: { action: 'resolve' },
                        on: { click: () => void this.#act(b, 'resolve') },
                      },
                      'Resolve',
                    )
                  : null,
              ),
            ),
            b.body ? h('div', { class: 'list-item-body wrap-text' }, clip(b.body, 600)) : null,
            h(
              'div',
              { class: 'muted small' },
              `from ${agentName(names, str(b.metadata.fromAgentId)) ?? 'the town'} · `,
              liveTime('ago', b.createdAt),
              relatedBead ? ` · about “${clip(relatedBead.title, 60)}” (${relatedBead.status})` : null,
              ackAt !== null ? h('span', null, ' · acknowledged ', liveTime('ago', ackAt)) : null,
            ),
            busy?.error ? h('div', { class: 'form-error', role: 'alert' }, busy.error) : null,
          );
        }),
      ),
    );
  }

  async #act(b: Bead, action: 'ack' | 'resolve'): Promise<void> {
    this.#busy.set(b.id, { pending: true, error: null });
    this.#rerender();
    try {
      await (action === 'ack' ? this.opts.onAcknowledge(b) : this.opts.onResolve(b));
      this.#busy.delete(b.id);
    } catch (err) {
      this.#busy.set(b.id, { pending: false, error: err instanceof ApiError ? `${err.code}: ${err.message}` : 'the request failed' });
    }
    this.#rerender();
  }

  #rerender(): void {
    if (this.#last) this.render(this.#last.beads, this.#last.names);
  }
}
