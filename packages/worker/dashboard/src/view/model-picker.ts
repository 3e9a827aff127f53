import { h } from './dom';
import { field, type Field } from './forms';

/** Where the choices come from: the provider's own list (a select), or only suggestions (free text). */
export interface ModelChoices {
  source: 'provider' | 'none';
  ids: readonly string[];
}

/**
 * A role's model in the settings form: a <select> of the provider's models when the provider
 * lists them, else a free-text input with suggestions (a datalist). The control keeps its id
 * (`model-<role>`) and `data-testid` when it switches, and keeps its value. An empty value is
 * "the default" for a role (the town's default model), "not set" for the default itself.
 */
export class ModelPicker {
  readonly field: Field<HTMLElement>;
  #control: HTMLInputElement | HTMLSelectElement;
  #choices: ModelChoices = { source: 'none', ids: [] };
  #fallback = '';

  constructor(
    readonly role: string,
    label: string,
    private readonly datalistId: string,
    hint?: string,
  ) {
    this.#control = this.#input('');
    this.field = field(`models.${role}`, label, this.#control, hint);
  }

  get value(): string {
    return this.#control.value.trim();
  }

  set value(v: string) {
    this.#render(v);
  }

  /**
   * The provider's list (or none), and the model an empty value falls back to (shown as the empty
   * choice). The control is rebuilt only when the list changed, so typing elsewhere keeps focus.
   */
  setChoices(choices: ModelChoices, fallback: string): void {
    const same =
      choices.source === this.#choices.source && choices.ids.length === this.#choices.ids.length && choices.ids.every((id, i) => id === this.#choices.ids[i]);
    this.#choices = choices;
    this.#fallback = fallback;
    if (!same) return this.#render(this.#control.value.trim());
    if (this.#control instanceof HTMLSelectElement) {
      const first = this.#control.options[0];
      if (first) first.textContent = this.#emptyLabel();
    } else {
      this.#control.placeholder = this.#emptyLabel();
    }
  }

  #render(value: string): void {
    const next = this.#choices.source === 'provider' ? this.#select(value) : this.#input(value);
    this.#control.replaceWith(next);
    this.#control = next;
    this.field.input = next;
  }

  #emptyLabel(): string {
    if (this.role === 'default') return 'choose a model';
    return this.#fallback ? `default (${this.#fallback})` : 'default';
  }

  #input(value: string): HTMLInputElement {
    return h('input', {
      id: `model-${this.role}`,
      class: 'input mono',
      list: this.datalistId,
      placeholder: this.#emptyLabel(),
      autocomplete: 'off',
      spellcheck: 'false',
      value,
      data: { testid: `model-${this.role}`, role: this.role },
    });
  }

  #select(value: string): HTMLSelectElement {
    const ids = [...this.#choices.ids];
    // A model the town already uses stays choosable even when the provider does not list it.
    if (value !== '' && !ids.includes(value)) ids.unshift(value);
    const el = h(
      'select',
      { id: `model-${this.role}`, class: 'input mono', data: { testid: `model-${this.role}`, role: this.role } },
      h('option', { value: '' }, this.#emptyLabel()),
      ids.map((id) => h('option', { value: id }, this.#choices.ids.includes(id) ? id : `${id} (not listed by the provider)`)),
    );
    el.value = value;
    return el;
  }
}
