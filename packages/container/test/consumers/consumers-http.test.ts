import { afterEach, describe, expect, it } from 'vitest';
import { BatchingEventSink, PeriodicHeartbeatLoop, reportCompletion, reportMergeResult } from '../../src/consumers';
import { T0, wire } from '../broker/http-support';
import type { Wired } from '../broker/http-support';
import { AGENT } from '../broker/support';

let w: Wired | null = null;
afterEach(async () => {
  await w?.stop();
  w = null;
});

describe('consumers over real HTTP, through token rotations', () => {
  it('heartbeats, events, completion and merge results all arrive authenticated across ≥ 2 rotations', async () => {
    w = await wire({ cp: { tokenTtlSeconds: 3 }, random: () => 0.37 });
    const { client, broker, clock, timers, cp } = w;
    const heartbeat = new PeriodicHeartbeatLoop({
      client,
      broker,
      snapshot: () => ({ containerInstanceId: 'ci-1', runtimeState: 'running', activity: 'working', pid: 1234, sessionId: 'ses_1' }),
      timers,
      logger: w.log.logger,
      intervalMs: 500,
    });
    const sink = new BatchingEventSink({ client, clock, random: Math.random, timers, logger: w.log.logger, flushIntervalMs: 250, maxBatch: 20 });
    heartbeat.start();

    const emitted: string[] = [];
    const end = T0 + 12_000;
    for (let t = T0; t <= end; t += 100) {
      await timers.advanceTo(t);
      emitted.push(sink.emit('tool.call', { t: t - T0 }).id);
      if (t === T0 + 4_000) cp.failNextWith('token_expired', { route: 'events' });
      if (t === T0 + 5_000)
        await reportCompletion(
          client,
          { outcome: 'completed', reason: 'done', branch: 'gt/ag_agent0001/bd_00000001' },
          { timers, random: () => 0.5, logger: w.log.logger },
        );
      if (t === T0 + 9_000)
        await reportMergeResult(
          client,
          { mergeRequestBeadId: 'bd_00000002', outcome: 'merged', commitSha: 'b'.repeat(40) },
          { timers, random: () => 0.5, logger: w.log.logger },
        );
    }
    expect(await sink.close()).toBe(true);
    heartbeat.stop();

    // rotations happened, and the consumers were carried across them
    const rotations = cp.requestsFor('refresh').filter((r) => r.auth === 'valid');
    expect(rotations.length).toBeGreaterThanOrEqual(3);
    const consumerRoutes = ['heartbeat', 'events', 'completion', 'mergeResult'] as const;
    const consumerRequests = cp.requests.filter((r) => (consumerRoutes as readonly string[]).includes(r.route));
    const injected = consumerRequests.filter((r) => r.auth === 'refused');
    expect(injected).toHaveLength(1);
    expect(consumerRequests.filter((r) => r.auth !== 'refused').every((r) => r.auth === 'valid' && r.status === 200)).toBe(true);
    const tokensUsed = new Set(consumerRequests.map((r) => r.credentialFingerprint));
    expect(tokensUsed.size).toBeGreaterThanOrEqual(3);

    // everything arrived, exactly once
    expect(cp.events.map((e) => e.event.id).sort()).toEqual([...emitted].sort());
    expect(cp.heartbeats.length).toBeGreaterThanOrEqual(20);
    expect(cp.heartbeats.at(-1)!.body.credential).toMatchObject({ state: 'valid', tokenFingerprint: broker.status().tokenFingerprint });
    expect(cp.completions).toEqual([{ agentId: AGENT.id, body: { outcome: 'completed', reason: 'done', branch: 'gt/ag_agent0001/bd_00000001' } }]);
    expect(cp.mergeResults).toHaveLength(1);
    // the heartbeat carries the broker's view, never the token
    expect(JSON.stringify(cp.heartbeats)).not.toMatch(/eyJ/);
  });

  it('events survive a control-plane outage: retried, deduplicated, none lost', async () => {
    w = await wire({ cp: { tokenTtlSeconds: 30 } });
    const { client, clock, timers, cp } = w;
    const sink = new BatchingEventSink({ client, clock, random: () => 0.5, timers, logger: w.log.logger, flushIntervalMs: 200 });
    const emitted: string[] = [];
    for (let t = T0; t <= T0 + 20_000; t += 100) {
      if (t === T0 + 2_000) cp.refuseAllFor(5_000, '503');
      await timers.advanceTo(t);
      emitted.push(sink.emit('tool.call', { t }).id);
    }
    expect(await sink.flush()).toBe(true);
    expect(cp.events.map((e) => e.event.id).sort()).toEqual([...emitted].sort());
    expect(cp.requestsFor('events').some((r) => r.status === 503)).toBe(true);
  });
});
