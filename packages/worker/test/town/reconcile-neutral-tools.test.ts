/**
 * Tools in RECONCILE_NEUTRAL_TOOLS skip the alarm re-arm from the whole town (town-do.ts
 * `callTool`, issue 17): each must change nothing the reconciler reads, except to move an agent's
 * `updated_at` later (which only postpones its deadlines). Checked here against the reconciler's
 * own input, loaded before and after a real call of each, in a town with agents and beads of
 * every kind; and a neutral call still arms the alarm when none is armed.
 */
import type { ToolName } from '@gastown/protocol';
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { LivenessMemory } from '../../src/town/liveness-memory';
import { loadReconcileState } from '../../src/town/reconciler/load-state';
import { nextWakeAt } from '../../src/town/reconciler/reconcile';
import type { ReconcileState } from '../../src/town/reconciler/types';
import { RECONCILE_NEUTRAL_TOOLS } from '../../src/town/services/tool-service';
import { createTownSettings } from '../../src/town/town-settings';
import { callTool, type AgentWithCredentials } from '../helpers';
import { complete, dispatchTown, heartbeat, sendToMayor, startedAgent } from '../support/agent-calls';
import { runAlarm } from '../support/fake-container';
import { townContextOf } from '../support/town-context';

function reconcileStateOf(townId: string): Promise<ReconcileState> {
  const stub = env.TOWN.get(env.TOWN.idFromName(townId));
  return runInDurableObject(stub, (_instance, state) => loadReconcileState(townContextOf(state, townId, { liveness: new LivenessMemory(0) })));
}

/** The state with every agent's updatedAt taken from `reference` (the one field a neutral tool may move). */
function withUpdatedAtOf(state: ReconcileState, reference: ReconcileState): ReconcileState {
  const before = new Map(reference.agents.map((a) => [a.id, a.updatedAt]));
  return { ...state, agents: state.agents.map((a) => ({ ...a, updatedAt: before.get(a.id) ?? a.updatedAt })) };
}

describe('tools that skip the re-arm change nothing the reconciler reads', () => {
  it('each neutral tool, called for real: same reconciler input but a later updated_at; no earlier wake-up', async () => {
    const f = await dispatchTown();
    await sendToMayor(f, 'please work');
    const mayor = startedAgent(f.fake.of('start')[0]!.req);
    await heartbeat(mayor, { activity: 'working' });
    const batch = await callTool(mayor, 'sling_batch', {
      name: 'pair',
      beads: [
        { rigId: f.rig.id, title: 'one' },
        { rigId: f.rig.id, title: 'two' },
      ],
    });
    expect(batch.status, JSON.stringify(batch.body)).toBe(200);
    await runAlarm(f.town.id);
    const polecats = f.fake
      .of('start')
      .filter((s) => s.req.agent.role === 'polecat')
      .map((s) => startedAgent(s.req));
    expect(polecats).toHaveLength(2);
    await heartbeat(polecats[0]!, { activity: 'working' });
    await heartbeat(polecats[1]!, { activity: 'working' });
    expect((await complete(polecats[1]!, { outcome: 'completed', reason: 'done', branch: 'b' })).status).toBe(200);

    const beadId = (batch.body.beads as { id: string }[])[0]!.id;
    const argsOf: Record<string, { who: AgentWithCredentials; args: unknown }> = {
      status: { who: polecats[0]!, args: { text: 'compiling' } },
      list_rigs: { who: polecats[0]!, args: {} },
      list_beads: { who: mayor, args: {} },
      list_agents: { who: mayor, args: {} },
      prime: { who: polecats[0]!, args: {} },
      bead_status: { who: mayor, args: { beadId } },
      list_convoys: { who: mayor, args: {} },
      convoy_status: { who: mayor, args: { convoyId: (batch.body.convoy as { id: string }).id } },
    };
    expect(Object.keys(argsOf).sort()).toEqual([...RECONCILE_NEUTRAL_TOOLS].sort()); // a tool added to the set needs a case here

    for (const tool of RECONCILE_NEUTRAL_TOOLS) {
      const before = await reconcileStateOf(f.town.id);
      const { who, args } = argsOf[tool as ToolName]!;
      const res = await callTool(who, tool, args);
      expect(res.status, `${tool}: ${JSON.stringify(res.body)}`).toBe(200);
      const after = await reconcileStateOf(f.town.id);
      expect(withUpdatedAtOf(after, before), tool).toEqual(before);
      for (const agent of after.agents) expect(agent.updatedAt).toBeGreaterThanOrEqual(before.agents.find((a) => a.id === agent.id)!.updatedAt);
      const settings = createTownSettings();
      const now = Date.now();
      for (const t of [now, now + 31_000, now + 91_000, now + 3_600_000]) {
        expect(nextWakeAt(after, t, settings) ?? Infinity, `${tool} at +${t - now} ms`).toBeGreaterThanOrEqual(nextWakeAt(before, t, settings) ?? Infinity);
      }
    }
  });

  it('a neutral tool arms the alarm when none is armed', async () => {
    const f = await dispatchTown();
    await sendToMayor(f, 'please work');
    const mayor = startedAgent(f.fake.of('start')[0]!.req);
    await heartbeat(mayor, { activity: 'working' });
    expect(f.alarms.at).not.toBeNull();
    await f.alarms.clear();
    expect((await callTool(mayor, 'status', { text: 'thinking' })).status).toBe(200);
    expect(f.alarms.at).not.toBeNull();
    // armed: a neutral call leaves it where it is (a changing call may only pull it earlier)
    const armed = f.alarms.at;
    const writes = f.alarms.history.length;
    expect((await callTool(mayor, 'list_beads', {})).status).toBe(200);
    expect(f.alarms.at).toBe(armed);
    expect(f.alarms.history.length).toBe(writes);
  });
});
