/**
 * `git.credentials_expired` from the container's git token broker (one per outage of a private
 * rig's git token) is a town event and opens ONE escalation per rig while it stays open;
 * `git.credentials_recovered` is a town event too.
 */
import type { Bead } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { call } from '../helpers';
import { dispatchTown, heartbeat, postEvents, sendToMayor, startedAgent, townEvents } from '../support/agent-calls';

const gitEvent = (id: string, type: string, rigId: string) => ({
  id,
  type,
  at: Date.now(),
  data: { rigId, reason: 'expired', lastError: 'control plane answered 502' },
});

describe('git.credentials_expired', () => {
  it('is a town event and opens one escalation per rig per outage (a repeat while it is open adds nothing)', async () => {
    const f = await dispatchTown();
    await sendToMayor(f, 'hello');
    const mayor = startedAgent(f.fake.of('start')[0]!.req);
    await heartbeat(mayor, { activity: 'waiting' });
    const rigId = f.rig.id;
    expect((await postEvents(mayor, [gitEvent('ev_git00001', 'git.credentials_expired', rigId)])).status).toBe(200);
    expect((await postEvents(mayor, [gitEvent('ev_git00002', 'git.credentials_expired', rigId)])).status).toBe(200);
    expect((await postEvents(mayor, [gitEvent('ev_git00003', 'git.credentials_recovered', rigId)])).status).toBe(200);
    const beads = (await call('GET', `/api/towns/${f.town.id}/beads`, { token: f.userToken })).body.beads as Bead[];
    const escalations = beads.filter((b) => b.type === 'escalation' && b.title.includes('git credentials expired'));
    expect(escalations).toHaveLength(1);
    expect(escalations[0]!.title).toContain(rigId);
    expect(escalations[0]!.metadata.severity).toBe('high');
    const types = (await townEvents(f)).map((e) => e.type);
    expect(types.filter((t) => t === 'git.credentials_expired')).toHaveLength(2);
    expect(types).toContain('git.credentials_recovered');
  });
});
