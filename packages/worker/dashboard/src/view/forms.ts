import { ApiError, fieldErrors } from '../api/api-error';
import { h } from './dom';

/** A labelled form field with a slot for the server's validation message about it. */
export interface Field<E extends HTMLElement> {
  row: HTMLElement;
  input: E;
  error: HTMLElement;
}

export function field<E extends HTMLElement>(path: string, label: string, input: E, hint?: string): Field<E> {
  const error = h('div', { class: 'field-error', role: 'alert', hidden: true, data: { errorFor: path } });
  const row = h(
    'div',
    { class: 'field', data: { field: path } },
    h('label', { class: 'label', for: input.id }, label),
    input,
    hint ? h('div', { class: 'hint' }, hint) : null,
    error,
  );
  return { row, input, error };
}

/**
 * Show an API error on a form: a `validation_failed` message is split by field path and each part
 * shown next to its field (by longest matching prefix); the full code and message always appear in
 * the form's error box too.
 */
export function showFormError(err: unknown, box: HTMLElement, fields: ReadonlyMap<string, HTMLElement>): void {
  for (const slot of fields.values()) slot.hidden = true;
  if (!(err instanceof ApiError)) {
    box.textContent = 'something went wrong';
    box.hidden = false;
    return;
  }
  box.textContent = `${err.code}: ${err.message}`;
  box.hidden = false;
  if (err.code !== 'validation_failed') return;
  for (const [path, message] of fieldErrors(err.message)) {
    const key = [...fields.keys()].filter((k) => path === k || path.startsWith(`${k}.`)).sort((a, b) => b.length - a.length)[0];
    const slot = key ? fields.get(key) : undefined;
    if (!slot) continue;
    slot.textContent = slot.hidden ? message : `${slot.textContent}; ${message}`;
    slot.hidden = false;
  }
}

export function clearFormError(box: HTMLElement, fields: ReadonlyMap<string, HTMLElement>): void {
  box.hidden = true;
  for (const slot of fields.values()) slot.hidden = true;
}
