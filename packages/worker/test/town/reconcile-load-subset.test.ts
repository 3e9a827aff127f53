/**
 * The alarm tick reads only the agents the reconciler can act on or look up
 * (AgentRepository.listForReconcile, issue 17), not every row: the decisions and the next wake-up
 * must be exactly those over every row, in a town with rows of every kind.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { LivenessMemory } from '../../src/town/liveness-memory';
import { loadReconcileState } from '../../src/town/reconciler/load-state';
import { nextWakeAt, reconcile } from '../../src/town/reconciler/reconcile';
import type { AgentRepository } from '../../src/town/repositories/agent-repository';
import { call, callTool, spawnAgent } from '../helpers';
import { complete, dispatchTown, heartbeat, sendToMayor, startedAgent } from '../support/agent-calls';
import { runAlarm } from '../support/fake-container';
import { townContextOf } from '../support/town-context';

describe('reconciler input: only the agents it can act on', () => {
  it('same actions and next wake-up as over every row, at every time; idle and finished rows are not read', async () => {
    const f = await dispatchTown();
    await sendToMayor(f, 'please work');
    const mayor = startedAgent(f.fake.of('start')[0]!.req);
    await heartbeat(mayor, { activity: 'waiting' });
    for (const title of ['one', 'two']) await callTool(mayor, 'sling', { rigId: f.rig.id, title, body: 'x' });
    await runAlarm(f.town.id); // two polecats on the two beads
    const polecats = f.fake
      .of('start')
      .filter((s) => s.req.agent.role === 'polecat')
      .map((s) => startedAgent(s.req));
    expect(polecats).toHaveLength(2);
    await heartbeat(polecats[0]!, { activity: 'working' });
    // the second finishes its bead: exited, credentials revoked, merge request open for the refinery
    await heartbeat(polecats[1]!, { activity: 'working' });
    expect((await complete(polecats[1]!, { outcome: 'completed', reason: 'done', branch: 'b' })).status).toBe(200);
    // a run that ended by heartbeat only: exited with live credentials (revoked by the reconciler later)
    const ended = await spawnAgent(f.town.id, { role: 'polecat', rigId: f.rig.id, name: 'ended' });
    await heartbeat(ended, { runtimeState: 'exited' });
    // a refinery stopped by the user, idle rows never started
    const stopped = await spawnAgent(f.town.id, { role: 'refinery', rigId: f.rig.id, name: 'stopped-refinery' });
    expect((await call('POST', `/api/towns/${f.town.id}/agents/${stopped.agent.id}/stop`, { token: f.userToken })).status).toBe(200);
    const stub = env.TOWN.get(env.TOWN.idFromName(f.town.id));
    for (let i = 0; i < 5; i += 1) {
      const created = await stub.createAgent({ role: 'polecat', rigId: f.rig.id, beadId: null, name: `idle-${i}` });
      expect(created.ok).toBe(true);
    }
    await sendToMayor(f, 'status?');

    await runInDurableObject(stub, (_instance, state) => {
      const ctx = townContextOf(state, f.town.id, { liveness: new LivenessMemory(0) });
      const subset = loadReconcileState(ctx);
      const agents = ctx.repos.agents;
      const everyRow = Object.assign(Object.create(agents) as AgentRepository, { listForReconcile: () => agents.list() });
      const full = loadReconcileState({ ...ctx, repos: { ...ctx.repos, agents: everyRow } });
      expect(full.agents.length).toBe(agents.list().length);
      expect(subset.agents.length).toBeLessThan(full.agents.length);
      expect(subset.agents.map((a) => a.id)).not.toContain(stopped.agent.id);
      expect(subset.agents.map((a) => a.id)).toContain(ended.agent.id);
      const now = Date.now();
      const settings = ctx.settings;
      let acted = 0;
      for (const t of [now, now + 31_000, now + 91_000, now + 200_000, now + 3_600_000]) {
        const actions = reconcile(full, t, settings);
        acted += actions.length;
        expect(reconcile(subset, t, settings)).toEqual(actions);
        expect(nextWakeAt(subset, t, settings)).toBe(nextWakeAt(full, t, settings));
      }
      expect(acted).toBeGreaterThan(0); // the comparison covered decisions, not only empty lists
    });
  });
});
