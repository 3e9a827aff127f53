import type { DeleteRigResponse, MergeStrategy, Rig, RigAuthKind } from '@gastown/protocol';
import type { ApiClient } from '../api/api-client';
import { ApiError } from '../api/api-error';
import { rigRequest, rigSettingsView, SECRET_ROWS, visibleRows, type RigFormRow, type RigFormValues } from '../model/rig-form';
import { badge, empty, h, liveTime, replace } from '../view/dom';
import { clearFormError, field, showFormError, type Field } from '../view/forms';

export interface RigsPanelOptions {
  townId: string;
  api(): ApiClient;
  onAdded(rig: Rig): void;
  /** The rig is gone (its open beads cancelled, its agents stopped). */
  onDeleted?(res: DeleteRigResponse): void;
  onError(err: unknown): boolean;
}

/** A rig's delete: asked first, then in flight, then the server's error (or the rig disappears). */
type DeleteState = { kind: 'confirm' } | { kind: 'pending' } | { kind: 'error'; text: string };

/** Largest key file read from the picker (a PEM private key is a few KiB). */
const MAX_KEY_FILE_BYTES = 64 * 1024;

const plain = (id: string, placeholder = '', extra: Record<string, string> = {}) =>
  h('input', { id, class: 'input mono', placeholder, autocomplete: 'off', spellcheck: 'false', ...extra });
/** Secret inputs: masked, never autofilled, never filled from the server. */
const secret = (id: string, placeholder: string) =>
  h('input', { id, class: 'input mono', type: 'password', placeholder, autocomplete: 'new-password', spellcheck: 'false' });

/**
 * The town's rigs (git repositories) and a form to add one: public, or private through a GitHub
 * App (ids + private key) or an access token, merged directly or through pull requests. Secrets
 * are write-only: sent once, cleared from the form, and only their kind and fingerprint are shown.
 */
export class RigsPanel {
  readonly el: HTMLElement;
  readonly #list: HTMLElement;
  readonly #deleting = new Map<string, DeleteState>();
  #rigs: readonly Rig[] = [];
  #lastDeleted: HTMLElement = h('div', { class: 'form-ok', role: 'status', hidden: true, id: 'rig-deleted-status' });

