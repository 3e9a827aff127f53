import type { Town } from '@gastown/protocol';
import { ApiError } from '../api/api-error';
import type { AppContext, Page } from '../app-context';
import { formatAgo } from '../model/format';
import { empty, h, replace } from '../view/dom';
import { topbar } from '../view/topbar';
import { authFailureText } from '../model/auth-message';

/** The user's towns, and a form to create one. */
export function townsPage(ctx: AppContext): Page {
  const list = h('div', { class: 'town-grid', id: 'town-list' }, h('div', { class: 'empty' }, 'Loading…'));
  const name = h('input', { id: 'town-name', class: 'input', name: 'name', placeholder: 'my-town', autocomplete: 'off', required: true });
  const error = h('div', { class: 'form-error', role: 'alert', hidden: true });
  const submit = h('button', { class: 'btn btn-primary', type: 'submit' }, 'Create town');
  let alive = true;

  function fail(err: unknown, target: HTMLElement): void {
    if (err instanceof ApiError && err.isAuthFailure) return ctx.signOut(authFailureText(err.code, err.message));
    target.textContent = err instanceof ApiError ? `${err.code}: ${err.message}` : 'something went wrong';
    target.hidden = false;
  }

  function card(town: Town): HTMLElement {
    const provider = town.config.provider ? town.config.provider.model : 'no model provider';
    return h(
      'a',
      { class: 'card town-card', href: `/towns/${town.id}`, data: { nav: '', townId: town.id } },
      h('div', { class: 'town-card-name' }, town.name),
      h('div', { class: 'muted mono small' }, town.id),
      h(
        'div',
        { class: 'town-card-meta' },
        h('span', null, town.config.runtime),
        h('span', null, provider),
        h('span', null, `created ${formatAgo(town.createdAt, ctx.now())}`),
      ),
    );
  }

  async function load(): Promise<void> {
    try {
      const towns = await ctx.api().listTowns();
      if (!alive) return;
      replace(list, towns.length ? towns.map(card) : empty('No towns yet. Create your first one.'));
    } catch (err) {
      if (!alive) return;
      const box = h('div', { class: 'form-error' });
      replace(list, box);
      fail(err, box);
    }
  }

  async function onCreate(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    submit.disabled = true;
    error.hidden = true;
    try {
      const town = await ctx.api().createTown(name.value.trim());
      ctx.navigate(`/towns/${town.id}`);
    } catch (err) {
      fail(err, error);
    } finally {
      submit.disabled = false;
    }
  }

  const el = h(
    'div',
    { class: 'page' },
    topbar(ctx, [h('span', { class: 'crumb-current' }, 'Towns')]),
    h(
      'main',
      { class: 'container' },
      h(
        'div',
        { class: 'page-head' },
        h('h1', null, 'Towns'),
        h('p', { class: 'muted' }, 'Each town runs a mayor you chat with, and the polecats and refineries it dispatches.'),
      ),
      h(
        'form',
        { class: 'card inline-form', id: 'create-town', on: { submit: (e) => void onCreate(e) } },
        h('label', { class: 'label', for: 'town-name' }, 'New town'),
        h('div', { class: 'row' }, name, submit),
        h('div', { class: 'hint' }, 'Lower-case letters, digits and dashes.'),
        error,
      ),
      list,
    ),
  );
  void load();
  return {
    el,
    unmount() {
      alive = false;
    },
  };
}
