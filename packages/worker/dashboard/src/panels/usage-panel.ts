import type { Bead, UsageResponse, UsageTotals } from '@gastown/protocol';
import { formatUsd } from '@gastown/protocol/model-prices';
import { clip } from '../model/event-summary';
import { costText, dayBars, formatCount, spendView, topBeads, totalTokens } from '../model/usage-view';
import { barChart } from '../view/bar-chart';
import { badge, empty, h, liveTime, replace } from '../view/dom';

export interface UsagePanelOptions {
  /** Fetch again now (the refresh button). */
  onRefresh(): void;
}

/** The totals as they are shown, each with its raw number in a data attribute (the browser test compares them with the API's). */
function totalsFacts(t: UsageTotals): HTMLElement {
  const fact = (name: string, label: string, value: number, text: string) =>
    h('div', { data: { total: name, value: String(value) } }, h('dt', null, label), h('dd', null, text));
  return h(
    'dl',
    {
      class: 'facts usage-totals',
      id: 'usage-totals',
      data: {
        calls: String(t.calls),
        inputTokens: String(t.inputTokens),
        outputTokens: String(t.outputTokens),
        cacheReadTokens: String(t.cacheReadTokens),
        cacheWriteTokens: String(t.cacheWriteTokens),
        costMicros: String(t.costMicros),
      },
    },
    fact('calls', 'Calls', t.calls, t.errors > 0 ? `${formatCount(t.calls)} (${formatCount(t.errors)} failed)` : formatCount(t.calls)),
    fact('tokens', 'Tokens', totalTokens(t), formatCount(totalTokens(t))),
    fact('input', 'Input', t.inputTokens, formatCount(t.inputTokens)),
    fact('output', 'Output', t.outputTokens, formatCount(t.outputTokens)),
    fact('cache-read', 'Cache read', t.cacheReadTokens, formatCount(t.cacheReadTokens)),
    fact('cache-write', 'Cache write', t.cacheWriteTokens, formatCount(t.cacheWriteTokens)),
    fact('cost', 'Cost', t.costMicros, costText(t)),
  );
}

/**
 * Usage and cost: the town's totals, tokens and cost per day (inline SVG bars), the costliest
 * beads, and where the town stands against its spend cap. Fetched when the tab is opened, on the
 * refresh button, and every 30 s while it is visible (town-page.ts).
 */
export class UsagePanel {
  readonly el: HTMLElement;
  readonly #body: HTMLElement;
  readonly #updated: HTMLElement;

  constructor(opts: UsagePanelOptions) {
    this.#body = h('div', { id: 'usage-body' }, empty('Loading usage…'));
    this.#updated = h('span', { class: 'muted small', id: 'usage-updated' });
    this.el = h(
      'section',
      { class: 'card panel', id: 'usage-panel' },
      h(
        'div',
        { class: 'panel-head' },
        h('h2', null, 'Usage'),
        this.#updated,
        h('button', { class: 'btn btn-small usage-refresh', type: 'button', id: 'usage-refresh', on: { click: () => opts.onRefresh() } }, 'Refresh'),
      ),
      this.#body,
    );
  }

  showError(text: string): void {
    replace(this.#body, h('div', { class: 'form-error' }, text));
  }

  /** `days`: by=day (totals, chart, spend); `beads`: by=bead (top beads); `titles`: bead titles the page knows. */
  render(days: UsageResponse, beads: UsageResponse, titles: ReadonlyMap<string, Bead>, at: number): void {
    replace(this.#updated, 'updated ', liveTime('ago', at));
    this.el.dataset.loadedAt = String(at);
    const spend = days.spend ? spendView(days.spend) : null;
    const t = days.totals;
    const unpriced = t.unpricedCalls > 0;
    replace(
      this.#body,
      spend
        ? h(
            'div',
            { class: `usage-spend tone-${spend.tone}`, id: 'usage-spend', data: { state: spend.state } },
            badge(spend.state === 'capped' ? 'cap reached' : spend.state === 'warning' ? 'near the cap' : 'within the cap', spend.tone),
            ` Spend ${spend.text}`,
            spend.state === 'capped' ? h('span', { class: 'muted small' }, ' — no new work starts until the cap is raised (Settings).') : null,
          )
        : null,
      totalsFacts(t),
      unpriced
        ? h('p', { class: 'muted small' }, `* ${formatCount(t.unpricedCalls)} calls were of a model without a known price and cost nothing here.`)
        : null,
      t.calls === 0 ? empty('No model calls yet.') : this.#charts(days),
      t.calls === 0 ? null : this.#topBeads(beads, titles),
    );
  }

  #charts(days: UsageResponse): HTMLElement {
    return h(
      'div',
      { class: 'usage-charts' },
      h(
        'div',
        { class: 'usage-chart' },
        h('h3', null, 'Tokens per day'),
        barChart(dayBars(days.rows, 'tokens'), { id: 'usage-chart-tokens', title: 'Tokens per day', formatMax: (v) => `${formatCount(v)} tokens` }),
      ),
      h(
        'div',
        { class: 'usage-chart usage-chart-cost' },
        h('h3', null, 'Cost per day'),
        barChart(dayBars(days.rows, 'cost'), { id: 'usage-chart-cost', title: 'Cost per day', formatMax: (v) => formatUsd(v) }),
      ),
    );
  }

  #topBeads(beads: UsageResponse, titles: ReadonlyMap<string, Bead>): HTMLElement {
    const rows = topBeads(beads.rows);
    if (!rows.length)
      return h('div', { id: 'usage-top-beads' }, h('h3', null, 'Top beads by cost'), empty('No bead has called a model yet (the mayor’s calls have no bead).'));
    return h(
      'div',
      { id: 'usage-top-beads' },
      h('h3', null, 'Top beads by cost'),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'table' },
          h(
            'thead',
            null,
            h('tr', null, h('th', null, 'Bead'), h('th', { class: 'num' }, 'Calls'), h('th', { class: 'num' }, 'Tokens'), h('th', { class: 'num' }, 'Cost')),
          ),
          h(
            'tbody',
            null,
            rows.map((r) =>
              h(
                'tr',
                { data: { beadId: r.key, costMicros: String(r.costMicros) } },
                h('td', null, h('div', null, clip(titles.get(r.key)?.title ?? r.label ?? r.key, 70)), h('div', { class: 'muted mono small' }, r.key)),
                h('td', { class: 'num' }, formatCount(r.calls)),
                h('td', { class: 'num' }, formatCount(totalTokens(r))),
                h('td', { class: 'num' }, costText(r)),
              ),
            ),
          ),
        ),
      ),
    );
  }
}