  constructor(private readonly opts: RigsPanelOptions) {
    this.#list = h('div', null, empty('Loading…'));
    const name = field('name', 'Name', h('input', { id: 'rig-name', class: 'input', placeholder: 'web-app', autocomplete: 'off' }));
    const gitUrl = field(
      'gitUrl',
      'Git URL',
      plain('rig-git-url', 'https://github.com/acme/web-app.git'),
      'https://, ssh://, git@host:, file:/// or an absolute path',
    );
    const branch = field('defaultBranch', 'Default branch', plain('rig-branch', '', { value: 'main' }));
    const authKind = field(
      'auth',
      'Authentication',
      h(
        'select',
        { id: 'rig-auth-kind', class: 'input' },
        h('option', { value: 'none' }, 'None (public or local)'),
        h('option', { value: 'github_app' }, 'GitHub App'),
        h('option', { value: 'token' }, 'Access token'),
      ),
      'checked against the repository before the rig is added',
    );
    const appId = field('auth.appId', 'App ID', plain('rig-app-id', '123456', { inputmode: 'numeric' }));
    const installationId = field('auth.installationId', 'Installation ID', plain('rig-installation-id', '7890123', { inputmode: 'numeric' }));
    const keyFile = h('input', { id: 'rig-private-key-file', class: 'input', type: 'file', accept: '.pem,application/x-pem-file,text/plain' });
    const keyText = h('textarea', {
      id: 'rig-private-key',
      class: 'input mono secret-text',
      rows: '3',
      placeholder: '…or paste the PEM (-----BEGIN RSA PRIVATE KEY-----)',
      autocomplete: 'off',
      spellcheck: 'false',
      'aria-label': 'Private key (pasted PEM)',
    });
    const keyStatus = h('div', { class: 'hint', role: 'status', hidden: true });
    const privateKey = field('auth.privateKey', 'Private key (.pem)', keyFile, 'the file GitHub gave for the app (or paste it); never shown again');
    keyFile.after(keyStatus, keyText);
    /** The key read from the picked file: held here, never put on the page. */
    let keyFromFile: string | null = null;
    const token = field(
      'auth.token',
      'Access token',
      secret('rig-token', 'GitHub PAT or GitLab access token'),
      'needs read and push access; never shown again',
    );
    const strategy = field(
      'mergeStrategy',
      'Merge strategy',
      h(
        'select',
        { id: 'rig-merge-strategy', class: 'input' },
        h('option', { value: 'direct' }, 'Direct (merge into the default branch)'),
        h('option', { value: 'pull_request' }, 'Pull request (a human merges)'),
      ),
    );
    const providerKind = field(
      'provider.kind',
      'Provider',
      h(
        'select',
        { id: 'rig-provider', class: 'input' },
        h('option', { value: '' }, 'From the git URL'),
        h('option', { value: 'github' }, 'GitHub'),
        h('option', { value: 'gitlab' }, 'GitLab'),
      ),
    );
    const apiBaseUrl = field(
      'provider.apiBaseUrl',
      'API base URL',
      plain('rig-api-base-url', 'https://ghe.example.com/api/v3'),
      'GitHub Enterprise or GitLab only; empty for github.com',
    );
    const webhookSecret = field(
      'provider.webhookSecret',
      'Webhook secret',
      secret('rig-webhook-secret', 'at least 16 characters'),
      'the secret of the repository webhook for pull request events; without one the town polls',
    );
    const dependent: Record<RigFormRow, Field<HTMLElement>> = { appId, installationId, privateKey, token, webhookSecret };

    const box = h('div', { class: 'form-error', role: 'alert', hidden: true });
    const all = [name, gitUrl, branch, authKind, appId, installationId, privateKey, token, strategy, providerKind, apiBaseUrl, webhookSecret];
    const slots = new Map(all.map((f) => [f.row.dataset.field ?? '', f.error]));
    slots.set('provider', providerKind.error);
    const submit = h('button', { class: 'btn btn-primary', type: 'submit' }, 'Add rig');

    const values = (): RigFormValues => ({
      name: name.input.value,
      gitUrl: gitUrl.input.value,
      defaultBranch: branch.input.value,
      authKind: authKind.input.value as RigAuthKind,
      appId: appId.input.value,
      installationId: installationId.input.value,
      privateKey: keyFromFile ?? keyText.value,
      token: token.input.value,
      mergeStrategy: strategy.input.value as MergeStrategy,
      providerKind: providerKind.input.value as RigFormValues['providerKind'],
      apiBaseUrl: apiBaseUrl.input.value,
      webhookSecret: webhookSecret.input.value,
    });
    const sync = () => {
      const shown = visibleRows(authKind.input.value as RigAuthKind, strategy.input.value as MergeStrategy);
      for (const [row, f] of Object.entries(dependent) as [RigFormRow, Field<HTMLElement>][]) f.row.hidden = !shown.has(row);
    };
    const clearSecrets = () => {
      keyFromFile = null;
      keyStatus.hidden = true;
      keyText.value = '';
      for (const row of SECRET_ROWS) {
        const input = dependent[row].input;
        if (input instanceof HTMLInputElement || input instanceof HTMLTextAreaElement) input.value = '';
      }
    };
    const readKeyFile = async () => {
      keyFromFile = null;
      keyStatus.hidden = true;
      const file = keyFile.files?.[0];
      if (!file) return;
      if (file.size > MAX_KEY_FILE_BYTES) {
        privateKey.error.textContent = 'this file is too large to be a private key';
        privateKey.error.hidden = false;
        keyFile.value = '';
        return;
      }
      keyFromFile = await file.text();
      keyText.value = '';
      keyStatus.textContent = `key read from ${file.name} (${file.size} bytes)`;
      keyStatus.hidden = false;
      privateKey.error.hidden = true;
    };

    const onSubmit = async (event: SubmitEvent) => {
      event.preventDefault();
      submit.disabled = true;
      clearFormError(box, slots);
      try {
        const rig = await this.opts.api().addRig(this.opts.townId, rigRequest(values()));
        name.input.value = '';
        gitUrl.input.value = '';
        clearSecrets();
        this.opts.onAdded(rig);
      } catch (err) {
        if (this.opts.onError(err)) return;
        showFormError(err, box, slots);
        // The git host refused the credentials: say so next to them too.
        if (err instanceof ApiError && err.code === 'git_auth_failed') {
          authKind.error.textContent = err.message;
          authKind.error.hidden = false;
        }
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
        { class: 'form-grid', id: 'add-rig', on: { submit: (e) => void onSubmit(e), change: sync } },
        name.row,
        gitUrl.row,
        branch.row,
        authKind.row,
        appId.row,
        installationId.row,
        privateKey.row,
        token.row,
        strategy.row,
        providerKind.row,
        apiBaseUrl.row,
        webhookSecret.row,
        h('div', { class: 'form-actions' }, submit),
        box,
      ),
    );
    keyFile.addEventListener('change', () => void readKeyFile());
    // Pasting a key replaces one read from a file.
    keyText.addEventListener('input', () => {
      if (keyText.value === '') return;
      keyFromFile = null;
      keyFile.value = '';
      keyStatus.hidden = true;
    });
    sync();
  }

