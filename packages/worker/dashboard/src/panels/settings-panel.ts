import type { Town, UpdateTownConfigRequest } from '@gastown/protocol';
import { DEFAULT_MODEL_PRICES } from '@gastown/protocol/model-prices';
import { PROVIDER_KIND_INFO, PROVIDER_KINDS, type ProviderKind } from '@gastown/protocol/provider-kinds';
import type { ApiClient } from '../api/api-client';
import { ApiError } from '../api/api-error';
import { configPatch, isProviderKind, MODEL_FIELDS, providerFormValues, townModels, type ModelField } from '../model/config-patch';
import { describeSeconds } from '../model/format';
import { empty, h, replace } from '../view/dom';
import { clearFormError, field, showFormError } from '../view/forms';
import { ContainerRestartSection } from './container-restart-section';
import { ModelPicker, type ModelChoices } from '../view/model-picker';

const KIND_LABELS: Record<ProviderKind, string> = {
  'openai-compatible': 'OpenAI-compatible (any base URL)',
  anthropic: 'Anthropic',
  openai: 'OpenAI',
  openrouter: 'OpenRouter',
  kilo: 'Kilo Gateway',
};

const MODEL_LABELS: Record<ModelField, [string, string]> = {
  default: ['Default model', 'every role without its own model uses it'],
  mayor: ['Mayor', 'the chat with you, planning and slinging'],
  polecat: ['Polecats', 'the workers (a rig or a bead may pick another)'],
  refinery: ['Refinery', 'reviews and merges'],
  small: ['Small model', 'titles and summaries'],
};

const MODELS_DATALIST = 'models-known';

export interface SettingsPanelOptions {
  townId: string;
  api(): ApiClient;
  onSaved(town: Town): void;
  /** Returns true when the error was handled (e.g. signed out). */
  onError(err: unknown): boolean;
}

/**
 * Town settings: the model provider (kind, base URL, key env var name), the model of each role
 * (a select of the provider's models when it lists them, else free text with suggestions), the
 * spend cap, runtime, sleepAfter, token TTL — all saved with one PATCH — and env vars (write-only:
 * after saving only the names are shown), and the container's restart (container-restart-section.ts).
 * The server's validation messages appear next to the fields.
 */
