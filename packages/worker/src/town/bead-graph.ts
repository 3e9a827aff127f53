/**
 * Bead dependencies as a graph (bead → the beads it waits for). Pure: the cycle check a new list
 * of dependencies must pass, and whether a bead may be dispatched.
 */
import type { BeadStatus } from '@gastown/protocol';

/**
 * The cycle that giving `beadId` the dependencies `dependsOn` would close, as a path
 * `beadId → … → beadId`; null when there is none. `graph` is the town's current edges (the
 * edges of `beadId` itself are replaced by `dependsOn`). Iterative depth-first search: a long
 * chain cannot overflow the stack.
 */
export function dependencyCycle(graph: ReadonlyMap<string, readonly string[]>, beadId: string, dependsOn: readonly string[]): string[] | null {
  const edges = (id: string): readonly string[] => (id === beadId ? dependsOn : (graph.get(id) ?? []));
  const parent = new Map<string, string>();
  const seen = new Set<string>();
  const stack: string[] = [];
  for (const dep of dependsOn) {
    if (dep === beadId) return [beadId, beadId];
    if (seen.has(dep)) continue;
    seen.add(dep);
    parent.set(dep, beadId);
    stack.push(dep);
  }
  while (stack.length > 0) {
    const id = stack.pop()!;
    for (const next of edges(id)) {
      if (next === beadId) return pathBack(parent, id, beadId);
      if (seen.has(next)) continue;
      seen.add(next);
      parent.set(next, id);
      stack.push(next);
    }
  }
  return null;
}

/** beadId → … → last → beadId, following `parent` back from `last`. */
function pathBack(parent: ReadonlyMap<string, string>, last: string, beadId: string): string[] {
  const path = [last];
  let at = last;
  while (at !== beadId) {
    at = parent.get(at)!;
    path.push(at);
  }
  return [...path.reverse(), beadId];
}

/** A bead may be dispatched only when every dependency that still exists is closed. */
export function dependenciesMet(dependsOn: readonly string[], statusOf: (id: string) => BeadStatus | undefined): boolean {
  return dependsOn.every((id) => {
    const status = statusOf(id);
    return status === undefined || status === 'closed';
  });
}
