/**
 * Fault 5 (docs/RELIABILITY.md): the container's clock is 60 s ahead of / behind the control
 * plane's (GASTOWN_CLOCK_OFFSET_MS, a test-only knob applied to the container's injected Clock:
 * broker, heartbeats, event times). With 10 s tokens, over several lifetimes: zero 401s anywhere,
 * zero failed tool calls, the same agent process and session.
 *
 * One small stack per direction (the knob is per container host).
 */
import { describe, expect, it } from 'vitest';
import { findStackProcesses, failureCodeOf } from '../../src/stack/index';
import { sleep, startHarness, waitFor, describeAgents } from '../support/harness';
import { unauthorizedFor } from '../support/unauthorized';
import { runtimeOf } from './support';

const TTL = 10;
const RUN_SECONDS = Number(process.env.E2E_SKEW_SECONDS ?? 40);

describe('5. clock skew between container and control plane', () => {
  for (const offsetMs of [60_000, -60_000]) {
    it(`container clock ${offsetMs > 0 ? '+' : ''}${offsetMs / 1000} s: zero false 401s over ${RUN_SECONDS} s of ${TTL} s tokens`, async () => {
      const h = await startHarness({ hostEnv: { GASTOWN_CLOCK_OFFSET_MS: String(offsetMs) } });
      try {
        const { town } = await h.createTown(`skew${offsetMs > 0 ? 'plus' : 'minus'}`, { rig: false, agentTokenTtlSeconds: TTL });
        const mayor = await h.mayorOf(town.id);
        const ended = () => (h.stack.fakeLlm?.chatRequests(mayor.id) ?? []).filter((r) => r.answer.type === 'text').length;
        const describe = async () => describeAgents(await h.agentsOf(town.id));
        const turn = async (text: string) => {
          const n = ended();
          expect((await h.api.sendMayorMessage(town.id, text)).delivery).not.toBe('failed');
          await waitFor(() => ended() > n, { timeoutMs: 120_000, what: `the answer to "${text}"`, describe });
        };
        await turn('Hello.');
        const before = await runtimeOf(h.stack, town.id, mayor.id);
        await sleep(RUN_SECONDS * 1000);
        await turn('Still there?');
        const after = await runtimeOf(h.stack, town.id, mayor.id);

        const failed = h.stack
          .fakeLlm!.toolResults(mayor.id)
          .filter((r) => failureCodeOf(r) !== null)
          .map((r) => r.content.slice(0, 200));
        expect(failed, 'failed tool results').toEqual([]);
        expect([after.pid, after.sessionId, after.gen]).toEqual([before.pid, before.sessionId, before.gen]);
        expect(after.credential.refreshCount - before.credential.refreshCount, 'refreshes during the run').toBeGreaterThanOrEqual(
          Math.floor(RUN_SECONDS / TTL),
        );
        expect(after.credential).toMatchObject({ state: 'valid', unauthorizedCount: 0 });
        const agents = await h.agentsOf(town.id);
        const state = await h.stack.hostState(town.id);
        const report = unauthorizedFor(h.stack, town.id, agents, new Set([state.instanceId!]));
        expect(report).toEqual({ toolResults: [], containerLines: [], workerLines: [], reportedByBroker: [], total: 0 });
        console.log(
          `fault-figures ${JSON.stringify({ fault: 'clock-skew', offsetMs, ttlSeconds: TTL, runSeconds: RUN_SECONDS, refreshes: after.credential.refreshCount - before.credential.refreshCount })}`,
        );
      } finally {
        await h.stack.stop();
        expect(findStackProcesses(h.stack.stateDir)).toEqual([]);
      }
    });
  }
});
