import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { BASE, call, createTown, createUserToken, readUntil, TEST_PROVIDER } from '../helpers';

describe('GET /api/towns/:townId/events/stream', () => {
  it('streams past events, then new ones as they are recorded; resumes after Last-Event-ID', async () => {
    const token = await createUserToken();
    const town = await createTown(token);
    const res = await exports.default.fetch(new Request(`${BASE}/api/towns/${town.id}/events/stream`, { headers: { authorization: `Bearer ${token}` } }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const first = await readUntil(reader, 'event: agent.created');
    expect(first).toContain('event: town.created');
    expect(first).toMatch(/^id: \d+$/m);

    await call('PATCH', `/api/towns/${town.id}/config`, { token, body: { provider: TEST_PROVIDER } });
    await call('POST', `/api/towns/${town.id}/mayor/messages`, { token, body: { text: 'ping' } });
    const next = await readUntil(reader, 'event: mayor.message_received');
    expect(next).toContain('"type":"mayor.message_received"');
    await reader.cancel();

    const ids = [...first.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    const resumed = await exports.default.fetch(
      new Request(`${BASE}/api/towns/${town.id}/events/stream`, { headers: { authorization: `Bearer ${token}`, 'last-event-id': String(ids.at(-1)) } }),
    );
    const resumedReader = resumed.body!.getReader();
    const resumedText = await readUntil(resumedReader, 'event: mayor.message_received');
    expect(resumedText).not.toContain('event: town.created');
    await resumedReader.cancel();
  });
});
