import type { Bead, Convoy, CreateConvoyRequest } from '@gastown/protocol';
import { ApiError } from '../api/api-error';
import { convoyProgress, sortConvoys } from '../model/convoy-view';
import { shortId } from '../model/format';
import { badge, empty, h, liveTime, replace } from '../view/dom';
import { clearFormError, field, showFormError } from '../view/forms';

const STATUS_TONE: Record<Convoy['status'], string> = { open: 'info', landed: 'ok', cancelled: 'muted' };
const BEAD_TONE: Record<Bead['status'], string> = { open: 'info', in_progress: 'ok', in_review: 'warn', closed: 'muted', failed: 'bad' };

export interface ConvoysPanelOptions {
  createConvoy(req: CreateConvoyRequest): Promise<Convoy>;
  cancelConvoy(convoyId: string): Promise<Convoy>;
  deleteConvoy(convoyId: string): Promise<void>;
  /** Returns true when the error was handled (signed out). */
  onError(err: unknown): boolean;
  /** A convoy was created, cancelled or deleted here: refetch the list. */
  onChanged(): void;
}

/**
 * Convoys: named groups of beads with one goal, their progress (n of m closed) following the
 * event stream, landed once every bead is closed; a form to create one from the town's issue beads.
 */
export class ConvoysPanel {
  readonly el: HTMLElement;
  readonly #list = h('div', { id: 'convoy-list' }, empty('Loading…'));
  readonly #name = h('input', { id: 'convoy-name', class: 'input', maxlength: '200', autocomplete: 'off', placeholder: 'Launch the health checks' });
  readonly #goal = h('textarea', { id: 'convoy-goal', class: 'input', rows: '2', placeholder: 'What the convoy achieves once every bead is closed' });
  readonly #beadList = h('div', { class: 'dep-list', id: 'convoy-beads' });
  readonly #error = h('div', { class: 'form-error', role: 'alert', hidden: true, id: 'convoy-error' });
  readonly #status = h('div', { class: 'form-ok', role: 'status', hidden: true, id: 'convoy-status' });
  readonly #fieldErrors: Map<string, HTMLElement>;
  #chosen = new Set<string>();
  #convoys: readonly Convoy[] = [];
  #beads: readonly Bead[] = [];
  /** Per convoy: the error of its last action. */
  readonly #errors = new Map<string, string>();

