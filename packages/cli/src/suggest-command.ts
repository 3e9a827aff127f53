/**
 * "Did you mean": the known word closest to a mistyped one, by optimal-string-alignment
 * distance (Levenshtein plus the swap of two neighbouring letters, `stauts` → `status` is 1).
 * Pure: no I/O.
 */

/** Suggestions further than this many edits away are not made. */
export const MAX_SUGGESTION_DISTANCE = 2;

/** Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The known word nearest to `input` (case-insensitive), if it is at most `maxDistance` edits
 * away and not `input` itself; on a tie, the first in `known`.
 */
export function suggestWord(input: string, known: readonly string[], maxDistance: number = MAX_SUGGESTION_DISTANCE): string | undefined {
  const typed = input.toLowerCase();
  let best: { word: string; distance: number } | undefined;
  for (const word of known) {
    const distance = editDistance(typed, word.toLowerCase());
    if (distance === 0 && word === input) return undefined;
    if (distance <= maxDistance && (!best || distance < best.distance)) best = { word, distance };
  }
  return best?.word;
}

/** `unknown command "stauts"; did you mean "status"?`, or `unknown command "x"` + `tail`. */
export function unknownWordMessage(what: string, input: string, known: readonly string[], tail = ''): string {
  const suggestion = suggestWord(input, known);
  return suggestion !== undefined
    ? `unknown ${what} ${JSON.stringify(input)}; did you mean ${JSON.stringify(suggestion)}?`
    : `unknown ${what} ${JSON.stringify(input)}${tail}`;
}
