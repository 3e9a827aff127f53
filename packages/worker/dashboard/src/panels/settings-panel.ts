import type { Town, UpdateTownConfigRequest } from '@gastown/protocol';
import type { ApiClient } from '../api/api-client';
import { configPatch } from '../model/config-patch';
import { describeSeconds } from '../model/format';
import { empty, h, replace } from '../view/dom';
import { clearFormError, field, showFormError } from '../view/forms';

export interface SettingsPanelOptions {
  townId: string;
  api(): ApiClient;
  onSaved(town: Town): void;
  /** Returns true when the error was handled (e.g. signed out). */
  onError(err: unknown): boolean;
}

/**
 * Town settings: model provider, runtime, sleepAfter, token TTL, and env vars (write-only: after
 * saving only the names are shown). The server's validation messages appear next to the fields.
 */
export class SettingsPanel {
  readonly el: HTMLElement;
  #town: Town | null = null;
  #dirty = false;
  readonly #f = {
    providerEnabled: h('input', { id: 'provider-enabled', type: 'checkbox' }),
    baseUrl: field(
      'provider.baseUrl',
      'Base URL',
      h('input', { id: 'provider-base-url', class: 'input mono', placeholder: 'https://api.example.com/v1', autocomplete: 'off' }),
    ),
    model: field('provider.model', 'Model', h('input', { id: 'provider-model', class: 'input mono', placeholder: 'gpt-4.1', autocomplete: 'off' })),
    apiKeyEnvVar: field(
      'provider.apiKeyEnvVar',
      'API key env var',
      h('input', { id: 'provider-key-var', class: 'input mono', placeholder: 'OPENAI_API_KEY', autocomplete: 'off' }),
      'the name of a town env var below',
    ),
    runtime: field(
      'runtime',
      'Agent runtime',
      h('select', { id: 'runtime', class: 'input' }, h('option', { value: 'opencode' }, 'opencode'), h('option', { value: 'kilo' }, 'kilo')),
    ),
    sleepAfter: field(
      'sleepAfterSeconds',
      'Sleep after (seconds)',
      h('input', { id: 'sleep-after', class: 'input', inputmode: 'numeric' }),
      'the container sleeps after this long without inbound requests',
    ),
    tokenTtl: field(
      'agentTokenTtlSeconds',
      'Agent token TTL (seconds)',
      h('input', { id: 'token-ttl', class: 'input', inputmode: 'numeric' }),
      'lifetime of each agent access token; brokers refresh at half-life',
    ),
  };
  readonly #configBox = h('div', { class: 'form-error', role: 'alert', hidden: true, id: 'settings-error' });
  readonly #configStatus = h('div', { class: 'form-ok', role: 'status', hidden: true, id: 'settings-status' });
  readonly #envList = h('div', { id: 'env-list' });
  readonly #envName = field('envVars', 'Name', h('input', { id: 'env-name', class: 'input mono', placeholder: 'OPENAI_API_KEY', autocomplete: 'off' }));
  readonly #envValue = h('input', {
    id: 'env-value',
    class: 'input mono',
    type: 'password',
    placeholder: 'value (hidden after saving)',
    autocomplete: 'new-password',
  });
  readonly #envBox = h('div', { class: 'form-error', role: 'alert', hidden: true, id: 'env-error' });
  readonly #envStatus = h('div', { class: 'form-ok', role: 'status', hidden: true });

  constructor(private readonly opts: SettingsPanelOptions) {
    const f = this.#f;
    const configSlots = new Map([f.baseUrl, f.model, f.apiKeyEnvVar, f.runtime, f.sleepAfter, f.tokenTtl].map((x) => [x.row.dataset.field ?? '', x.error]));
    configSlots.set('provider', f.baseUrl.error);
    const configForm = h(
      'form',
      {
        class: 'settings-form',
        id: 'settings-form',
        on: { submit: (e) => void this.#saveConfig(e, configSlots), input: () => (this.#dirty = true), change: () => this.#syncProvider() },
      },
      h('h3', null, 'Model provider'),
      h('label', { class: 'check' }, f.providerEnabled, ' Use an OpenAI-compatible provider'),
      h('div', { class: 'form-grid' }, f.baseUrl.row, f.model.row, f.apiKeyEnvVar.row),
      h('h3', null, 'Agents'),
      h('div', { class: 'form-grid' }, f.runtime.row, f.sleepAfter.row, f.tokenTtl.row),
      h('div', { class: 'form-actions' }, h('button', { class: 'btn btn-primary', type: 'submit' }, 'Save settings')),
      this.#configBox,
      this.#configStatus,
    );
    const envSlots = new Map([['envVars', this.#envName.error]]);
    const envForm = h(
      'form',
      { class: 'settings-form', id: 'env-form', on: { submit: (e) => void this.#setEnv(e, envSlots) } },
      h('h3', null, 'Environment variables'),
      h('p', { class: 'muted small' }, 'Handed to the town’s container (provider keys and the like). Values are write-only: only names are shown once saved.'),
      this.#envList,
      h(
        'div',
        { class: 'form-grid' },
        this.#envName.row,
        h('div', { class: 'field' }, h('label', { class: 'label', for: 'env-value' }, 'Value'), this.#envValue),
      ),
      h('div', { class: 'form-actions' }, h('button', { class: 'btn', type: 'submit' }, 'Set variable')),
      this.#envBox,
      this.#envStatus,
    );
    this.el = h('section', { class: 'card panel', id: 'settings-panel' }, h('div', { class: 'panel-head' }, h('h2', null, 'Settings')), configForm, envForm);
  }

  render(town: Town): void {
    this.#town = town;
    this.#renderEnv(town);
    if (this.#dirty) return; // never overwrite what the user is typing
    const c = town.config;
    const f = this.#f;
    f.providerEnabled.checked = c.provider !== null;
    f.baseUrl.input.value = c.provider?.baseUrl ?? '';
    f.model.input.value = c.provider?.model ?? '';
    f.apiKeyEnvVar.input.value = c.provider?.apiKeyEnvVar ?? '';
    f.runtime.input.value = c.runtime;
    f.sleepAfter.input.value = String(c.sleepAfterSeconds);
    f.tokenTtl.input.value = String(c.agentTokenTtlSeconds);
    this.#syncProvider();
  }

  #syncProvider(): void {
    const on = this.#f.providerEnabled.checked;
    for (const x of [this.#f.baseUrl, this.#f.model, this.#f.apiKeyEnvVar]) x.input.disabled = !on;
  }

  #renderEnv(town: Town): void {
    const names = town.config.envVarNames;
    if (!names.length) return replace(this.#envList, empty('No env vars set.'));
    replace(
      this.#envList,
      h(
        'ul',
        { class: 'env-names' },
        names.map((name) =>
          h(
            'li',
            { data: { envName: name } },
            h('span', { class: 'mono' }, name),
            h('span', { class: 'muted mono' }, '••••••••'),
            h(
              'button',
              { class: 'btn btn-small btn-danger', type: 'button', data: { action: 'delete-env' }, on: { click: () => void this.#deleteEnv(name) } },
              'Delete',
            ),
          ),
        ),
      ),
    );
  }

  async #saveConfig(event: SubmitEvent, slots: Map<string, HTMLElement>): Promise<void> {
    event.preventDefault();
    if (!this.#town) return;
    const f = this.#f;
    clearFormError(this.#configBox, slots);
    this.#configStatus.hidden = true;
    const patch = configPatch(this.#town.config, {
      providerEnabled: f.providerEnabled.checked,
      baseUrl: f.baseUrl.input.value,
      model: f.model.input.value,
      apiKeyEnvVar: f.apiKeyEnvVar.input.value,
      runtime: f.runtime.input.value,
      sleepAfter: f.sleepAfter.input.value,
      tokenTtl: f.tokenTtl.input.value,
    });
    if (Object.keys(patch).length === 0) return this.#ok(this.#configStatus, 'Nothing changed.');
    try {
      const town = await this.opts.api().updateConfig(this.opts.townId, patch as UpdateTownConfigRequest);
      this.#dirty = false;
      this.render(town);
      this.opts.onSaved(town);
      this.#ok(this.#configStatus, `Saved: ${Object.keys(patch).join(', ')}. Token TTL ${describeSeconds(town.config.agentTokenTtlSeconds)}.`);
    } catch (err) {
      if (!this.opts.onError(err)) showFormError(err, this.#configBox, slots);
    }
  }

  async #setEnv(event: SubmitEvent, slots: Map<string, HTMLElement>): Promise<void> {
    event.preventDefault();
    clearFormError(this.#envBox, slots);
    this.#envStatus.hidden = true;
    const name = this.#envName.input.value.trim();
    await this.#patchEnv({ [name]: this.#envValue.value }, slots, `${name} set.`);
  }

  async #deleteEnv(name: string): Promise<void> {
    clearFormError(this.#envBox, new Map([['envVars', this.#envName.error]]));
    await this.#patchEnv({ [name]: null }, new Map([['envVars', this.#envName.error]]), `${name} deleted.`);
  }

  async #patchEnv(envVars: Record<string, string | null>, slots: Map<string, HTMLElement>, done: string): Promise<void> {
    try {
      const town = await this.opts.api().updateConfig(this.opts.townId, { envVars });
      this.#envName.input.value = '';
      this.#envValue.value = '';
      this.#town = town;
      this.#renderEnv(town);
      this.opts.onSaved(town);
      this.#ok(this.#envStatus, done);
    } catch (err) {
      if (!this.opts.onError(err)) showFormError(err, this.#envBox, slots);
    }
  }

  #ok(el: HTMLElement, text: string): void {
    el.textContent = text;
    el.hidden = false;
  }
}
