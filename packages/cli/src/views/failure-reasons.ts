/**
 * Why things failed, in full, under the `status` and `beads` tables (a table cell would cut them):
 * failed agents with their status line, and beads whose last attempt failed with the reason the
 * control plane recorded (`metadata.lastFailure`). Pure.
 */
import type { Agent, Bead } from '@gastown/protocol';

const MAX_REASON = 300;

/** One printable line: whitespace collapsed, terminal control characters (a hostile repository's git output) shown as `?`. */
function cut(text: string): string {
  const line = text
    .replace(/\s+/g, ' ')
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, '?')
    .trim();
  return line.length > MAX_REASON ? `${line.slice(0, MAX_REASON - 1)}…` : line;
}

/** The reason of a bead's last failed attempt, if it is still relevant (the bead is failed, or open again after a failure). */
export function lastFailureOf(bead: Bead): string | null {
  if (bead.status !== 'failed' && bead.status !== 'open') return null;
  const failure = bead.metadata['lastFailure'];
  if (failure === null || typeof failure !== 'object') return null;
  const reason = (failure as Record<string, unknown>)['reason'];
  return typeof reason === 'string' && reason.trim() !== '' ? cut(reason) : null;
}

/** `  bd_… (failed, 3 attempts): <reason>` for each bead with a recorded failure; empty when none. */
export function beadFailureLines(beads: readonly Bead[]): string[] {
  return beads.flatMap((b) => {
    const reason = lastFailureOf(b);
    if (reason === null) return [];
    return [`  ${b.id} (${b.status}, ${b.attempts} attempt${b.attempts === 1 ? '' : 's'}): ${reason}`];
  });
}

/** `  <role> <name> (<id>): <status line>` for each failed agent with one; empty when none. */
export function agentFailureLines(agents: readonly Agent[]): string[] {
  return agents.flatMap((a) => (a.status === 'failed' && a.statusLine ? [`  ${a.role} ${a.name} (${a.id}): ${cut(a.statusLine)}`] : []));
}
