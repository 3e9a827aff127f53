/**
 * The mayor's saved conversation as the CLI shows it: the `mayor session:` line of `gastown
 * status` (when it was last saved, its turns, its stored compressed size) and what
 * `gastown mayor --new` says after deleting it. Pure.
 */
import type { Agent, MayorSessionResetResponse, SessionSnapshotSummary } from '@gastown/protocol';
import { formatBytes } from '../output/bytes';
import { formatAge } from '../output/time';

/** `saved 3m ago · 12 turns · 48 KiB` (and `· 3 older turns dropped` when the size policy cut some). */
export function describeSession(session: SessionSnapshotSummary, now: number): string {
  const parts = [
    // storedAt: the control plane's clock, like the HEARTBEAT column
    `saved ${formatAge(session.storedAt, now)}`,
    `${session.turns} turn${session.turns === 1 ? '' : 's'}`,
    formatBytes(session.bytes),
  ];
  if (session.droppedTurns > 0) parts.push(`${session.droppedTurns} older turn${session.droppedTurns === 1 ? '' : 's'} dropped`);
  return parts.join(' · ');
}

/** The line for the town's mayor, or null when the town has no mayor yet. */
export function mayorSessionLine(agents: readonly Agent[], now: number): string | null {
  const mayors = agents.filter((a) => a.role === 'mayor');
  if (mayors.length === 0) return null;
  // one mayor per town; should the list hold more, the newest saved conversation is the one in use
  const latest = mayors
    .map((a) => a.session)
    .filter((s): s is SessionSnapshotSummary => s !== null)
    .sort((a, b) => b.storedAt - a.storedAt)[0];
  return `mayor session: ${latest ? describeSession(latest, now) : 'none saved yet'}`;
}

/** What `gastown mayor --new` says after `DELETE …/mayor/session`. */
export function describeReset(reset: MayorSessionResetResponse): string {
  const what = [reset.deleted ? 'previous one deleted' : 'none was saved'];
  if (reset.stopped) what.push('the running mayor was stopped and starts afresh with the next message');
  return `started a new conversation (${what.join('; ')})`;
}
