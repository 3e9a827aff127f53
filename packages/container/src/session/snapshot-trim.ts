/**
 * The size policy of a session snapshot, as pure functions over the runtime's message list
 * (oldest first, as `GET /session/:id/message` lists it).
 *
 * 1. Compaction. Messages before the last completed compaction are dropped: the runtime never
 *    sends them to the model again. opencode 1.18.33 (MessageV2.filterCompacted, read in the
 *    shipped binary and confirmed with a real `POST /session/:id/summarize`): a compaction is a
 *    user message with a part of type `compaction`; it is completed when a later assistant
 *    message with `parentID` = that user message has `summary: true`, a `finish` and no `error`.
 *    The model then sees the messages from that user message on, or, when its compaction part
 *    has a `tail_start_id` (recent turns kept verbatim, `compaction.tail_turns`), from the
 *    message with that id on. A tail id that is not in the list keeps everything (as the runtime
 *    does). Only the last completed compaction counts; an unfinished or failed one changes nothing.
 * 2. Size. While the raw JSON exceeds the limit, the oldest whole turn is dropped (a turn starts
 *    at each user message; messages before the first user message form a turn of their own that
 *    counts 0). The last turn is never dropped. After a compaction with a tail, dropping the
 *    tail's first turn leaves `tail_start_id` pointing at a message that is gone: the runtime then
 *    shows the rest of the tail before the summary instead of after it; nothing else changes.
 *
 * Turns dropped by either rule are counted by the caller as `countTurns(before) - countTurns(after)`.
 */
import type { SessionMessage } from '@gastown/protocol';

/** Turn count of a message list (a turn starts at each user message). */
export function countTurns(messages: readonly SessionMessage[]): number {
  let turns = 0;
  for (const message of messages) if (message.info.role === 'user') turns += 1;
  return turns;
}

function compactionPart(message: SessionMessage): SessionMessage['parts'][number] | undefined {
  return message.parts.find((part) => part.type === 'compaction');
}

function isCompletedSummary(message: SessionMessage): boolean {
  const { info } = message;
  return info.role === 'assistant' && info.summary === true && Boolean(info.finish) && !info.error && typeof info.parentID === 'string';
}

/**
 * Index of the first message the runtime still sends to the model: the start of the last
 * completed compaction (its tail, when it kept one), or 0 when there is none.
 */
export function compactionStart(messages: readonly SessionMessage[]): number {
  // parent ids of completed summaries seen so far, walking from the newest message back
  const summarised = new Set<string>();
  for (let i = messages.length - 1; i >= 0; i -= 1) {
    const message = messages[i]!;
    if (message.info.role === 'user' && summarised.has(message.info.id)) {
      const part = compactionPart(message);
      if (!part) continue;
      const tail = part.tail_start_id;
      if (typeof tail !== 'string' || tail === '') return i;
      for (let j = i; j >= 0; j -= 1) if (messages[j]!.info.id === tail) return j;
      return 0;
    }
    if (isCompletedSummary(message)) summarised.add(message.info.parentID as string);
  }
  return 0;
}

/** Where each turn starts: index 0, then every user message after it. */
function turnStarts(messages: readonly SessionMessage[]): number[] {
  const starts = messages.length ? [0] : [];
  messages.forEach((message, index) => {
    if (index > 0 && message.info.role === 'user') starts.push(index);
  });
  return starts;
}

/** Index of the last turn's first message (0 for an empty list or a single turn). */
export function lastTurnStart(messages: readonly SessionMessage[]): number {
  return turnStarts(messages).at(-1) ?? 0;
}

/**
 * How many leading messages to drop so that `fixedBytes + Σ messageBytes + separators` fits in
 * `maxBytes`, dropping whole turns, oldest first, never the last turn. `messageBytes[i]` is the
 * size of message i's JSON; messages are joined with one `,` each. When even the last turn alone
 * does not fit, the answer is the start of the last turn (the caller decides what to do).
 */
export function dropForSize(messages: readonly SessionMessage[], messageBytes: readonly number[], fixedBytes: number, maxBytes: number): number {
  let total = fixedBytes + Math.max(0, messages.length - 1);
  for (const size of messageBytes) total += size;
  const starts = turnStarts(messages);
  let turn = 0;
  while (total > maxBytes && turn < starts.length - 1) {
    const from = starts[turn]!;
    const to = starts[turn + 1]!;
    for (let i = from; i < to; i += 1) total -= messageBytes[i]! + 1;
    turn += 1;
  }
  return starts[turn] ?? 0;
}
