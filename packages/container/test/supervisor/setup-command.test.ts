/**
 * A rig's setup command (src/supervisor/setup-command.ts): run as the polecat's prepare step, in its
 * worktree, within the rig's time limit; output redacted into `setup.output` / `setup.failed`; a
 * failure fails the start with the output's tail. And nudges: into a live run's session, no turn.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AgentCommandResult } from '../../src/contracts';
import { SecretRegistry } from '../../src/log';
import { setupOutput, SETUP_SHELL } from '../../src/supervisor/setup-command';
import { createHarness, startRequest, type Harness } from './fakes';

const POLECAT = 'ag_polecat01';
const MAYOR = 'ag_mayor001';
const TOWN_KEY = 'sk-town-provider-key-0123456789abcdef';
const SETUP = { command: 'npm ci && npm run build', timeoutSeconds: 120 };

let h: Harness | null = null;
afterEach(async () => {
  vi.useRealTimers();
  if (h) await rm(h.dataDir, { recursive: true, force: true });
  h = null;
});

async function harness(setupResult?: () => AgentCommandResult): Promise<Harness> {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: 1_000_000 });
  const secrets = new SecretRegistry();
  secrets.add(TOWN_KEY);
  h = await createHarness({ secrets, ...(setupResult ? { setupResult } : {}) });
  return h;
}

describe('setup command', () => {
  it('runs in the worktree with /bin/sh -c and its time limit, before the agent is prompted; output in setup.output', async () => {
    const h = await harness(() => ({ code: 0, stdout: 'added 120 packages\n', stderr: '' }));
    await h.supervisor.start(startRequest('polecat', { setup: SETUP }));
    const { runtime, sink } = h.latest(POLECAT);
    expect(runtime.prepared).toEqual([{ file: SETUP_SHELL, args: ['-c', SETUP.command], cwd: join(h.dataDir, 'worktrees', POLECAT), timeoutMs: 120_000 }]);
    expect(runtime.prompts).toEqual(['start working']);
    expect(sink.records.filter((r) => r.type.startsWith('setup.'))).toEqual([
      { type: 'setup.output', data: { exitCode: 0, durationMs: 0, output: 'added 120 packages' } },
    ]);
  });

  const FAILURES: Array<{ name: string; result: AgentCommandResult; why: string; timedOut: boolean }> = [
    { name: 'a non-zero exit', result: { code: 1, stdout: 'npm ERR! missing script: build\n', stderr: '' }, why: 'exited with code 1', timedOut: false },
    { name: 'a timeout', result: { code: null, stdout: 'fetching…', stderr: '' }, why: 'timed out after 120 s', timedOut: true },
  ];
  it.each(FAILURES)('$name fails the start with the output tail (setup.failed), and the agent is never prompted', async ({ result, why, timedOut }) => {
    const h = await harness(() => result);
    const error = await h.supervisor.start(startRequest('polecat', { setup: SETUP })).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'upstream_failed' });
    expect((error as Error).message).toContain(`the rig's setup command ${why}; output: ${result.stdout.trim()}`);
    const { runtime, sink } = h.latest(POLECAT);
    expect(runtime.prompts).toEqual([]);
    expect(sink.records.find((r) => r.type === 'setup.failed')?.data).toMatchObject({ exitCode: result.code, timedOut, output: result.stdout.trim() });
    expect(h.supervisor.status(POLECAT)).toMatchObject({ runtimeState: 'failed' });
    expect(sink.closed).toBe(true); // flushed: the events reach the bead before the start's answer
  });

  it('redacts secrets of the registry (and secret patterns) from the events and the failure message', async () => {
    const h = await harness(() => ({ code: 2, stdout: `using key ${TOWN_KEY}\n`, stderr: 'token ghp_0123456789abcdefghijklmnopqrstuvwxyzAB leaked\n' }));
    const error = (await h.supervisor.start(startRequest('polecat', { setup: SETUP })).catch((e: unknown) => e)) as Error;
    const failed = JSON.stringify(h.latest(POLECAT).sink.records);
    for (const text of [failed, error.message]) {
      expect(text).not.toContain(TOWN_KEY);
      expect(text).not.toContain('ghp_0123456789abcdefghijklmnopqrstuvwxyzAB');
    }
    expect(failed).toContain('[stderr]');
  });

  it('is run for polecats only, and not without a setup in the start', async () => {
    const h = await harness();
    await h.supervisor.start(startRequest('mayor', { setup: SETUP }));
    await h.supervisor.start(startRequest('polecat'));
    expect(h.latest(MAYOR).runtime.prepared).toEqual([]);
    expect(h.latest(POLECAT).runtime.prepared).toEqual([]);
  });

  it('setupOutput keeps the tail of long output', () => {
    const out = setupOutput({ stdout: 'x'.repeat(10_000) + 'END', stderr: '' }, []);
    expect(out.length).toBe(4_000);
    expect(out.endsWith('END')).toBe(true);
  });
});

describe('nudge', () => {
  it("adds the text to a live run's session without a prompt (no turn), and says so in an event", async () => {
    const h = await harness();
    await h.supervisor.start(startRequest('polecat'));
    await h.supervisor.nudge(POLECAT, { text: '[nudge from the user] run the tests first' });
    const { runtime, sink } = h.latest(POLECAT);
    expect(runtime.notes).toEqual(['[nudge from the user] run the tests first']);
    expect(runtime.prompts).toEqual(['start working']);
    expect(sink.records.find((r) => r.type === 'agent.nudged')?.data).toEqual({ chars: 41 });
  });

  it('refuses an unknown agent (not_found), an ended run (conflict) and a bad body (validation_failed)', async () => {
    const h = await harness();
    await expect(h.supervisor.nudge('ag_nobody01', { text: 'hi' })).rejects.toMatchObject({ code: 'not_found' });
    await h.supervisor.start(startRequest('polecat'));
    await expect(h.supervisor.nudge(POLECAT, { text: '' })).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(h.supervisor.nudge(POLECAT, { text: 'hi', extra: 1 })).rejects.toMatchObject({ code: 'validation_failed' });
    await h.supervisor.stop(POLECAT, {});
    await expect(h.supervisor.nudge(POLECAT, { text: 'hi' })).rejects.toMatchObject({ code: 'conflict' });
  });
});
