/**
 * The one piece of shared git state an agent sees: its rig's mirror, read-only. An agent's
 * repository (git/git-workspace.ts: `worktrees/<agentId>`, `clones/<agentId>`) is a clone of
 * `mirrors/<rigId>.git` with that mirror as its `origin`, so `git fetch origin` (the rig's
 * branches, the container's review copies) needs to read it; nothing in it is the agent's to write.
 *
 * The path comes from the agent's identity (its rig id), never from the agent's repository
 * config, which is the agent's to rewrite between runs.
 */
import { lstatSync, realpathSync } from 'node:fs';
import { join } from 'node:path';

const RIG_ID = /^[A-Za-z0-9_-]{1,100}$/;

/** `<rootDir>/mirrors/<rigId>.git` when it is a real, container-owned directory; else null. */
export function rigMirrorOf(rootDir: string, rigId: string | null, ownerUid: number): string | null {
  if (rigId === null || !RIG_ID.test(rigId)) return null;
  const mirror = join(rootDir, 'mirrors', `${rigId}.git`);
  try {
    const stats = lstatSync(mirror);
    if (!stats.isDirectory() || stats.uid !== ownerUid || realpathSync(mirror) !== mirror) return null;
    return mirror;
  } catch {
    return null;
  }
}
