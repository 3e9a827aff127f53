/**
 * The control-plane URL a town hands its containers (the origin its owner reaches it at, when
 * GASTOWN_PUBLIC_URL is not set) must be https, or http to a loopback host: a dispatch with any
 * other URL is refused with 400 validation_failed before an agent starts or a message is stored.
 */
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call, expectError, type CallResult } from '../helpers';
import { dispatchTown, type DispatchFixture } from '../support/agent-calls';

/** A mayor message sent to the worker at another origin (what the town then remembers as its control-plane URL). */
async function sendToMayorAt(origin: string, f: DispatchFixture, text: string): Promise<CallResult> {
  const res = await exports.default.fetch(
    new Request(`${origin}/api/towns/${f.town.id}/mayor/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${f.userToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text }),
    }),
  );
  return { status: res.status, body: await res.json(), headers: res.headers };
}

describe('the control-plane URL handed to containers', () => {
  it('http to a host that is not loopback: the dispatch is refused (400 validation_failed), nothing stored or started', async () => {
    const f = await dispatchTown();
    const res = await sendToMayorAt('http://gastown.example.com', f, 'hello');
    expectError(res, 400, 'validation_failed');
    expect(res.body.error.message).toContain('https');
    expect(f.fake.of('start')).toEqual([]);
    expect((await call('GET', `/api/towns/${f.town.id}/mayor/messages`, { token: f.userToken })).body.messages).toEqual([]);
  });

  it.each([
    { name: 'https', origin: 'https://gastown.example.com' },
    { name: 'http to 127.0.0.1', origin: 'http://127.0.0.1:8787' },
    { name: 'http to localhost', origin: 'http://localhost:8787' },
    { name: 'http to ::1', origin: 'http://[::1]:8787' },
  ])('$name: the agent starts with it', async ({ origin }) => {
    const f = await dispatchTown();
    const res = await sendToMayorAt(origin, f, 'hello');
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.delivery).toBe('started');
    expect(f.fake.of('start').at(-1)!.req.controlPlaneUrl).toBe(origin);
  });

  it('a polecat is not dispatched either, and its bead spends no attempt', async () => {
    const f = await dispatchTown();
    expect((await sendToMayorAt('https://gastown.example.com', f, 'hello')).status).toBe(201);
    const { startedAgent } = await import('../support/agent-calls');
    const { callTool } = await import('../helpers');
    const mayor = startedAgent(f.fake.of('start')[0]!.req);
    const bead = (await callTool(mayor, 'sling', { rigId: f.rig.id, title: 'work', body: 'x' })).body.bead;
    // the owner now reaches the town over plain http: that origin is what the town would hand over
    expect(
      (
        await exports.default.fetch(
          new Request(`http://gastown.example.com/api/towns/${f.town.id}/config`, {
            method: 'PATCH',
            headers: { authorization: `Bearer ${f.userToken}`, 'content-type': 'application/json' },
            body: '{}',
          }),
        )
      ).status,
    ).toBe(200);
    const { runAlarm } = await import('../support/fake-container');
    await runAlarm(f.town.id);
    expect(f.fake.of('start').filter((s) => s.req.agent.role === 'polecat')).toEqual([]);
    const beads = (await call('GET', `/api/towns/${f.town.id}/beads`, { token: f.userToken })).body.beads as { id: string; status: string; attempts: number }[];
    expect(beads.find((b) => b.id === bead.id)).toMatchObject({ status: 'open', attempts: 0 });
  });
});
