/**
 * A rig's setup command (`npm ci`): run in a polecat's worktree before its agent starts
 * (RuntimeOptions.prepare), as the agent — its uid, its sandbox — without the agent's broker key,
 * within the rig's time limit. Its output is redacted with the container's secret registry (and the
 * secret patterns) before it goes anywhere: event `setup.output` when it succeeds, `setup.failed`
 * with the output's tail when it exits non-zero or times out — and then the start fails with that
 * tail, which fails the attempt. The command comes from the rig's settings (the user's), never from
 * an agent.
 */
import { GastownError, SETUP_EVENTS, SETUP_OUTPUT_TAIL_CHARS, type AgentSetup, type Clock } from '@gastown/protocol';
import type { AgentCommandResult, AgentCommandRunner, Logger } from '../contracts';
import { redactString } from '../log/redact';

/** The shell the command runs with (`/bin/sh -c <command>`). */
export const SETUP_SHELL = '/bin/sh';
/** Characters of the output's tail in the start's failure message (the full tail is in `setup.failed`). */
export const SETUP_FAILURE_TAIL_CHARS = 300;

export interface SetupCommandDeps {
  /** The polecat's worktree: the command's working directory. */
  workdir: string;
  /** The run's event stream (redacts again on its own). */
  emit: (type: string, data: Record<string, unknown>) => void;
  /** The container's secret registry, read at the time of use. */
  secrets: () => readonly string[];
  clock: Clock;
  logger: Logger;
}

/** The prepare step of a run whose start carries `setup`. */
export function setupCommandStep(setup: AgentSetup, deps: SetupCommandDeps): (run: AgentCommandRunner) => Promise<void> {
  return async (run) => {
    const startedAt = deps.clock.now();
    deps.logger.info('setup.started', { timeoutSeconds: setup.timeoutSeconds });
    const result = await run(SETUP_SHELL, ['-c', setup.command], { cwd: deps.workdir, timeoutMs: setup.timeoutSeconds * 1000 }).catch((error: unknown) => {
      // could not be spawned at all: a failure of the setup like any other
      const message = redactString(error instanceof Error ? error.message : String(error), deps.secrets());
      return { code: null, stdout: '', stderr: message, spawnFailed: true } as AgentCommandResult & { spawnFailed: true };
    });
    const durationMs = deps.clock.now() - startedAt;
    const output = setupOutput(result, deps.secrets());
    if (result.code === 0) {
      deps.emit(SETUP_EVENTS.output, { exitCode: 0, durationMs, output });
      deps.logger.info('setup.succeeded', { durationMs });
      return;
    }
    const timedOut = result.code === null && !('spawnFailed' in result);
    const why = timedOut ? `timed out after ${setup.timeoutSeconds} s` : result.code === null ? 'could not run' : `exited with code ${result.code}`;
    deps.emit(SETUP_EVENTS.failed, { exitCode: result.code, timedOut, durationMs, output });
    deps.logger.warn('setup.failed', { exitCode: result.code, timedOut, durationMs });
    const tail = output.slice(-SETUP_FAILURE_TAIL_CHARS).trim();
    throw new GastownError('upstream_failed', `the rig's setup command ${why}${tail ? `; output: ${tail}` : ' (no output)'}`);
  };
}

/** stdout, then stderr (marked), redacted, as one text of at most SETUP_OUTPUT_TAIL_CHARS (the tail). */
export function setupOutput(result: Pick<AgentCommandResult, 'stdout' | 'stderr'>, secrets: readonly string[]): string {
  const parts = [result.stdout.trimEnd(), result.stderr.trimEnd() ? `[stderr]\n${result.stderr.trimEnd()}` : ''].filter((part) => part !== '');
  return redactString(parts.join('\n'), secrets).slice(-SETUP_OUTPUT_TAIL_CHARS);
}
