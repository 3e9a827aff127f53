import type { AppContext } from '../app-context';
import { summariseToken } from '../model/session';
import { h, type Child } from './dom';

/** The bar across every signed-in page: brand, breadcrumb, extra items, user and sign-out. */
export function topbar(ctx: AppContext, crumbs: Child[], extra: Child[] = []): HTMLElement {
  const token = ctx.session.token();
  const who = token ? summariseToken(token).userId : null;
  return h(
    'header',
    { class: 'topbar' },
    h('a', { class: 'brand', href: '/', data: { nav: '' } }, h('span', { class: 'brand-mark' }, 'G'), 'Gastown'),
    h('nav', { class: 'crumbs' }, crumbs),
    h(
      'div',
      { class: 'topbar-right' },
      extra,
      who ? h('span', { class: 'who', title: 'signed in as' }, who) : null,
      h('button', { class: 'btn btn-quiet', type: 'button', id: 'sign-out', on: { click: () => ctx.signOut() } }, 'Sign out'),
    ),
  );
}
