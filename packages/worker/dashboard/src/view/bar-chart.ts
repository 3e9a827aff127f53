import type { Bar } from '../model/usage-view';

const SVG_NS = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
  ...children: (SVGElement | string)[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const child of children) el.append(child);
  return el;
}

export interface BarChartOptions {
  id: string;
  /** What the bars measure, for the accessible name. */
  title: string;
  /** The top of the scale as text (`12,345 tokens`, `$1.20`). */
  formatMax(value: number): string;
  width?: number;
  height?: number;
}

/**
 * A bar chart as inline SVG (no chart library; colours come from the stylesheet, so nothing is
 * styled inline and the CSP stays `style-src 'self'`). Each bar has its value as a tooltip; the
 * first and last labels sit under the axis.
 */
export function barChart(bars: readonly Bar[], opts: BarChartOptions): SVGSVGElement {
  const width = opts.width ?? 600;
  const height = opts.height ?? 140;
  const top = 16;
  const bottom = 18;
  const plot = height - top - bottom;
  const max = Math.max(0, ...bars.map((b) => b.value));
  const slot = bars.length > 0 ? width / bars.length : width;
  const barWidth = Math.max(2, Math.min(36, slot * 0.7));
  const children: SVGElement[] = [svg('title', {}, opts.title), svg('line', { class: 'chart-axis', x1: 0, y1: top + plot, x2: width, y2: top + plot })];
  bars.forEach((b, i) => {
    const h = max > 0 ? Math.max(b.value > 0 ? 1 : 0, Math.round((b.value / max) * plot)) : 0;
    const x = i * slot + (slot - barWidth) / 2;
    children.push(
      svg(
        'rect',
        { class: 'chart-bar', x: x.toFixed(1), y: top + plot - h, width: barWidth.toFixed(1), height: h, 'data-day': b.label },
        svg('title', {}, b.title),
      ),
    );
  });
  children.push(svg('text', { class: 'chart-label', x: 0, y: 11 }, max > 0 ? opts.formatMax(max) : ''));
  const first = bars[0];
  const last = bars.at(-1);
  if (first) children.push(svg('text', { class: 'chart-label', x: 0, y: height - 4 }, first.label));
  if (last && last !== first) children.push(svg('text', { class: 'chart-label', x: width, y: height - 4, 'text-anchor': 'end' }, last.label));
  return svg('svg', { id: opts.id, class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': opts.title }, ...children);
}
