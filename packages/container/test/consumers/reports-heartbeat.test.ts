import { describe, expect, it } from 'vitest';
import { GastownError } from '@gastown/protocol';
import type { CredentialStatus, HeartbeatRequest } from '@gastown/protocol';
import { ManualClock, ManualTimers } from '@gastown/testkit/fake-control-plane/index';
import { PeriodicHeartbeatLoop, reportCompletion, reportMergeResult } from '../../src/consumers';
import { silentLogger } from '../../src/log';

const STATUS: CredentialStatus = {
  accessTokenExpiresAt: 1,
  tokenFingerprint: 'abcdef12',
  nextRefreshAt: null,
  lastRefreshAt: null,
  lastRefreshSource: null,
  refreshCount: 0,
  consecutiveFailures: 0,
  unauthorizedCount: 0,
  lastError: null,
  state: 'valid',
};

function time() {
  const clock = new ManualClock();
  return { clock, timers: new ManualTimers(clock) };
}

/** Drive fake time until `promise` settles. */
async function drive<T>(timers: ManualTimers, promise: Promise<T>): Promise<T> {
  let done = false;
  const tracked = promise.finally(() => {
    done = true;
  });
  tracked.catch(() => undefined);
  for (let i = 0; i < 100 && !done; i += 1) if (!(await timers.runNext())) await new Promise((r) => setImmediate(r));
  return tracked;
}

describe('reportCompletion / reportMergeResult', () => {
  it.each([
    {
      name: 'completion',
      run: (client: never, timers: ManualTimers) => reportCompletion(client, { outcome: 'completed' }, { timers, random: () => 0.5, logger: silentLogger }),
    },
    {
      name: 'merge result',
      run: (client: never, timers: ManualTimers) =>
        reportMergeResult(
          client,
          { mergeRequestBeadId: 'bd_00000001', outcome: 'merged', commitSha: 'a'.repeat(40) },
          { timers, random: () => 0.5, logger: silentLogger },
        ),
    },
  ])('$name: retried with backoff through transient failures', async ({ run }) => {
    const { timers } = time();
    let calls = 0;
    const fn = async () => {
      calls += 1;
      if (calls < 3) throw new GastownError('control_plane_unavailable', 'down');
    };
    const client = { completion: fn, mergeResult: fn } as never;
    await drive(timers, run(client, timers));
    expect(calls).toBe(3);
  });

  it('gives up after the attempt budget with the last typed error', async () => {
    const { timers } = time();
    let calls = 0;
    const client = {
      completion: async () => {
        calls += 1;
        throw new GastownError('control_plane_unavailable', 'down');
      },
    };
    const err = await drive(timers, reportCompletion(client, { outcome: 'failed' }, { timers, random: () => 0.5, logger: silentLogger, attempts: 4 })).catch(
      (e: unknown) => e,
    );
    expect((err as GastownError).code).toBe('control_plane_unavailable');
    expect(calls).toBe(4);
  });

  it.each([{ code: 'validation_failed' as const }, { code: 'token_revoked' as const }, { code: 'role_forbidden' as const }])(
    'does not retry $code',
    async ({ code }) => {
      const { timers } = time();
      let calls = 0;
      const client = {
        completion: async () => {
          calls += 1;
          throw new GastownError(code, 'no');
        },
      };
      const err = await drive(timers, reportCompletion(client, { outcome: 'failed' }, { timers, random: () => 0.5, logger: silentLogger })).catch(
        (e: unknown) => e,
      );
      expect((err as GastownError).code).toBe(code);
      expect(calls).toBe(1);
    },
  );
});

describe('PeriodicHeartbeatLoop', () => {
  it('beats at start and every interval with the runtime snapshot and the broker status; keeps going through failures', async () => {
    const { clock, timers } = time();
    const sent: Array<{ at: number; body: HeartbeatRequest }> = [];
    let fail = false;
    const client = {
      heartbeat: async (body: HeartbeatRequest) => {
        if (fail) throw new GastownError('control_plane_unavailable', 'down');
        sent.push({ at: clock.now(), body });
        return { ok: true as const, gen: 1, serverTime: clock.now() };
      },
    };
    const loop = new PeriodicHeartbeatLoop({
      client,
      broker: { status: () => STATUS },
      snapshot: () => ({ containerInstanceId: 'c1', runtimeState: 'running', activity: 'working', pid: 42, sessionId: 's1' }),
      timers,
      logger: silentLogger,
      intervalMs: 10_000,
    });
    const t0 = clock.now();
    loop.start();
    await timers.advance(25_000);
    expect(sent.map((s) => s.at - t0)).toEqual([0, 10_000, 20_000]);
    expect(sent[0]!.body).toEqual({ containerInstanceId: 'c1', runtimeState: 'running', activity: 'working', pid: 42, sessionId: 's1', credential: STATUS });
    fail = true;
    await timers.advance(20_000);
    expect(loop.stats.consecutiveFailures).toBe(2);
    fail = false;
    await timers.advance(10_000);
    expect(sent).toHaveLength(4);
    expect(loop.stats.consecutiveFailures).toBe(0);
    loop.stop();
    await timers.advance(60_000);
    expect(sent).toHaveLength(4);
    expect(timers.pending).toBe(0);
  });
});
