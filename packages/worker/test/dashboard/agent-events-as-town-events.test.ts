import type { TownEvent } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { call, setupTown } from '../helpers';

function eventsPath(townId: string, agentId: string): string {
  return `/agent/towns/${townId}/agents/${agentId}/events`;
}

async function townEvents(townId: string, token: string): Promise<TownEvent[]> {
  const res = await call('GET', `/api/towns/${townId}/events?limit=500`, { token });
  expect(res.status).toBe(200);
  return res.body.events as TownEvent[];
}

describe('agent events in the town event stream', () => {
  it('records newly accepted chat, session and credential events as town events with the agent id and data as sent', async () => {
    const f = await setupTown();
    const text = { id: 'evt_text_0001', type: 'agent.text', at: 1, data: { sessionId: 's1', messageId: 'm1', text: 'hello from the mayor' } };
    const tool = {
      id: 'evt_tool_0001',
      type: 'agent.tool',
      at: 2,
      data: { sessionId: 's1', callId: 'c1', tool: 'gt_sling', state: 'running', input: '{}', output: null },
    };
    const busy = { id: 'evt_busy_0001', type: 'session.busy', at: 3, data: { sessionId: 's1' } };
    const refreshed = { id: 'evt_cred_0001', type: 'credential.refreshed', at: 4, data: { source: 'pull', tokenFingerprint: 'abcd1234', refreshCount: 1 } };
    const res = await call('POST', eventsPath(f.town.id, f.mayor.agent.id), { token: f.mayor.token, body: { events: [text, tool, busy, refreshed] } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ accepted: 4, duplicates: 0 });

    const events = await townEvents(f.town.id, f.userToken);
    const mine = events.filter((e) => e.agentId === f.mayor.agent.id && ['agent.text', 'agent.tool', 'session.busy', 'credential.refreshed'].includes(e.type));
    expect(mine.map((e) => ({ type: e.type, data: e.data }))).toEqual([
      { type: 'agent.text', data: text.data },
      { type: 'agent.tool', data: tool.data },
      { type: 'session.busy', data: busy.data },
      { type: 'credential.refreshed', data: refreshed.data },
    ]);
  });

  it('does not record a duplicate (retried) event twice, nor event types that are not town-visible', async () => {
    const f = await setupTown();
    const text = { id: 'evt_text_0002', type: 'agent.text', at: 1, data: { sessionId: 's1', messageId: 'm1', text: 'once' } };
    const other = { id: 'evt_othr_0001', type: 'agent.debug_note', at: 2, data: { n: 1 } };
    const path = eventsPath(f.town.id, f.polecat.agent.id);
    expect((await call('POST', path, { token: f.polecat.token, body: { events: [text, other] } })).body).toEqual({ accepted: 2, duplicates: 0 });
    expect((await call('POST', path, { token: f.polecat.token, body: { events: [text] } })).body).toEqual({ accepted: 0, duplicates: 1 });

    const events = await townEvents(f.town.id, f.userToken);
    expect(events.filter((e) => e.type === 'agent.text' && e.agentId === f.polecat.agent.id)).toHaveLength(1);
    expect(events.filter((e) => e.type === 'agent.debug_note')).toHaveLength(0);
  });
});
