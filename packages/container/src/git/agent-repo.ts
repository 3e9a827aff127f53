/**
 * The container's side of an agent's own repository (a polecat's `worktrees/<agentId>`, a
 * refinery's `clones/<agentId>`): names and reads that never run git inside it.
 *
 * An agent's repository is the agent's: its config, hooks, refs and objects are whatever the
 * agent made them (and, sandboxed, it belongs to another uid). The container never runs a git
 * command in it after handing it over. It only reads `.git/HEAD` as a file and fetches from it,
 * where git runs `upload-pack` in the agent's repository: that program runs no hooks, and the
 * config that would make it run a command (`uploadpack.packObjectsHook`) is only read from
 * protected (system, global, command-line) configuration.
 */
import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { join } from 'node:path';
import { validBranch } from './validate';

/** Where the container keeps its copy of an agent's branch, in the rig's mirror. Agents cannot write it. */
export const REVIEW_REF_PREFIX = 'refs/gastown/review/';

export function reviewRef(branch: string): string {
  return `${REVIEW_REF_PREFIX}${validBranch(branch)}`;
}

/**
 * What an agent repository fetches from its `origin` (the rig's mirror): the rig's branches as
 * `origin/*` and the container's copies of submitted branches as `review/*`.
 */
export const AGENT_FETCH_REFSPECS = ['+refs/remotes/origin/*:refs/remotes/origin/*', `+${REVIEW_REF_PREFIX}*:refs/remotes/review/*`] as const;

/**
 * The mirror refuses every push into it (defence in depth: agents reach the mirror only as its
 * `origin`, read-only by file permissions when sandboxed; this stops an unsandboxed `git push origin`).
 * The container itself never pushes into its mirror: it fetches.
 */
export const MIRROR_PRE_RECEIVE_HOOK = [
  '#!/bin/sh',
  "echo 'gastown: the container mirror is read-only; your branch is collected by gt_done' >&2",
  'exit 1',
  '',
].join('\n');

/** `value` as one single-quoted shell word (git runs a local transport's upload-pack command through sh). */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The upload-pack command for fetching from a repository another uid owns: git refuses a
 * repository it does not own ("dubious ownership") unless `safe.directory` names it, and a local
 * fetch clears `-c` settings before it starts upload-pack, so the setting goes into the command.
 */
export function uploadPackTrusting(gitDir: string): string {
  return `git -c safe.directory=${shellQuote(gitDir)} upload-pack`;
}

const MAX_HEAD_BYTES = 4_096;

/**
 * The branch `repo/.git/HEAD` names, read as a file (no git process in the agent's repository):
 * null when there is no real `.git` directory, HEAD is not a small regular file, or it is detached.
 */
export async function headBranchOf(repo: string): Promise<string | null> {
  try {
    if (!(await lstat(join(repo, '.git'))).isDirectory()) return null;
    // O_NOFOLLOW: never a symlink's target; O_NONBLOCK: a FIFO put there cannot hang the container
    const handle = await open(join(repo, '.git', 'HEAD'), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const stats = await handle.stat();
      if (!stats.isFile() || stats.size > MAX_HEAD_BYTES) return null;
      const text = await handle.readFile('utf8');
      const match = /^ref: refs\/heads\/(\S+)\n?$/.exec(text);
      return match?.[1] ?? null;
    } finally {
      await handle.close();
    }
  } catch {
    return null;
  }
}

/** True when `repo/.git` is a real directory (not a symlink, not a worktree's `.git` file). */
export async function hasOwnGitDir(repo: string): Promise<boolean> {
  try {
    return (await lstat(join(repo, '.git'))).isDirectory();
  } catch {
    return false;
  }
}
