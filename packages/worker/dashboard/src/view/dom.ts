import { formatAgo, formatCountdown } from '../model/format';

/**
 * A tiny DOM builder. Text always goes in as text nodes (never as HTML), so nothing an agent,
 * a user or the server writes can inject markup.
 */
export type Child = Node | string | number | null | undefined | false | readonly Child[];

export type Attrs = {
  class?: string;
  title?: string;
  /** data-* attributes, without the prefix. */
  data?: Record<string, string>;
  on?: Partial<{ [K in keyof HTMLElementEventMap]: (event: HTMLElementEventMap[K]) => void }>;
} & Record<string, unknown>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs | null = null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'data') {
        for (const [k, v] of Object.entries(value as Record<string, string>)) el.dataset[k] = v;
      } else if (key === 'on') {
        for (const [type, fn] of Object.entries(value as Record<string, EventListener>)) el.addEventListener(type, fn);
      } else if (key === 'class') {
        el.className = String(value);
      } else if (value === true) {
        el.setAttribute(key, '');
      } else if (key === 'value' && 'value' in el) {
        (el as HTMLInputElement).value = String(value);
      } else {
        el.setAttribute(key, String(value));
      }
    }
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
}

/** Replace every child of `el`. */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A coloured pill: `tone` is a CSS modifier (ok, warn, bad, info, muted). */
export function badge(text: string, tone: string, title?: string): HTMLSpanElement {
  return h('span', { class: `badge badge-${tone}`, title }, text);
}

/**
 * An element whose text is a live relative time: filled now, then updated by the page's
 * one-second display ticker (main.ts), which only rewrites text and never calls the server.
 */
export function liveTime(kind: 'ago' | 'countdown', at: number | null, fallback = '—', now = Date.now()): HTMLSpanElement {
  if (at === null) return h('span', { class: 'muted' }, fallback);
  const el = h(
    'span',
    { class: 'live-time', data: { liveKind: kind, liveAt: String(at) } },
    kind === 'countdown' ? formatCountdown(at, now) : formatAgo(at, now),
  );
  if (kind === 'countdown') el.classList.toggle('is-past', at <= now);
  return el;
}

/** An empty-state line for a panel. */
export function empty(text: string): HTMLElement {
  return h('div', { class: 'empty' }, text);
}