export class SettingsPanel {
  readonly el: HTMLElement;
  #town: Town | null = null;
  #dirty = false;
  readonly #f = {
    providerKind: field(
      'provider.kind',
      'Provider',
      h(
        'select',
        { id: 'provider-kind', class: 'input', data: { testid: 'provider-kind' } },
        h('option', { value: '' }, 'None (no model provider)'),
        PROVIDER_KINDS.map((k) => h('option', { value: k }, KIND_LABELS[k])),
      ),
    ),
    baseUrl: field(
      'provider.baseUrl',
      'Base URL',
      h('input', {
        id: 'provider-base-url',
        class: 'input mono',
        placeholder: 'https://api.example.com/v1',
        autocomplete: 'off',
        data: { testid: 'provider-base-url' },
      }),
      'empty: the provider’s default',
    ),
    apiKeyEnvVar: field(
      'provider.apiKeyEnvVar',
      'API key env var',
      h('input', { id: 'provider-key-var', class: 'input mono', placeholder: 'OPENAI_API_KEY', autocomplete: 'off', data: { testid: 'provider-key-var' } }),
      'the NAME of a town env var below (never the key)',
    ),
    allowedModels: field(
      'models.allowed',
      'Also allowed',
      h('input', { id: 'models-allowed', class: 'input mono', placeholder: 'model-a, model-b', autocomplete: 'off', data: { testid: 'models-allowed' } }),
      'extra models the mayor may pick for a bead',
    ),
    spendCapLimit: field(
      'spendCap.limitUsd',
      'Spend cap (USD)',
      h('input', {
        id: 'spend-cap-limit',
        class: 'input',
        inputmode: 'decimal',
        placeholder: 'no cap',
        autocomplete: 'off',
        data: { testid: 'spend-cap-limit' },
      }),
      'at 80 % an escalation; at 100 % no new work starts. Empty: no cap',
    ),
    spendCapPeriod: field(
      'spendCap.period',
      'Per',
      h(
        'select',
        { id: 'spend-cap-period', class: 'input', data: { testid: 'spend-cap-period' } },
        h('option', { value: 'day' }, 'day (UTC)'),
        h('option', { value: 'month' }, 'month (UTC)'),
      ),
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
  readonly #models: Record<ModelField, ModelPicker> = Object.fromEntries(
    MODEL_FIELDS.map((role) => [role, new ModelPicker(role, MODEL_LABELS[role][0], MODELS_DATALIST, MODEL_LABELS[role][1])]),
  ) as Record<ModelField, ModelPicker>;
  readonly #datalist = h('datalist', { id: MODELS_DATALIST });
  readonly #modelsSource = h('p', { class: 'muted small', id: 'models-source' });
  /** The provider (and env vars) the model list was fetched for; a change fetches it again. */
  #modelsFor: string | null = null;
  #choices: ModelChoices = { source: 'none', ids: [] };
  /** The kind the base URL and key var fields were last showing defaults for. */
  #shownKind = '';
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
    const m = this.#models;
    const configSlots = new Map(
      [
        f.providerKind,
        f.baseUrl,
        f.apiKeyEnvVar,
        ...MODEL_FIELDS.map((r) => m[r].field),
        f.allowedModels,
        f.spendCapLimit,
        f.spendCapPeriod,
        f.runtime,
        f.sleepAfter,
        f.tokenTtl,
      ].map((x) => [x.row.dataset.field ?? '', x.error]),
    );
    configSlots.set('provider', f.providerKind.error);
    configSlots.set('models', m.default.field.error);
    configSlots.set('spendCap', f.spendCapLimit.error);
    const configForm = h(
      'form',
      {
        class: 'settings-form',
        id: 'settings-form',
        on: {
          submit: (e) => void this.#saveConfig(e, configSlots),
          input: () => {
            this.#dirty = true;
            this.#syncModelFallbacks();
          },
          change: () => {
            this.#dirty = true;
            this.#syncProvider();
            this.#syncModelFallbacks();
          },
        },
      },
      h('h3', null, 'Model provider'),
      h('div', { class: 'form-grid' }, f.providerKind.row, f.baseUrl.row, f.apiKeyEnvVar.row),
      h('h3', null, 'Models'),
      this.#modelsSource,
      h(
        'div',
        { class: 'form-grid' },
        MODEL_FIELDS.map((r) => m[r].field.row),
        f.allowedModels.row,
      ),
      this.#datalist,
      h('h3', null, 'Spend cap'),
      h('div', { class: 'form-grid' }, f.spendCapLimit.row, f.spendCapPeriod.row),
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
    const restart = new ContainerRestartSection({
      restart: () => this.opts.api().restartContainer(this.opts.townId),
      onError: (err) => this.opts.onError(err),
    });
    this.el = h(
      'section',
      { class: 'card panel', id: 'settings-panel' },
      h('div', { class: 'panel-head' }, h('h2', null, 'Settings')),
      configForm,
      envForm,
      restart.el,
    );
  }

