/**
 * Inbound requests to an idle town container on the whole local stack (`startStack()`):
 * `wrangler dev` running the control plane (TownDO with its alarm), the container host and
 * its real container process, a real `opencode serve` mayor driven by the testkit's scripted
 * fake LLM. The mayor answers one message and then waits; over a real interval we count the
 * host's inbound log (everything the control plane sends to the container) while the broker
 * refreshes outbound, then shorten sleepAfter and time the container going to sleep.
 *
 * Shortened for the run: the agent token TTL (20 s instead of an hour, so the broker refreshes
 * every ~10 s and the alarm's backstop has tokens to consider), the heartbeat interval (5 s)
 * and sleepAfter (set to 15 s after the window). Nothing else is simulated.
 */
import { FAKE_LLM_KEY_VAR, FAKE_LLM_MODEL, createTownScenario, startStack, type Stack } from '@gastown/testkit/stack/index';
import type { Agent } from '@gastown/protocol';
import { randomBytes } from 'node:crypto';

export interface IdleStackOptions {
  windowSeconds: number;
  ttlSeconds: number;
  sleepAfterSeconds: number;
}

export interface IdleStackResult {
  windowSeconds: number;
  ttlSeconds: number;
  heartbeatIntervalSeconds: number;
  stackStartMs: number;
  /** Message sent → mayor answered and reported waiting. */
  mayorReadyMs: number;
  inboundBeforeWindow: number;
  inboundDuringWindow: number;
  inboundPerHourWhileIdle: number;
  /** Broker refreshes in the window, as the broker reported them (heartbeat) and as the control plane counted them. */
  refreshesReported: number;
  refreshesControlPlane: number;
  credentialState: string | null;
  unauthorizedCount: number | null;
  mayorStatus: string;
  /** sleepAfter set → container asleep (s), and inbound requests in that span. */
  sleepAfterSeconds: number;
  asleepAfterSeconds: number | null;
  inboundUntilAsleep: number;
  containerStarts: number;
  containerSleeps: number;
}

const HEARTBEAT_SECONDS = 5;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

export async function measureIdleStack(options: IdleStackOptions): Promise<IdleStackResult> {
  const scenario = createTownScenario();
  const llmApiKey = `fake-${randomBytes(16).toString('hex')}`;
  const t0 = performance.now();
  const stack: Stack = await startStack({
    fakeLlm: { apiKey: llmApiKey, responder: scenario.responder },
    hostEnv: { GASTOWN_HEARTBEAT_INTERVAL_SECONDS: String(HEARTBEAT_SECONDS), GASTOWN_STOP_TIMEOUT_SECONDS: '5', GASTOWN_STOP_GRACE_SECONDS: '10' },
    workerVars: { GASTOWN_HEARTBEAT_INTERVAL_SECONDS: String(HEARTBEAT_SECONDS) },
    frozenWorker: true,
  });
  const stackStartMs = performance.now() - t0;
  try {
    const api = await stack.userApi('bench-user');
    const created = await api.createTown('idle-bench');
    const town = await api.updateConfig(created.id, {
      provider: { kind: 'openai-compatible', baseUrl: stack.fakeLlm!.url, model: FAKE_LLM_MODEL, apiKeyEnvVar: FAKE_LLM_KEY_VAR },
      envVars: { [FAKE_LLM_KEY_VAR]: llmApiKey },
      agentTokenTtlSeconds: options.ttlSeconds,
      sleepAfterSeconds: options.windowSeconds * 3, // not during the window
    });
    const mayorOf = async (): Promise<Agent> => {
      const mayor = (await api.agents(town.id)).find((a) => a.role === 'mayor');
      if (!mayor) throw new Error('no mayor');
      return mayor;
    };
    const t1 = performance.now();
    const sent = await api.sendMayorMessage(town.id, 'Hello mayor. Nothing to do today.');
    if (sent.delivery === 'failed') throw new Error('the mayor message was not delivered');
    const waiting = await waitFor('the mayor to answer and wait', 180_000, async () => {
      const m = await mayorOf();
      return m.status === 'waiting' && m.credential.reported ? m : null;
    });
    await sleep(3_000); // let the message request finish on every side
    const mayorReadyMs = performance.now() - t1;
    const markAt = Date.now();
    const before = await stack.hostState(town.id);
    await sleep(options.windowSeconds * 1000);
    const during = await stack.hostState(town.id);
    const mayor = await mayorOf();
    const windowSeconds = (Date.now() - markAt) / 1000;
    const inboundDuringWindow = during.inbound.filter((r) => r.at > markAt).length;

    const patchedAt = Date.now();
    await api.updateConfig(town.id, { sleepAfterSeconds: options.sleepAfterSeconds });
    const asleep = await waitFor('the container to sleep', (options.sleepAfterSeconds + 60) * 1000, async () => {
      const s = await stack.hostState(town.id);
      return s.running ? null : { state: s, at: Date.now() };
    }).catch(() => null);
    const final = asleep?.state ?? (await stack.hostState(town.id));
    return {
      windowSeconds,
      ttlSeconds: options.ttlSeconds,
      heartbeatIntervalSeconds: HEARTBEAT_SECONDS,
      stackStartMs: Math.round(stackStartMs),
      mayorReadyMs: Math.round(mayorReadyMs),
      inboundBeforeWindow: before.inbound.length,
      inboundDuringWindow,
      inboundPerHourWhileIdle: (inboundDuringWindow / windowSeconds) * 3600,
      refreshesReported: (mayor.credential.reported?.refreshCount ?? 0) - (waiting.credential.reported?.refreshCount ?? 0),
      refreshesControlPlane: mayor.credential.refreshCount - waiting.credential.refreshCount,
      credentialState: mayor.credential.reported?.state ?? null,
      unauthorizedCount: mayor.credential.reported?.unauthorizedCount ?? null,
      mayorStatus: mayor.status,
      sleepAfterSeconds: options.sleepAfterSeconds,
      asleepAfterSeconds: asleep ? Math.round((asleep.at - patchedAt) / 100) / 10 : null,
      inboundUntilAsleep: final.inbound.filter((r) => r.at > markAt).length,
      containerStarts: final.starts,
      containerSleeps: final.sleeps,
    };
  } finally {
    await stack.stop({ removeState: true });
  }
}
