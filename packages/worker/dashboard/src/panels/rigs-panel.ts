import type { Rig } from '@gastown/protocol';
import type { ApiClient } from '../api/api-client';
import { empty, h, liveTime, replace } from '../view/dom';
import { clearFormError, field, showFormError } from '../view/forms';

export interface RigsPanelOptions {
  townId: string;
  api(): ApiClient;
  onAdded(rig: Rig): void;
  onError(err: unknown): boolean;
}

/** The town's rigs (git repositories) and a form to add one. */
export class RigsPanel {
  readonly el: HTMLElement;
  readonly #list: HTMLElement;

  constructor(private readonly opts: RigsPanelOptions) {
    this.#list = h('div', null, empty('Loading…'));
    const name = field('name', 'Name', h('input', { id: 'rig-name', class: 'input', placeholder: 'web-app', autocomplete: 'off' }));
    const gitUrl = field(
      'gitUrl',
      'Git URL',
      h('input', { id: 'rig-git-url', class: 'input mono', placeholder: 'https://github.com/acme/web-app.git', autocomplete: 'off' }),
      'https://, ssh://, git@host:, file:/// or an absolute path',
    );
    const branch = field('defaultBranch', 'Default branch', h('input', { id: 'rig-branch', class: 'input mono', value: 'main', autocomplete: 'off' }));
    const box = h('div', { class: 'form-error', role: 'alert', hidden: true });
    const slots = new Map([name, gitUrl, branch].map((f) => [f.row.dataset.field ?? '', f.error]));
    const submit = h('button', { class: 'btn btn-primary', type: 'submit' }, 'Add rig');

    const onSubmit = async (event: SubmitEvent) => {
      event.preventDefault();
      submit.disabled = true;
      clearFormError(box, slots);
      try {
        const rig = await this.opts
          .api()
          .addRig(this.opts.townId, { name: name.input.value.trim(), gitUrl: gitUrl.input.value.trim(), defaultBranch: branch.input.value.trim() || 'main' });
        name.input.value = '';
        gitUrl.input.value = '';
        this.opts.onAdded(rig);
      } catch (err) {
        if (!this.opts.onError(err)) showFormError(err, box, slots);
      } finally {
        submit.disabled = false;
      }
    };

    this.el = h(
      'section',
      { class: 'card panel', id: 'rigs-panel' },
      h('div', { class: 'panel-head' }, h('h2', null, 'Rigs'), h('span', { class: 'muted small' }, 'git repositories the town works on')),
      this.#list,
      h(
        'form',
        { class: 'form-grid', id: 'add-rig', on: { submit: (e) => void onSubmit(e) } },
        name.row,
        gitUrl.row,
        branch.row,
        h('div', { class: 'form-actions' }, submit),
        box,
      ),
    );
  }

  render(rigs: readonly Rig[]): void {
    if (!rigs.length) return replace(this.#list, empty('No rigs yet. Add a repository so the mayor can sling work into it.'));
    replace(
      this.#list,
      h(
        'ul',
        { class: 'list' },
        rigs.map((r) =>
          h(
            'li',
            { class: 'list-item', data: { rigId: r.id } },
            h('div', { class: 'list-item-head' }, h('strong', null, r.name), h('span', { class: 'muted mono small' }, r.id)),
            h('div', { class: 'mono small' }, r.gitUrl, h('span', { class: 'muted' }, ` · ${r.defaultBranch} · added `), liveTime('ago', r.createdAt)),
          ),
        ),
      ),
    );
  }
}