  constructor(private readonly opts: ConvoysPanelOptions) {
    const name = field('name', 'Name', this.#name);
    const goal = field('goal', 'Goal', this.#goal);
    const beads = field('beadIds', 'Beads', this.#beadList, 'issue beads of this town; the convoy lands when all of them are closed');
    this.#fieldErrors = new Map([name, goal, beads].map((f) => [f.row.dataset.field ?? '', f.error]));
    const submit = h('button', { class: 'btn btn-primary', type: 'submit' }, 'Create convoy');
    const form = h(
      'form',
      { class: 'settings-form', id: 'convoy-form', novalidate: true },
      h('h3', null, 'New convoy'),
      name.row,
      goal.row,
      beads.row,
      h('div', { class: 'form-actions' }, submit),
      this.#error,
      this.#status,
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.#create(submit);
    });
    this.el = h(
      'section',
      { class: 'card panel', id: 'convoys-panel' },
      h('div', { class: 'panel-head' }, h('h2', null, 'Convoys'), h('span', { class: 'muted small' }, 'groups of beads with one goal, and how far they got')),
      this.#list,
      form,
    );
  }

  showError(text: string): void {
    replace(this.#list, h('div', { class: 'form-error' }, text));
  }

  render(convoys: readonly Convoy[], beads: readonly Bead[]): void {
    this.#convoys = convoys;
    this.#beads = beads;
    this.#renderList();
    this.#renderChoices();
  }

  #renderList(): void {
    if (!this.#convoys.length) return replace(this.#list, empty('No convoys yet. Group beads into one below, or ask the mayor for a batch of work.'));
    const byId = new Map(this.#beads.map((b) => [b.id, b]));
    replace(
      this.#list,
      h(
        'ul',
        { class: 'list' },
        sortConvoys(this.#convoys).map((c) => {
          const progress = convoyProgress(c);
          const error = this.#errors.get(c.id);
          return h(
            'li',
            { class: `list-item convoy status-${c.status}`, data: { convoyId: c.id, status: c.status } },
            h(
              'div',
              { class: 'list-item-head' },
              h('strong', null, c.name),
              h('span', { data: { field: 'convoy-status' } }, badge(c.status, STATUS_TONE[c.status])),
              h('span', { class: 'muted mono small' }, shortId(c.id, 14)),
              h(
                'span',
                { class: 'list-item-actions' },
                c.status === 'open'
                  ? h(
                      'button',
                      {
                        class: 'btn btn-small',
                        type: 'button',
                        data: { action: 'cancel-convoy' },
                        on: { click: () => void this.#act(c.id, () => this.opts.cancelConvoy(c.id)) },
                      },
                      'Cancel',
                    )
                  : null,
                h(
                  'button',
                  {
                    class: 'btn btn-small btn-danger',
                    type: 'button',
                    data: { action: 'delete-convoy' },
                    on: { click: () => void this.#act(c.id, () => this.opts.deleteConvoy(c.id)) },
                  },
                  'Delete',
                ),
              ),
            ),
            c.goal ? h('div', { class: 'list-item-body wrap-text' }, c.goal) : null,
            h(
              'div',
              { class: 'convoy-progress', data: { field: 'progress', closed: String(c.progress.closed), total: String(c.progress.total) } },
              h(
                'div',
                {
                  class: 'progress-bar',
                  role: 'progressbar',
                  'aria-valuemin': '0',
                  'aria-valuemax': String(c.progress.total),
                  'aria-valuenow': String(c.progress.closed),
                },
                fill(progress.fraction),
              ),
              h('span', { class: 'small' }, progress.text),
              c.landedAt !== null ? h('span', { class: 'small tone-ok' }, ' · landed ', liveTime('ago', c.landedAt)) : null,
            ),
            h(
              'ul',
              { class: 'convoy-beads' },
              c.beadIds.map((id) => {
                const b = byId.get(id);
                return h(
                  'li',
                  { data: { beadId: id } },
                  b ? badge(b.status.replace('_', ' '), BEAD_TONE[b.status]) : badge('gone', 'muted'),
                  ' ',
                  b ? b.title : h('span', { class: 'mono muted' }, id),
                );
              }),
            ),
            error ? h('div', { class: 'form-error', role: 'alert' }, error) : null,
          );
        }),
      ),
    );
  }

  /** Issue beads to put in a new convoy (not closed ones first: those are the work left). */
  #renderChoices(): void {
    const issues = this.#beads
      .filter((b) => b.type === 'issue')
      .sort((a, b) => Number(a.status === 'closed') - Number(b.status === 'closed') || b.createdAt - a.createdAt);
    for (const id of this.#chosen) if (!issues.some((b) => b.id === id)) this.#chosen.delete(id);
    if (!issues.length) return replace(this.#beadList, h('div', { class: 'muted small' }, 'no issue beads yet: create some on the Overview tab'));
    replace(
      this.#beadList,
      issues.map((b) => {
        const box = h('input', { type: 'checkbox', checked: this.#chosen.has(b.id), data: { convoyBeadId: b.id }, id: `convoy-bead-${b.id}` });
        box.addEventListener('change', () => {
          if (box.checked) this.#chosen.add(b.id);
          else this.#chosen.delete(b.id);
        });
        return h(
          'label',
          { class: 'dep-item', for: `convoy-bead-${b.id}` },
          box,
          h('span', { class: 'dep-title' }, b.title),
          badge(b.status.replace('_', ' '), BEAD_TONE[b.status]),
        );
      }),
    );
  }

  async #create(submit: HTMLButtonElement): Promise<void> {
    clearFormError(this.#error, this.#fieldErrors);
    this.#status.hidden = true;
    submit.disabled = true;
    try {
      const ids = this.#beads.filter((b) => this.#chosen.has(b.id)).map((b) => b.id);
      const convoy = await this.opts.createConvoy({ name: this.#name.value.trim(), goal: this.#goal.value, beadIds: ids });
      this.#name.value = '';
      this.#goal.value = '';
      this.#chosen.clear();
      this.#convoys = [...this.#convoys.filter((c) => c.id !== convoy.id), convoy];
      this.#renderList();
      this.#renderChoices();
      this.#status.textContent = `Created convoy “${convoy.name}” (${convoy.progress.total} beads).`;
      this.#status.hidden = false;
      this.opts.onChanged();
    } catch (err) {
      if (!this.opts.onError(err)) showFormError(err, this.#error, this.#fieldErrors);
    } finally {
      submit.disabled = false;
    }
  }

  async #act(convoyId: string, call: () => Promise<unknown>): Promise<void> {
    this.#errors.delete(convoyId);
    try {
      await call();
      this.opts.onChanged();
    } catch (err) {
      if (this.opts.onError(err)) return;
      this.#errors.set(convoyId, err instanceof ApiError ? `${err.code}: ${err.message}` : 'the request failed');
      this.#renderList();
    }
  }
}

/** The bar's filled part; its width set through the CSSOM (the CSP refuses inline style attributes). */
function fill(fraction: number): HTMLElement {
  const el = h('div', { class: 'progress-fill' });
  el.style.width = `${Math.round(fraction * 100)}%`;
  return el;
}
