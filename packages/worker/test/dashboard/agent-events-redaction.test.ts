/**
 * Agent-provided event text is redacted before the TownDO stores it, so neither the stored rows
 * (agent_events, town_events), the user API list nor the SSE stream ever carry a credential
 * (issue 11, point 5): the agent's own access token (a JWT), its refresh credential (`gtr_…`) and
 * a provider key (`sk-…`) become `[redacted]`.
 */
import { exports } from 'cloudflare:workers';
import type { TownEvent } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { BASE, call, readUntil, setupTown, snapshotTown } from '../helpers';

const PROVIDER_KEY = 'sk-proj-AbCdEf0123456789GhIjKl0123456789MnOp';

describe('agent events are redacted before they are stored or streamed', () => {
  it('a JWT, a gtr_ credential and an sk- key in text, tool output and completion reason never reach storage, the list or the stream', async () => {
    const f = await setupTown();
    const jwt = f.polecat.token;
    const refresh = f.polecat.credentials.refreshCredential;
    const secrets = [jwt, refresh, PROVIDER_KEY];
    expect(jwt).toMatch(/^eyJ/);
    expect(refresh).toMatch(/^gtr_/);
    const leaky = `token=${jwt} refresh=${refresh} OPENAI_API_KEY=${PROVIDER_KEY}`;
    const text = { id: 'evt_leak_text1', type: 'agent.text', at: 1, data: { sessionId: 's1', messageId: 'm1', text: `env says: ${leaky}` } };
    const tool = {
      id: 'evt_leak_tool1',
      type: 'agent.tool',
      at: 2,
      data: { sessionId: 's1', callId: 'c1', tool: 'bash', state: 'completed', input: '{"command":"env"}', output: { lines: [leaky] } },
    };
    const hidden = { id: 'evt_leak_note1', type: 'agent.debug_note', at: 3, data: { [refresh]: leaky } };
    const path = `/agent/towns/${f.town.id}/agents/${f.polecat.agent.id}/events`;
    const res = await call('POST', path, { token: f.polecat.token, body: { events: [text, tool, hidden] } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ accepted: 3, duplicates: 0 });
    const done = await call('POST', `/agent/towns/${f.town.id}/agents/${f.polecat.agent.id}/completion`, {
      token: f.polecat.token,
      body: { outcome: 'failed', reason: `crashed: ${leaky}`, branch: null },
    });
    expect(done.status, JSON.stringify(done.body)).toBe(200);

    // the user API list
    const list = await call('GET', `/api/towns/${f.town.id}/events?limit=500`, { token: f.userToken });
    expect(list.status).toBe(200);
    const events = list.body.events as TownEvent[];
    const listed = events.find((e) => e.type === 'agent.text' && e.agentId === f.polecat.agent.id);
    expect(listed?.data).toEqual({ sessionId: 's1', messageId: 'm1', text: 'env says: token=[redacted] refresh=[redacted] OPENAI_API_KEY=[redacted]' });
    const listedText = JSON.stringify(events);
    for (const secret of secrets) expect(listedText).not.toContain(secret);

    // the SSE stream
    const stream = await exports.default.fetch(
      new Request(`${BASE}/api/towns/${f.town.id}/events/stream`, { headers: { authorization: `Bearer ${f.userToken}` } }),
    );
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader();
    const streamed = await readUntil(reader, 'event: agent.completed');
    await reader.cancel();
    expect(streamed).toContain('event: agent.text');
    expect(streamed).toContain('token=[redacted]');
    for (const secret of secrets) expect(streamed).not.toContain(secret);

    // every stored row (agent_events, town_events, beads…)
    const rows = JSON.stringify(await snapshotTown(f.town.id));
    expect(rows).toContain('[redacted]');
    for (const secret of secrets) expect(rows).not.toContain(secret);
  });
});
