import type { Bead, CreateBeadRequest, Rig, UpdateBeadRequest } from '@gastown/protocol';
import { beadActions, createBeadRequest, lastFailureReason, updateBeadRequest, type BeadFormValues } from '../model/bead-form';
import { shortId } from '../model/format';
import { badge, empty, h, liveTime, replace } from '../view/dom';
import { clearFormError, field, showFormError } from '../view/forms';

const PRIORITIES = [
  ['0', '0 · most urgent'],
  ['1', '1 · high'],
  ['2', '2 · normal'],
  ['3', '3 · low'],
  ['4', '4 · backlog'],
] as const;

const STATUS_TONE: Record<Bead['status'], string> = { open: 'info', in_progress: 'ok', in_review: 'warn', closed: 'muted', failed: 'bad' };

/** The bead calls the editor makes, bound to one town. */
export interface BeadPatchApi {
  createBead(req: CreateBeadRequest): Promise<Bead>;
  updateBead(beadId: string, patch: UpdateBeadRequest): Promise<Bead>;
  closeBead(beadId: string): Promise<Bead>;
  reopenBead(beadId: string): Promise<Bead>;
  deleteBead(beadId: string): Promise<void>;
}

export interface BeadEditorOptions {
  api: BeadPatchApi;
  /** Returns true when the error was handled (signed out). */
  onError(err: unknown): boolean;
  /** The editor opened, closed or moved to another bead (the board outlines it). */
  onSelectionChange(beadId: string | null): void;
}

/**
 * Create and edit an issue bead: rig, title, body, priority, labels and the beads it depends on;
 * for an existing bead also Close, Reopen / Requeue (a failed bead gets fresh attempts) and Delete
 * (asked first). The bead's status and failure reason follow the event stream while it is open.
 */