  render(town: Town): void {
    this.#town = town;
    this.#renderEnv(town);
    void this.#loadModels(town);
    if (this.#dirty) return; // never overwrite what the user is typing
    const c = town.config;
    const f = this.#f;
    const provider = providerFormValues(c.provider);
    f.providerKind.input.value = provider.providerKind;
    f.baseUrl.input.value = provider.baseUrl;
    f.apiKeyEnvVar.input.value = provider.apiKeyEnvVar;
    this.#shownKind = provider.providerKind;
    const models = townModels(c);
    for (const role of MODEL_FIELDS) this.#models[role].value = models?.[role] ?? '';
    f.allowedModels.input.value = (models?.allowed ?? []).join(', ');
    f.spendCapLimit.input.value = c.spendCap ? String(c.spendCap.limitUsd) : '';
    f.spendCapPeriod.input.value = c.spendCap?.period ?? 'day';
    f.runtime.input.value = c.runtime;
    f.sleepAfter.input.value = String(c.sleepAfterSeconds);
    f.tokenTtl.input.value = String(c.agentTokenTtlSeconds);
    this.#syncProvider();
    this.#syncModelFallbacks();
  }

  /** The base URL and key var show the kind's defaults as placeholders; a default still in a field follows a kind change. */
  #syncProvider(): void {
    const f = this.#f;
    const kind = f.providerKind.input.value;
    const previous = isProviderKind(this.#shownKind) ? PROVIDER_KIND_INFO[this.#shownKind] : null;
    if (previous && kind !== this.#shownKind) {
      if (f.baseUrl.input.value.trim() === previous.defaultBaseUrl) f.baseUrl.input.value = '';
      if (f.apiKeyEnvVar.input.value.trim() === previous.defaultApiKeyEnvVar) f.apiKeyEnvVar.input.value = '';
    }
    this.#shownKind = kind;
    const info = isProviderKind(kind) ? PROVIDER_KIND_INFO[kind] : null;
    f.baseUrl.input.placeholder = info?.defaultBaseUrl ?? 'https://api.example.com/v1';
    f.apiKeyEnvVar.input.placeholder = info ? (info.defaultApiKeyEnvVar ?? 'none (no key)') : 'OPENAI_API_KEY';
    for (const x of [f.baseUrl, f.apiKeyEnvVar]) x.input.disabled = info === null;
  }

  /** Each role's "default (…)" choice names the default model as typed. */
  #syncModelFallbacks(): void {
    const fallback = this.#models.default.value;
    for (const role of MODEL_FIELDS) this.#models[role].setChoices(this.#choices, fallback);
  }

  /** The provider's model list for the selects (fetched again when the provider or the env vars change). */
  async #loadModels(town: Town): Promise<void> {
    const p = town.config.provider;
    const key = p ? JSON.stringify([p.kind, p.baseUrl, p.apiKeyEnvVar, town.config.envVarNames]) : 'none';
    if (key === this.#modelsFor) return;
    this.#modelsFor = key;
    let choices: ModelChoices = { source: 'none', ids: [] };
    if (p) {
      try {
        const list = await this.opts.api().listModels(this.opts.townId);
        if (list.source === 'provider' && list.models.length > 0) choices = { source: 'provider', ids: list.models.map((m) => m.id) };
      } catch (err) {
        if (err instanceof ApiError && err.isAuthFailure && this.opts.onError(err)) return;
        this.#modelsFor = null; // try again on the next render
      }
    }
    if (key !== this.#modelsFor && this.#modelsFor !== null) return; // a newer provider is being asked
    this.#choices = choices;
    this.#renderKnownModels(town);
    replace(
      this.#modelsSource,
      choices.source === 'provider'
        ? `${choices.ids.length} model${choices.ids.length === 1 ? '' : 's'} listed by the provider.`
        : p
          ? 'The provider does not list its models here: type a model id (suggestions are common ones).'
          : 'Choose a provider first; model ids can be typed already.',
    );
    this.#modelsSource.dataset.source = choices.source;
    this.#syncModelFallbacks();
  }

  /** Suggestions for the free-text inputs: the provider's list, the town's models and the models with a list price. */
  #renderKnownModels(town: Town): void {
    const models = townModels(town.config);
    const known = new Set<string>([
      ...this.#choices.ids,
      ...(models ? [models.default, models.mayor, models.polecat, models.refinery, models.small, ...models.allowed].filter((m): m is string => !!m) : []),
      ...Object.keys(DEFAULT_MODEL_PRICES),
    ]);
    replace(
      this.#datalist,
      [...known].map((id) => h('option', { value: id })),
    );
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
      providerKind: f.providerKind.input.value,
      baseUrl: f.baseUrl.input.value,
      apiKeyEnvVar: f.apiKeyEnvVar.input.value,
      models: Object.fromEntries(MODEL_FIELDS.map((r) => [r, this.#models[r].value])) as Record<ModelField, string>,
      allowedModels: f.allowedModels.input.value,
      spendCapLimit: f.spendCapLimit.input.value,
      spendCapPeriod: f.spendCapPeriod.input.value,
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
