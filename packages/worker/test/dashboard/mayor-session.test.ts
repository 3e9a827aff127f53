/**
 * The dashboard's part of durable mayor sessions: the session line's model (when saved, turns,
 * stored size), the reset call (DELETE …/mayor/session, errors as ApiError) and the chat model
 * starting a new conversation — from the button or from the `mayor.session_reset` town event —
 * without the old one coming back through refetches or replays.
 */
import type { SessionSnapshotSummary, TownEvent } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { ApiClient } from '../../dashboard/src/api/api-client';
import { ApiError } from '../../dashboard/src/api/api-error';
import { ChatModel } from '../../dashboard/src/model/chat-model';
import { panelsFor } from '../../dashboard/src/model/event-routing';
import { formatBytes } from '../../dashboard/src/model/format';
import { mayorSessionView, resetOutcome } from '../../dashboard/src/model/mayor-session';

const TOWN = 'town_abcdefgh';
const MAYOR = 'ag_mayor01';
const NOW = 1_800_000_000_000;
const SAVED: SessionSnapshotSummary = {
  savedAt: NOW - 180_500,
  storedAt: NOW - 180_000,
  bytes: 48 * 1024 + 10,
  rawBytes: 900 * 1024,
  turns: 12,
  droppedTurns: 0,
  reason: 'waiting',
};

function ev(id: number, type: string, data: Record<string, unknown> = {}, at = id): TownEvent {
  return { id, townId: TOWN, type, agentId: MAYOR, beadId: null, data, at };
}

describe('mayorSessionView', () => {
  it.each([
    { name: 'none saved', session: null, savedAt: null, facts: '' },
    { name: 'a server too old to say', session: undefined, savedAt: null, facts: '' },
    { name: 'saved', session: SAVED, savedAt: SAVED.storedAt, facts: '12 turns · 48 KiB' },
    {
      name: 'one turn, older ones dropped',
      session: { ...SAVED, turns: 1, droppedTurns: 7, bytes: 2_500_000 },
      savedAt: SAVED.storedAt,
      facts: '1 turn · 2.4 MiB · 7 older dropped',
    },
  ])('$name', ({ session, savedAt, facts }) => {
    const view = mayorSessionView(session);
    expect({ savedAt: view.savedAt, facts: view.facts }).toEqual({ savedAt, facts });
  });

  it('the hover text says why it was saved and the uncompressed size', () => {
    expect(mayorSessionView({ ...SAVED, droppedTurns: 1 }).title).toBe(
      'Saved when the mayor went idle · 48 KiB stored (900 KiB uncompressed) · 1 older turn left out to stay under the size limit',
    );
  });

  it('formats sizes in binary units', () => {
    expect([0, 1023, 1024, 4300, 1024 * 1024 - 1, 3 * 1024 ** 3].map(formatBytes)).toEqual(['0 B', '1023 B', '1 KiB', '4.2 KiB', '1 MiB', '3 GiB']);
  });

  it('says what the reset did', () => {
    expect(resetOutcome({ deleted: true, stopped: false })).toBe('Started a new conversation (the previous one was deleted).');
    expect(resetOutcome({ deleted: false, stopped: true })).toBe(
      'Started a new conversation (none was saved). The mayor was stopped; it starts afresh with your next message.',
    );
  });
});

describe('ApiClient.resetMayorSession', () => {
  it('DELETEs the mayor session route with the token and returns the answer', async () => {
    const calls: { url: string; method?: string; auth?: string }[] = [];
    const fetchImpl = async (url: string, init?: RequestInit) => {
      calls.push({ url, method: init?.method, auth: (init?.headers as Record<string, string>).authorization });
      return Response.json({ deleted: true, stopped: true });
    };
    expect(await new ApiClient('tok', fetchImpl).resetMayorSession(TOWN)).toEqual({ deleted: true, stopped: true });
    expect(calls).toEqual([{ url: `/api/towns/${TOWN}/mayor/session`, method: 'DELETE', auth: 'Bearer tok' }]);
  });

  it("a failure is an ApiError with the server's code", async () => {
    const fetchImpl = async () => Response.json({ error: { code: 'upstream_failed', message: 'the container did not answer' } }, { status: 502 });
    const err = await new ApiClient('tok', fetchImpl).resetMayorSession(TOWN).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: 'upstream_failed', status: 502 });
  });
});