export class BeadEditor {
  readonly el: HTMLElement;
  #mode: { kind: 'closed' } | { kind: 'create' } | { kind: 'edit'; beadId: string } = { kind: 'closed' };
  #beads: readonly Bead[] = [];
  #rigs: readonly Rig[] = [];
  /** The dependencies checked in the form (kept while the list of beads is redrawn). */
  #deps = new Set<string>();
  #confirmDelete = false;
  readonly #title = h('h2', { id: 'bead-editor-title' }, 'New bead');
  readonly #state = h('div', { class: 'bead-editor-state', id: 'bead-editor-state' });
  readonly #rig = h('select', { id: 'bead-rig', class: 'input' });
  readonly #titleInput = h('input', { id: 'bead-title', class: 'input', maxlength: '200', autocomplete: 'off', placeholder: 'Add a health check endpoint' });
  readonly #body = h('textarea', { id: 'bead-body', class: 'input', rows: '3', placeholder: 'What to do, and how to know it is done' });
  readonly #priority = h(
    'select',
    { id: 'bead-priority', class: 'input' },
    PRIORITIES.map(([v, t]) => h('option', { value: v }, t)),
  );
  readonly #labels = h('input', { id: 'bead-labels', class: 'input mono', autocomplete: 'off', placeholder: 'backend, api' });
  readonly #depFilter = h('input', { id: 'bead-deps-filter', class: 'input', autocomplete: 'off', placeholder: 'filter by title or id' });
  readonly #depList = h('div', { class: 'dep-list', id: 'bead-deps' });
  readonly #submit = h('button', { class: 'btn btn-primary', type: 'submit', id: 'bead-save' }, 'Create bead');
  readonly #actions = h('div', { class: 'bead-editor-actions', id: 'bead-actions' });
  readonly #error = h('div', { class: 'form-error', role: 'alert', hidden: true, id: 'bead-error' });
  readonly #status = h('div', { class: 'form-ok', role: 'status', hidden: true, id: 'bead-status' });
  readonly #fieldErrors: Map<string, HTMLElement>;

  constructor(private readonly opts: BeadEditorOptions) {
    const rig = field('rigId', 'Rig', this.#rig);
    const title = field('title', 'Title', this.#titleInput);
    const body = field('body', 'Body', this.#body);
    const priority = field('priority', 'Priority', this.#priority, 'open beads are dispatched by priority, then oldest first');
    const labels = field('labels', 'Labels', this.#labels, 'separated by commas or spaces: lower-case letters, digits, . _ : -');
    const deps = field('dependsOn', 'Depends on', this.#depFilter, 'not dispatched until every one of these is closed');
    deps.row.appendChild(this.#depList);
    this.#fieldErrors = new Map([rig, title, body, priority, labels, deps].map((f) => [f.row.dataset.field ?? '', f.error]));
    this.#depFilter.addEventListener('input', () => this.#renderDeps());
    const form = h(
      'form',
      { class: 'bead-form', id: 'bead-form', novalidate: true },
      h('div', { class: 'form-grid' }, rig.row, priority.row),
      title.row,
      body.row,
      labels.row,
      deps.row,
      h(
        'div',
        { class: 'form-actions' },
        this.#submit,
        h('button', { class: 'btn btn-quiet', type: 'button', id: 'bead-editor-close', on: { click: () => this.close() } }, 'Close editor'),
      ),
      this.#error,
      this.#status,
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.#save();
    });
    this.#priority.value = '2';
    this.el = h(
      'section',
      { class: 'card panel bead-editor', id: 'bead-editor', hidden: true },
      h('div', { class: 'panel-head' }, this.#title, this.#state),
      this.#actions,
      form,
    );
  }

  /** The bead being edited, or null. */
  get beadId(): string | null {
    return this.#mode.kind === 'edit' ? this.#mode.beadId : null;
  }

  openNew(): void {
    this.#mode = { kind: 'create' };
    this.#fill(null);
    this.#show();
    this.#titleInput.focus();
  }

  openBead(bead: Bead): void {
    this.#mode = { kind: 'edit', beadId: bead.id };
    this.#fill(bead);
    this.#show();
  }

  close(): void {
    this.#mode = { kind: 'closed' };
    this.el.hidden = true;
    this.opts.onSelectionChange(null);
  }

  /** The town's beads and rigs changed (event stream): redraw the state, actions and dependency list, keep what is typed. */
  update(beads: readonly Bead[], rigs: readonly Rig[]): void {
    const mode = this.#mode;
    const known = mode.kind === 'edit' ? this.#current() : null;
    this.#beads = beads;
    this.#rigs = rigs;
    this.#renderRigs();
    this.#renderDeps();
    if (mode.kind === 'edit' && known && !beads.some((b) => b.id === mode.beadId)) {
      // Missing from a list newer than what we know of it: deleted elsewhere. Missing from an older
      // list (fetched before the bead was created here): keep it.
      const newer = beads.some((b) => b.updatedAt > known.updatedAt);
      if (newer) {
        this.#mode = { kind: 'create' };
        this.#fill(null);
        this.#say('The bead was deleted.');
        this.opts.onSelectionChange(null);
      } else {
        this.#beads = [...beads, known];
      }
    }
    this.#renderState();
  }

  #current(): Bead | null {
    const mode = this.#mode;
    return mode.kind === 'edit' ? (this.#beads.find((b) => b.id === mode.beadId) ?? null) : null;
  }

  #show(): void {
    this.el.hidden = false;
    this.#confirmDelete = false;
    clearFormError(this.#error, this.#fieldErrors);
    this.#status.hidden = true;
    this.#renderState();
    this.opts.onSelectionChange(this.beadId);
    this.el.scrollIntoView({ block: 'nearest' });
  }

  #fill(bead: Bead | null): void {
    this.#renderRigs();
    if (bead?.rigId) this.#rig.value = bead.rigId;
    this.#titleInput.value = bead?.title ?? '';
    this.#body.value = bead?.body ?? '';
    this.#priority.value = String(bead?.priority ?? 2);
    this.#labels.value = bead ? bead.labels.join(', ') : '';
    this.#deps = new Set(bead?.dependsOn ?? []);
    this.#depFilter.value = '';
    this.#renderDeps();
  }

  #renderRigs(): void {
    const chosen = this.#rig.value;
    replace(
      this.#rig,
      this.#rigs.length ? null : h('option', { value: '' }, 'no rigs: add one on the Rigs tab'),
      this.#rigs.map((r) => h('option', { value: r.id }, r.name)),
    );
    if (chosen && this.#rigs.some((r) => r.id === chosen)) this.#rig.value = chosen;
  }

  /** Issue beads this one may depend on (itself excluded), newest first; checked ones first. */
  #renderDeps(): void {
    const self = this.beadId;
    const filter = this.#depFilter.value.trim().toLowerCase();
    const candidates = this.#beads
      .filter((b) => b.type === 'issue' && b.id !== self)
      .filter((b) => this.#deps.has(b.id) || filter === '' || b.title.toLowerCase().includes(filter) || b.id.includes(filter))
      .sort((a, b) => Number(this.#deps.has(b.id)) - Number(this.#deps.has(a.id)) || b.createdAt - a.createdAt);
    if (!candidates.length) return replace(this.#depList, h('div', { class: 'muted small' }, filter ? 'no bead matches' : 'no other issue beads yet'));
    replace(
      this.#depList,
      candidates.map((b) => {
        const box = h('input', { type: 'checkbox', checked: this.#deps.has(b.id), data: { depId: b.id }, id: `dep-${b.id}` });
        box.addEventListener('change', () => {
          if (box.checked) this.#deps.add(b.id);
          else this.#deps.delete(b.id);
        });
        return h(
          'label',
          { class: 'dep-item', for: `dep-${b.id}` },
          box,
          h('span', { class: 'dep-title' }, b.title),
          badge(b.status.replace('_', ' '), STATUS_TONE[b.status]),
          h('span', { class: 'muted mono small' }, shortId(b.id, 12)),
        );
      }),
    );
  }

  #renderState(): void {
    const bead = this.#current();
    replace(this.#title, bead ? 'Edit bead' : 'New bead');
    this.#submit.textContent = bead ? 'Save changes' : 'Create bead';
    if (!bead) {
      replace(this.#state);
      replace(this.#actions);
      return;
    }
    const failure = lastFailureReason(bead);
    replace(
      this.#state,
      h('span', { class: 'mono muted small' }, bead.id),
      h('span', { data: { field: 'bead-status' } }, badge(bead.status.replace('_', ' '), STATUS_TONE[bead.status])),
      bead.attempts > 0 ? h('span', { class: 'muted small', data: { field: 'attempts' } }, `${bead.attempts} attempt${bead.attempts === 1 ? '' : 's'}`) : null,
      h('span', { class: 'muted small' }, 'updated ', liveTime('ago', bead.updatedAt)),
    );
    const can = beadActions(bead);
    const button = (action: string, text: string, onClick: () => void, extra = '') =>
      h('button', { class: `btn btn-small ${extra}`.trim(), type: 'button', data: { action }, on: { click: onClick } }, text);
    replace(
      this.#actions,
      failure ? h('div', { class: 'bead-failure', data: { field: 'failure-reason' } }, h('strong', null, 'Last attempt failed: '), failure) : null,
      h(
        'div',
        { class: 'row' },
        can.reopen
          ? button(
              can.reopen === 'Requeue' ? 'requeue' : 'reopen',
              can.reopen,
              () => void this.#run(() => this.opts.api.reopenBead(bead.id), can.reopen === 'Requeue' ? 'Requeued with fresh attempts.' : 'Reopened.'),
            )
          : null,
        can.close ? button('close', 'Close', () => void this.#run(() => this.opts.api.closeBead(bead.id), 'Closed.')) : null,
        can.delete && !this.#confirmDelete
          ? button(
              'delete',
              'Delete',
              () => {
                this.#confirmDelete = true;
                this.#renderState();
              },
              'btn-danger',
            )
          : null,
      ),
      this.#confirmDelete
        ? h(
            'div',
            { class: 'confirm-row', id: 'bead-delete-confirm-row' },
            h('span', null, `Delete “${bead.title}”? It is gone for good.`),
            button('delete-confirm', 'Delete bead', () => void this.#delete(bead), 'btn-danger'),
            button('delete-cancel', 'Cancel', () => {
              this.#confirmDelete = false;
              this.#renderState();
            }),
          )
        : null,
    );
  }

  #values(): BeadFormValues {
    return {
      rigId: this.#rig.value,
      title: this.#titleInput.value,
      body: this.#body.value,
      priority: this.#priority.value,
      labels: this.#labels.value,
      dependsOn: [...this.#deps],
    };
  }

  async #save(): Promise<void> {
    clearFormError(this.#error, this.#fieldErrors);
    this.#status.hidden = true;
    const bead = this.#current();
    const values = this.#values();
    if (bead) {
      const patch = updateBeadRequest(bead, values);
      if (!patch) return this.#say('Nothing to save.');
      await this.#run(() => this.opts.api.updateBead(bead.id, patch), 'Saved.');
      return;
    }
    await this.#run(async () => {
      const created = await this.opts.api.createBead(createBeadRequest(values));
      // stay on the new bead: its status and actions follow
      this.#mode = { kind: 'edit', beadId: created.id };
      this.#beads = [...this.#beads, created];
      this.opts.onSelectionChange(created.id);
      return created;
    }, 'Created.');
  }

  async #delete(bead: Bead): Promise<void> {
    await this.#run(async () => {
      await this.opts.api.deleteBead(bead.id);
      this.#mode = { kind: 'create' };
      this.#beads = this.#beads.filter((b) => b.id !== bead.id);
      this.#fill(null);
      this.opts.onSelectionChange(null);
      return null;
    }, 'Deleted.');
  }

  /** Run one call: its error (code: message, by field) under the form, or `ok` as the status; the bead's fields follow the answer. */
  async #run(call: () => Promise<Bead | null>, ok: string): Promise<void> {
    const buttons = [...this.el.querySelectorAll<HTMLButtonElement>('button')];
    for (const b of buttons) b.disabled = true;
    try {
      const bead = await call();
      if (bead) {
        this.#beads = this.#beads.map((b) => (b.id === bead.id ? bead : b));
        if (this.beadId === bead.id) this.#fill(bead);
      }
      this.#confirmDelete = false;
      this.#say(ok);
    } catch (err) {
      if (!this.opts.onError(err)) showFormError(err, this.#error, this.#fieldErrors);
    } finally {
      for (const b of buttons) b.disabled = false;
      this.#renderState();
    }
  }

  #say(text: string): void {
    this.#status.textContent = text;
    this.#status.hidden = false;
  }
}
