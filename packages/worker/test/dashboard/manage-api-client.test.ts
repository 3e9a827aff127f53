/** The dashboard's ApiClient calls for managing a town: method, path and body of each, and the server's errors. */
import { describe, expect, it } from 'vitest';
import { ApiClient } from '../../dashboard/src/api/api-client';
import { ApiError } from '../../dashboard/src/api/api-error';

const TOWN = 'town_aaaaaaaa';

function recorder(answer: (method: string, url: string) => Response) {
  const calls: { method: string; url: string; body: unknown; auth: string | null }[] = [];
  const fetchImpl = async (url: string, init?: RequestInit) => {
    const method = init?.method ?? 'GET';
    const headers = (init?.headers ?? {}) as Record<string, string>;
    calls.push({ method, url, body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined, auth: headers.authorization ?? null });
    return answer(method, url);
  };
  return { calls, client: new ApiClient('tok', fetchImpl) };
}

describe('dashboard ApiClient: beads, convoys, escalations, agents, rigs', () => {
  it('sends each call to its route with its body and the token', async () => {
    const bead = { id: 'bd_1' };
    const { calls, client } = recorder((method, url) => {
      if (url.includes('/convoys') && method === 'GET') return Response.json({ convoys: [{ id: 'cv_1' }], nextCursor: null });
      if (url.includes('/convoys')) return Response.json({ convoy: { id: 'cv_1' } });
      if (url.includes('/escalations')) return Response.json({ escalation: bead });
      if (url.includes('/restart')) return Response.json({ agent: { id: 'ag_1' }, previousGen: 1 });
      if (url.includes('/nudge')) return Response.json({ agent: { id: 'ag_1' }, delivered: true });
      if (url.includes('/rigs/')) return Response.json({ deleted: true, rigId: 'rig_1', cancelledBeadIds: [], stoppedAgentIds: [], workspaces: 'removed' });
      return Response.json(method === 'DELETE' ? { deleted: true, beadId: 'bd_1' } : { bead });
    });
    await client.createBead(TOWN, { rigId: 'rig_1', title: 'T', labels: ['api'], dependsOn: ['bd_0'] });
    await client.updateBead(TOWN, 'bd_1', { priority: 0 });
    await client.closeBead(TOWN, 'bd_1');
    await client.reopenBead(TOWN, 'bd_1');
    await client.deleteBead(TOWN, 'bd_1');
    expect(await client.listConvoys(TOWN)).toEqual([{ id: 'cv_1' }]);
    await client.createConvoy(TOWN, { name: 'C', beadIds: ['bd_1'] });
    await client.updateConvoy(TOWN, 'cv_1', { status: 'cancelled' });
    await client.acknowledgeEscalation(TOWN, 'bd_e');
    await client.resolveEscalation(TOWN, 'bd_e');
    expect((await client.restartAgent(TOWN, 'ag_1')).previousGen).toBe(1);
    expect((await client.nudgeAgent(TOWN, 'ag_1', 'hi')).delivered).toBe(true);
    expect((await client.deleteRig(TOWN, 'rig_1')).workspaces).toBe('removed');
    const t = `/api/towns/${TOWN}`;
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ['POST', `${t}/beads`, { rigId: 'rig_1', title: 'T', labels: ['api'], dependsOn: ['bd_0'] }],
      ['PATCH', `${t}/beads/bd_1`, { priority: 0 }],
      ['POST', `${t}/beads/bd_1/close`, {}],
      ['POST', `${t}/beads/bd_1/reopen`, {}],
      ['DELETE', `${t}/beads/bd_1`, undefined],
      ['GET', `${t}/convoys?limit=500`, undefined],
      ['POST', `${t}/convoys`, { name: 'C', beadIds: ['bd_1'] }],
      ['PATCH', `${t}/convoys/cv_1`, { status: 'cancelled' }],
      ['POST', `${t}/escalations/bd_e/acknowledge`, {}],
      ['POST', `${t}/escalations/bd_e/resolve`, {}],
      ['POST', `${t}/agents/ag_1/restart`, {}],
      ['POST', `${t}/agents/ag_1/nudge`, { text: 'hi' }],
      ['DELETE', `${t}/rigs/rig_1`, undefined],
    ]);
    expect(calls.every((c) => c.auth === 'Bearer tok')).toBe(true);
  });

  it("a refusal is an ApiError with the server's code and message (a cycle, a bead in progress)", async () => {
    const { client } = recorder(() =>
      Response.json({ error: { code: 'validation_failed', message: 'dependsOn: bd_1 → bd_2 → bd_1 is a cycle' } }, { status: 400 }),
    );
    const err = await client.updateBead(TOWN, 'bd_1', { dependsOn: ['bd_2'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: 'validation_failed', status: 400, message: 'dependsOn: bd_1 → bd_2 → bd_1 is a cycle' });
  });
});
