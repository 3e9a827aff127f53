import type { Agent, Bead, BeadStatus, Rig, UsageRow } from '@gastown/protocol';
import { clip } from '../model/event-summary';
import { costText, formatCount, totalTokens } from '../model/usage-view';
import { shortId } from '../model/format';
import { pullRequestView } from '../model/pull-request';
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

/** Work items (issues and messages) as a board by status; newest first in each column. */
export class BeadsBoard {
  readonly el: HTMLElement;
  readonly #board: HTMLElement;
  /** Beads already shown (and where): a card that is new or moved is highlighted once. */
  #seen: Map<string, BeadStatus> | null = null;
  /** Each bead's model usage (usage?by=bead), for the cost on its card. */
  #costs: ReadonlyMap<string, UsageRow> = new Map();
  #last: { beads: readonly Bead[]; names: Names } | null = null;

  constructor() {
    this.#board = h('div', { class: 'board' }, empty('Loading beads…'));
    this.el = h(
      'section',
      { class: 'card panel', id: 'beads-panel' },
      h('div', { class: 'panel-head' }, h('h2', null, 'Beads'), h('span', { class: 'muted small' }, 'work items by status')),
      this.#board,
    );
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
            items.length ? items.map((b) => this.#card(b, names, seen !== null && seen.get(b.id) !== b.status)) : h('div', { class: 'board-empty' }, '—'),
          ),
        );
      }),
    );
  }

  #card(b: Bead, names: Names, changed: boolean): HTMLElement {
    const rig = b.rigId ? names.rigs.get(b.rigId)?.name : null;
    const assignee = agentName(names, b.assigneeId);
    const pr = pullRequestView(b.metadata);
    const usage = this.#costs.get(b.id);
    return h(
      'div',
      { class: changed ? 'bead-card is-new' : 'bead-card', data: { beadId: b.id }, title: b.body ? clip(b.body, 400) : b.title },
      h('div', { class: 'bead-title' }, b.title),
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

/** Escalations raised by agents (severity, who, what). */
export class EscalationsPanel {
  readonly el: HTMLElement;
  readonly #body: HTMLElement;

  constructor() {
    this.#body = h('div', null, empty('Loading…'));
    this.el = h('section', { class: 'card panel', id: 'escalations-panel' }, h('div', { class: 'panel-head' }, h('h2', null, 'Escalations')), this.#body);
  }

  render(beads: readonly Bead[], names: Names): void {
    const items = beads.filter((b) => b.type === 'escalation').sort((a, b) => b.createdAt - a.createdAt);
    if (!items.length) return replace(this.#body, empty('Nothing escalated.'));
    replace(
      this.#body,
      h(
        'ul',
        { class: 'list' },
        items.map((b) => {
          const severity = str(b.metadata.severity) ?? 'medium';
          return h(
            'li',
            { class: 'list-item', data: { beadId: b.id } },
            h(
              'div',
              { class: 'list-item-head' },
              badge(severity, SEVERITY_TONE[severity] ?? 'warn'),
              h('strong', null, b.title),
              badge(b.status, STATUS_TONE[b.status]),
            ),
            b.body ? h('div', { class: 'list-item-body' }, clip(b.body, 600)) : null,
            h('div', { class: 'muted small' }, `from ${agentName(names, str(b.metadata.fromAgentId)) ?? 'unknown'} · `, liveTime('ago', b.createdAt)),
          );
        }),
      ),
    );
  }
}
