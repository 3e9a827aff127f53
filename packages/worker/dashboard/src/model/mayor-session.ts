import type { MayorSessionResetResponse, SessionSnapshotSummary } from '@gastown/protocol';
import { formatBytes } from './format';

/** The mayor's saved conversation as the chat panel shows it. */
export interface MayorSessionView {
  /** When the control plane stored the last save (shown as a live "3m ago"); null: none saved yet. */
  savedAt: number | null;
  /** "12 turns · 48 KiB" (compressed, as stored); empty when none is saved. */
  facts: string;
  /** Hover text: why it was last saved, the uncompressed size, turns dropped by the size policy. */
  title: string;
}

const REASON_TEXT: Record<SessionSnapshotSummary['reason'], string> = {
  message: 'after a message',
  waiting: 'when the mayor went idle',
  drain: 'before the container was drained',
  stop: 'before the mayor stopped',
};

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * From the mayor Agent's `session` (null: none saved; undefined: a server too old to say). Pure;
 * the time is the control plane's `storedAt`, like the heartbeats.
 */
export function mayorSessionView(session: SessionSnapshotSummary | null | undefined): MayorSessionView {
  if (!session) return { savedAt: null, facts: '', title: 'The mayor’s conversation is saved after each message; none is saved yet.' };
  const facts = [plural(session.turns, 'turn'), formatBytes(session.bytes)];
  if (session.droppedTurns > 0) facts.push(`${session.droppedTurns} older dropped`);
  const title = [
    `Saved ${REASON_TEXT[session.reason] ?? session.reason}`,
    `${formatBytes(session.bytes)} stored (${formatBytes(session.rawBytes)} uncompressed)`,
    session.droppedTurns > 0 ? `${plural(session.droppedTurns, 'older turn')} left out to stay under the size limit` : null,
  ]
    .filter(Boolean)
    .join(' · ');
  return { savedAt: session.storedAt, facts: facts.join(' · '), title };
}

/** What the panel says after "New conversation". */
export function resetOutcome(res: MayorSessionResetResponse): string {
  const what = res.deleted ? 'the previous one was deleted' : 'none was saved';
  return `Started a new conversation (${what}).${res.stopped ? ' The mayor was stopped; it starts afresh with your next message.' : ''}`;
}
