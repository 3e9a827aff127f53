/**
 * What the supervisor sends the control plane about a run (event records, the status's
 * lastError, a start failure, the completion reason) is redacted with the secret registry
 * when it can hold agent output (issue 11, point 5).
 */
import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fingerprint, SecretRegistry } from '../../src/log';
import { createHarness, startRequest, type Harness } from './fakes';

const POLECAT = 'ag_polecat01';
const SERVER_PASSWORD = 'Xq3vR9pLm2TzW8yKc4NbHs7D';
const MARKER = `[redacted:${fingerprint(SERVER_PASSWORD)}]`;

let harnesses: Harness[] = [];
async function harness(options: Parameters<typeof createHarness>[0] = {}): Promise<{ h: Harness; secrets: SecretRegistry }> {
  const secrets = new SecretRegistry();
  secrets.add(SERVER_PASSWORD);
  const h = await createHarness({ ...options, secrets });
  harnesses.push(h);
  return { h, secrets };
}
afterEach(async () => {
  vi.useRealTimers();
  for (const h of harnesses) await rm(h.dataDir, { recursive: true, force: true });
  harnesses = [];
});

describe('supervisor redaction', () => {
  it('hands the event sink the registry and redacts runtime records and lastError', async () => {
    const { h, secrets } = await harness();
    await h.supervisor.start(startRequest('polecat'));
    expect(h.sinkOptions.at(-1)?.secrets).toBe(secrets);
    const { runtime, sink } = h.latest(POLECAT);
    runtime.emit({ type: 'text', sessionId: 's', messageId: 'm', text: `the password is ${SERVER_PASSWORD}`, final: true });
    runtime.emit({ type: 'error', sessionId: 's', message: `provider rejected ${SERVER_PASSWORD}` });
    const records = JSON.stringify(sink.records);
    expect(records).not.toContain(SERVER_PASSWORD);
    expect(records).toContain(MARKER);
    expect(h.supervisor.status(POLECAT).lastError).toBe(`provider rejected ${MARKER}`);
  });

  it('a start failure whose message carries the runtime output is redacted in the thrown error and the status', async () => {
    const { h } = await harness({ runtimeStartError: new Error(`the runtime exited before listening; output: pw=${SERVER_PASSWORD}`) });
    const failure = await h.supervisor.start(startRequest('polecat')).then(
      () => ({ code: 'none', message: 'started' }),
      (error: unknown) => error as { code: string; message: string },
    );
    expect(failure).toMatchObject({ code: 'internal' });
    expect(failure.message).toBe(`the runtime exited before listening; output: pw=${MARKER}`);
    expect(h.supervisor.status(POLECAT).lastError).toBe(failure.message);
  });

  it('the completion reason of a failed branch push is redacted', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: 1_000_000 });
    const { h } = await harness();
    h.git.pushError = new Error(`pre-push hook said ${SERVER_PASSWORD}`);
    await h.supervisor.start(startRequest('polecat'));
    h.latest(POLECAT).runtime.emit({ type: 'session.idle', sessionId: 's' });
    await vi.advanceTimersByTimeAsync(120_000);
    for (let i = 0; i < 20; i++) await Promise.resolve();
    await vi.advanceTimersByTimeAsync(0);
    const completions = h.latest(POLECAT).client.completions;
    expect(completions).toHaveLength(1);
    expect(completions[0]!.reason).toContain(`branch push failed: pre-push hook said ${MARKER}`);
  });
});
