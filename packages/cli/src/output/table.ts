/** Plain-text tables: a header row and left-aligned columns (numbers right-aligned), colour-aware widths. */
import { paint, type Colour } from './colour';

export interface Column {
  header: string;
  align?: 'left' | 'right';
}

/** A cell: its text and, when something is wrong, a colour. */
export type Cell = string | { text: string; colour?: Colour | null };

const cellText = (cell: Cell): string => (typeof cell === 'string' ? cell : cell.text);
const cellColour = (cell: Cell): Colour | null => (typeof cell === 'string' ? null : (cell.colour ?? null));

/** Characters a terminal shows: code points, not UTF-16 units (for ✓, →…). */
function width(text: string): number {
  return [...text].length;
}

function pad(text: string, size: number, align: 'left' | 'right'): string {
  const gap = ' '.repeat(Math.max(0, size - width(text)));
  return align === 'right' ? gap + text : text + gap;
}

export function renderTable(columns: readonly Column[], rows: readonly (readonly Cell[])[], colour: boolean): string {
  const widths = columns.map((c, i) => Math.max(width(c.header), ...rows.map((r) => width(cellText(r[i] ?? '')))));
  const line = (cells: readonly Cell[], header: boolean) =>
    columns
      .map((c, i) => {
        const cell = cells[i] ?? '';
        const last = i === columns.length - 1;
        const align = c.align ?? 'left';
        const padded = last && align === 'left' ? cellText(cell) : pad(cellText(cell), widths[i] ?? 0, align);
        return paint(padded, header ? 'bold' : cellColour(cell), colour);
      })
      .join('  ');
  return [
    line(
      columns.map((c) => c.header),
      true,
    ),
    ...rows.map((r) => line(r, false)),
  ].join('\n');
}