  async #delete(rig: Rig): Promise<void> {
    this.#deleting.set(rig.id, { kind: 'pending' });
    this.render(this.#rigs);
    try {
      const res = await this.opts.api().deleteRig(this.opts.townId, rig.id);
      this.#deleting.delete(rig.id);
      this.#rigs = this.#rigs.filter((r) => r.id !== rig.id);
      const cancelled = res.cancelledBeadIds.length;
      const stopped = res.stoppedAgentIds.length;
      this.#lastDeleted.textContent = `Deleted rig ${rig.name}: ${cancelled} bead${cancelled === 1 ? '' : 's'} cancelled, ${stopped} agent${stopped === 1 ? '' : 's'} stopped, workspaces ${res.workspaces.replace('_', ' ')}.`;
      this.#lastDeleted.hidden = false;
      this.opts.onDeleted?.(res);
    } catch (err) {
      if (this.opts.onError(err)) return;
      this.#deleting.set(rig.id, { kind: 'error', text: err instanceof ApiError ? `${err.code}: ${err.message}` : 'the delete failed' });
    }
    this.render(this.#rigs);
  }

  #deleteControls(r: Rig): HTMLElement {
    const state = this.#deleting.get(r.id);
    const set = (next: DeleteState | null) => {
      if (next) this.#deleting.set(r.id, next);
      else this.#deleting.delete(r.id);
      this.render(this.#rigs);
    };
    if (state?.kind === 'confirm' || state?.kind === 'pending')
      return h(
        'div',
        { class: 'confirm-row', data: { confirmFor: r.id } },
        h('span', null, `Delete ${r.name}? Its open beads are cancelled, its agents stopped and its workspaces removed.`),
        h(
          'button',
          {
            class: 'btn btn-small btn-danger',
            type: 'button',
            disabled: state.kind === 'pending',
            data: { action: 'delete-rig-confirm' },
            on: { click: () => void this.#delete(r) },
          },
          state.kind === 'pending' ? 'Deleting…' : 'Delete rig',
        ),
        h(
          'button',
          { class: 'btn btn-small', type: 'button', disabled: state.kind === 'pending', data: { action: 'delete-rig-cancel' }, on: { click: () => set(null) } },
          'Cancel',
        ),
      );
    return h(
      'div',
      { class: 'rig-delete' },
      h(
        'button',
        { class: 'btn btn-small btn-danger', type: 'button', data: { action: 'delete-rig' }, on: { click: () => set({ kind: 'confirm' }) } },
        'Delete',
      ),
      state?.kind === 'error' ? h('div', { class: 'form-error', role: 'alert' }, state.text) : null,
    );
  }

  render(rigs: readonly Rig[]): void {
    this.#rigs = rigs;
    if (!rigs.length) return replace(this.#list, this.#lastDeleted, empty('No rigs yet. Add a repository so the mayor can sling work into it.'));
    replace(
      this.#list,
      this.#lastDeleted,
      h(
        'ul',
        { class: 'list' },
        rigs.map((r) => {
          const view = rigSettingsView(r);
          return h(
            'li',
            { class: 'list-item', data: { rigId: r.id } },
            h(
              'div',
              { class: 'list-item-head' },
              h('strong', null, r.name),
              h('span', { class: 'muted mono small' }, r.id),
              h('span', { class: 'list-item-actions' }, this.#deleteControls(r)),
            ),
            h('div', { class: 'mono small' }, r.gitUrl, h('span', { class: 'muted' }, ` · ${r.defaultBranch} · added `), liveTime('ago', r.createdAt)),
            h(
              'div',
              { class: 'rig-settings small', data: { authKind: r.auth?.kind ?? 'none' } },
              badge(view.auth, view.fingerprint ? 'info' : 'muted'),
              view.fingerprint ? h('span', { class: 'mono muted', title: 'fingerprint of the stored secret' }, view.fingerprint) : null,
              badge(view.strategy, 'muted'),
              view.webhook ? badge(view.webhook.text, view.webhook.set ? 'ok' : 'warn') : null,
            ),
          );
        }),
      ),
    );
  }
}
