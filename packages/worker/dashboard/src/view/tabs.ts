import { h, replace, type Child } from './dom';

export interface Tab {
  id: string;
  title: string;
  content: Child[];
}

/** Tabs whose selection lives in the URL hash (#mail, #settings…), so a reload keeps it. */
export class TabBar {
  readonly el: HTMLElement;
  readonly #buttons = new Map<string, HTMLButtonElement>();
  readonly #counts = new Map<string, HTMLSpanElement>();
  readonly #panes = new Map<string, HTMLElement>();
  #selected = '';

  /** `onSelect`: called after a tab is shown (also for the one selected at start). */
  constructor(
    tabs: readonly Tab[],
    private readonly onSelect: (id: string) => void = () => undefined,
  ) {
    const bar = h('div', { class: 'tabs', role: 'tablist' });
    const body = h('div', { class: 'tab-body' });
    for (const tab of tabs) {
      const count = h('span', { class: 'tab-count', hidden: true });
      const button = h(
        'button',
        { class: 'tab', type: 'button', role: 'tab', data: { tab: tab.id }, on: { click: () => this.select(tab.id, true) } },
        tab.title,
        count,
      );
      const pane = h('div', { class: 'tab-pane', role: 'tabpanel', data: { pane: tab.id } }, tab.content);
      this.#buttons.set(tab.id, button);
      this.#counts.set(tab.id, count);
      this.#panes.set(tab.id, pane);
      bar.appendChild(button);
      body.appendChild(pane);
    }
    this.el = h('div', { class: 'tabbed' }, bar, body);
    const fromHash = location.hash.slice(1);
    this.select(this.#buttons.has(fromHash) ? fromHash : (tabs[0]?.id ?? ''), false);
  }

  select(id: string, updateUrl: boolean): void {
    for (const [key, button] of this.#buttons) {
      const on = key === id;
      button.classList.toggle('is-active', on);
      button.setAttribute('aria-selected', String(on));
      const pane = this.#panes.get(key);
      if (pane) pane.hidden = !on;
    }
    if (updateUrl) history.replaceState(null, '', `${location.pathname}#${id}`);
    this.#selected = id;
    this.onSelect(id);
  }

  /** The tab shown now. */
  get selected(): string {
    return this.#selected;
  }

  /** A small counter next to a tab's title (hidden at 0). */
  setCount(id: string, n: number): void {
    const el = this.#counts.get(id);
    if (!el) return;
    replace(el, String(n));
    el.hidden = n === 0;
  }
}
