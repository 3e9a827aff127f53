import type { Agent, TownEvent } from '@gastown/protocol';
import type { StreamState } from '../api/town-event-stream';
import { summariseEvent } from '../model/event-summary';
import { formatClock, shortId } from '../model/format';
import { h } from '../view/dom';

const MAX_ROWS = 300;

/** The live event feed, newest first, capped at MAX_ROWS rows. */
export class EventFeed {
  readonly el: HTMLElement;
  readonly #list = h('ol', { class: 'feed', id: 'event-feed' });
  readonly #state = h('span', { class: 'stream-state', id: 'stream-state', data: { state: 'connecting' } }, 'connecting');

  constructor(private readonly agents: () => ReadonlyMap<string, Agent>) {
    this.el = h(
      'section',
      { class: 'card panel feed-panel', id: 'feed-panel' },
      h('div', { class: 'panel-head' }, h('h2', null, 'Live events'), this.#state),
      this.#list,
    );
  }

  /** The stream's connection state (also shown in the page header). */
  setState(state: StreamState, detail: string | null): void {
    this.#state.dataset.state = state;
    this.#state.textContent = state === 'live' ? 'live' : state;
    this.#state.title = detail ?? '';
  }

  /** Put agent names on rows that arrived before the agent was known. */
  refreshNames(): void {
    const agents = this.agents();
    for (const el of this.#list.querySelectorAll<HTMLElement>('.feed-who[data-agent-id]')) {
      const name = agents.get(el.dataset.agentId ?? '')?.name;
      if (name && el.textContent !== name) el.textContent = name;
    }
  }

  add(events: readonly TownEvent[]): void {
    if (!events.length) return;
    const agents = this.agents();
    const fragment = document.createDocumentFragment();
    for (let i = events.length - 1; i >= 0; i--) {
      const e = events[i];
      if (!e) continue;
      const { tone, text } = summariseEvent(e);
      const who = e.agentId ? (agents.get(e.agentId)?.name ?? shortId(e.agentId, 12)) : null;
      fragment.appendChild(
        h(
          'li',
          { class: `feed-row tone-${tone}`, data: { eventId: String(e.id), type: e.type } },
          h('span', { class: 'feed-time mono' }, formatClock(e.at)),
          h(
            'div',
            { class: 'feed-body' },
            h(
              'div',
              { class: 'feed-head' },
              who ? h('span', { class: 'feed-who', data: { agentId: e.agentId ?? '' } }, who) : null,
              h('span', { class: 'feed-type' }, e.type),
            ),
            h('div', { class: 'feed-text' }, text),
          ),
        ),
      );
    }
    this.#list.prepend(fragment);
    while (this.#list.childElementCount > MAX_ROWS) this.#list.lastElementChild?.remove();
  }
}
