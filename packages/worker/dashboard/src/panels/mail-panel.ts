import type { Agent, Mail } from '@gastown/protocol';
import { clip } from '../model/event-summary';
import { shortId } from '../model/format';
import { badge, empty, h, liveTime, replace } from '../view/dom';

/** Mail between agents, newest first. */
export class MailPanel {
  readonly el: HTMLElement;
  readonly #body: HTMLElement;

  constructor() {
    this.#body = h('div', null, empty('Loading…'));
    this.el = h('section', { class: 'card panel', id: 'mail-panel' }, h('div', { class: 'panel-head' }, h('h2', null, 'Mail')), this.#body);
  }

  showError(text: string): void {
    replace(this.#body, h('div', { class: 'form-error' }, text));
  }

  render(mail: readonly Mail[], agents: ReadonlyMap<string, Agent>): void {
    if (!mail.length) return replace(this.#body, empty('No mail yet.'));
    const name = (id: string | null) => (id === null ? 'control plane' : (agents.get(id)?.name ?? shortId(id, 12)));
    replace(
      this.#body,
      h(
        'ul',
        { class: 'list' },
        [...mail]
          .sort((a, b) => b.createdAt - a.createdAt)
          .map((m) =>
            h(
              'li',
              { class: 'list-item', data: { mailId: m.id } },
              h('div', { class: 'list-item-head' }, h('strong', null, m.subject), m.readAt === null ? badge('unread', 'info') : badge('read', 'muted')),
              h('div', { class: 'muted small' }, `${name(m.fromAgentId)} → ${name(m.toAgentId)} · `, liveTime('ago', m.createdAt)),
              m.body ? h('div', { class: 'list-item-body' }, clip(m.body, 600)) : null,
            ),
          ),
      ),
    );
  }
}