describe('ChatModel.startNewConversation', () => {
  it('clears the conversation; earlier messages and events stay out, later ones come in', () => {
    const chat = new ChatModel();
    chat.setMayor(MAYOR);
    const old = { id: 'mm_1', townId: TOWN, text: 'old question', createdAt: 100, deliveredAt: 101 };
    chat.addUserMessages([old]);
    chat.applyEvent(ev(10, 'session.busy'));
    chat.applyEvent(ev(11, 'agent.text', { text: 'old answer' }));
    expect(chat.busy).toBe(true);
    expect(chat.entries()).toHaveLength(2);

    chat.startNewConversation();
    expect(chat.entries()).toEqual([]);
    expect(chat.busy).toBe(false);

    // a refetch of the message list and a replay of old events bring nothing back
    chat.addUserMessages([old]);
    expect(chat.applyEvent(ev(11, 'agent.text', { text: 'old answer' }))).toBe(false);
    expect(chat.entries()).toEqual([]);

    // the new conversation
    chat.addUserMessages([old, { id: 'mm_2', townId: TOWN, text: 'new question', createdAt: 200, deliveredAt: 201 }]);
    expect(chat.applyEvent(ev(12, 'agent.text', { text: 'new answer' }, 210))).toBe(true);
    expect(chat.entries().map((e) => (e.kind === 'user' || e.kind === 'text' ? e.text : e.kind))).toEqual(['new question', 'new answer']);
  });

  it('with nothing shown yet, it keeps whatever comes next', () => {
    const chat = new ChatModel();
    chat.setMayor(MAYOR);
    chat.startNewConversation();
    chat.addUserMessages([{ id: 'mm_1', townId: TOWN, text: 'hi', createdAt: 5, deliveredAt: null }]);
    chat.applyEvent(ev(1, 'agent.text', { text: 'hello' }));
    expect(chat.entries()).toHaveLength(2);
  });

  it('mayor.session_reset (replayed on reload, or from the CLI): everything before it goes, what follows stays', () => {
    const chat = new ChatModel();
    chat.setMayor(MAYOR);
    // on load the message list comes first, then the event history is replayed
    const before = { id: 'mm_1', townId: TOWN, text: 'old question', createdAt: 100, deliveredAt: 101 };
    const after = { id: 'mm_2', townId: TOWN, text: 'new question', createdAt: 300, deliveredAt: 301 };
    chat.addUserMessages([before, after]);
    chat.applyEvent(ev(10, 'agent.text', { text: 'old answer' }, 110));
    chat.applyEvent(ev(11, 'session.busy', {}, 120));
    expect(chat.applyEvent(ev(12, 'mayor.session_reset', { deleted: true, stopped: true }, 200))).toBe(true);
    expect(chat.busy).toBe(false);
    chat.applyEvent(ev(13, 'agent.text', { text: 'new answer' }, 310));
    const texts = () => chat.entries().map((e) => (e.kind === 'user' || e.kind === 'text' ? e.text : e.kind));
    expect(texts()).toEqual(['new question', 'new answer']);
    // a refetch of the message list does not bring the old question back
    chat.addUserMessages([before, after]);
    expect(texts()).toEqual(['new question', 'new answer']);
  });

  it("another agent's reset event is not the mayor's", () => {
    const chat = new ChatModel();
    chat.setMayor(MAYOR);
    chat.applyEvent(ev(1, 'agent.text', { text: 'hello' }));
    expect(chat.applyEvent({ ...ev(2, 'mayor.session_reset', {}, 50), agentId: 'ag_other01' })).toBe(false);
    expect(chat.entries()).toHaveLength(1);
  });

  it('the reset event also refreshes the agents (the session line)', () => {
    expect(panelsFor({ type: 'mayor.session_reset' })).toEqual(['agents']);
  });
});
