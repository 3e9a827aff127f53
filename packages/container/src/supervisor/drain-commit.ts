/**
 * Drain (SIGTERM): a working polecat's uncommitted work is committed on its branch before the
 * container goes, so the branch — pushed right after by the run's orderly end — is the point the
 * re-dispatched polecat resumes from.
 *
 * The commit runs AS THE AGENT (its uid, its sandbox: `runAsAgent`): the repository is the
 * agent's, and whatever it planted in it (hooks, `core.fsmonitor`, aliases) runs with no more
 * rights than the agent already has. Hooks are skipped anyway (`--no-verify`, an empty
 * hooksPath) and every command is bounded by a timeout, so a hostile repository can delay the
 * drain by at most that much. The container itself only ever reads the result through the
 * branch copy (`git fetch` with a trusted upload-pack, packages/container/src/git).
 */
import type { AgentRuntime } from '../contracts';

/** Runs a short command as the agent (AgentRuntime.runAsAgent). */
export type RunsAsAgent = Pick<AgentRuntime, 'runAsAgent'>;

export interface WorkInProgressInput {
  workdir: string;
  message: string;
  author: { name: string; email: string };
  /** Budget of each git command. */
  timeoutMs: number;
  /** The git binary as the agent sees it. Default `git` (found on the agent's PATH). */
  gitBinary?: string;
}

export type WorkInProgressOutcome = { committed: true } | { committed: false; reason: 'clean' | 'failed'; detail: string };

const NO_HOOKS = ['-c', 'core.hooksPath=/dev/null', '-c', 'commit.gpgSign=false'];

export async function commitWorkInProgress(runner: RunsAsAgent, input: WorkInProgressInput): Promise<WorkInProgressOutcome> {
  const git = input.gitBinary ?? 'git';
  const env = {
    GIT_AUTHOR_NAME: input.author.name,
    GIT_AUTHOR_EMAIL: input.author.email,
    GIT_COMMITTER_NAME: input.author.name,
    GIT_COMMITTER_EMAIL: input.author.email,
    GIT_TERMINAL_PROMPT: '0',
  };
  const run = (args: string[]) => runner.runAsAgent(git, [...NO_HOOKS, '-C', input.workdir, ...args], { cwd: input.workdir, timeoutMs: input.timeoutMs, env });

  const added = await run(['add', '--all']);
  if (added.code !== 0) return { committed: false, reason: 'failed', detail: `git add exited ${added.code}: ${tail(added.stderr)}` };
  const staged = await run(['diff', '--cached', '--quiet']);
  if (staged.code === 0) return { committed: false, reason: 'clean', detail: 'nothing to commit' };
  if (staged.code !== 1) return { committed: false, reason: 'failed', detail: `git diff exited ${staged.code}: ${tail(staged.stderr)}` };
  const committed = await run(['commit', '--no-verify', '--quiet', '--message', input.message]);
  if (committed.code !== 0) return { committed: false, reason: 'failed', detail: `git commit exited ${committed.code}: ${tail(committed.stderr)}` };
  return { committed: true };
}

function tail(text: string): string {
  return text.trim().slice(-300);
}
