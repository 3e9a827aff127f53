/**
 * One `gastown dev` per state directory: `.gastown/dev.lock` holds `{pid, port, startedAt}` of
 * the stack that owns `.gastown/state` (and `.gastown/cli.json`). It is created with O_EXCL
 * (`wx`), so of two starts only one creates it. A lock whose pid is no longer alive (a stack
 * that was SIGKILLed) is stale and taken over. Release removes the file only if it is still ours.
 *
 * Liveness is injected (`isPidAlive`) so the decisions can be tested without real processes.
 */
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { CliError } from '../errors';

export const StackLockSchema = z.object({
  pid: z.number().int().positive(),
  port: z.number().int().min(0).max(65535),
  startedAt: z.string(),
});
export type StackLockRecord = z.infer<typeof StackLockSchema>;

export type IsPidAlive = (pid: number) => boolean;

/** `kill(pid, 0)`: no such process → dead; EPERM (another user's process) → alive. */
export function pidIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface StackLock {
  path: string;
  record: StackLockRecord;
  /** The stale lock this one replaced, if any. */
  tookOverFrom: StackLockRecord | null;
  /** Remove the lock file if it is still ours; idempotent. True when it removed it. */
  release(): boolean;
}

/** The lock file's record, `null` when it is missing, `'unreadable'` when it holds no valid record. */
function readLock(path: string): StackLockRecord | null | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const parsed = StackLockSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

function createExclusive(path: string, record: StackLockRecord): boolean {
  try {
    // one write of a few bytes: a reader sees either no file or (almost always) the whole record
    writeFileSync(path, `${JSON.stringify(record)}\n`, { flag: 'wx', mode: 0o600 });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

function sameRecord(a: StackLockRecord, b: StackLockRecord): boolean {
  return a.pid === b.pid && a.port === b.port && a.startedAt === b.startedAt;
}

export function alreadyRunningError(path: string, holder: StackLockRecord): CliError {
  return new CliError(
    'already_running',
    `a local stack is already running on this state directory (pid ${holder.pid}, port ${holder.port}, started ${holder.startedAt})`,
    {
      hint: `stop it first (Ctrl-C in its terminal, or \`kill ${holder.pid}\`); to run a second stack use another checkout. If pid ${holder.pid} is not a gastown dev, delete ${path}`,
    },
  );
}

/**
 * Take the lock at `path` for `record`, or throw `already_running` naming the live holder.
 * A stale lock (dead pid, or no valid record) is removed and the creation retried.
 */
export function acquireStackLock(path: string, record: StackLockRecord, isPidAlive: IsPidAlive = pidIsAlive): StackLock {
  let tookOverFrom: StackLockRecord | null = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (createExclusive(path, record)) return makeLock(path, record, tookOverFrom);
    const holder = readLock(path);
    if (holder === null) continue; // released meanwhile
    if (holder !== 'unreadable' && isPidAlive(holder.pid)) throw alreadyRunningError(path, holder);
    // stale: remove it only if it is still the stale one we read (another start may have taken it over)
    const again = readLock(path);
    const unchanged = holder === 'unreadable' ? again === 'unreadable' : again !== null && again !== 'unreadable' && sameRecord(again, holder);
    if (unchanged) {
      try {
        unlinkSync(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      if (holder !== 'unreadable') tookOverFrom = holder;
    }
  }
  const holder = readLock(path);
  if (holder && holder !== 'unreadable') throw alreadyRunningError(path, holder);
  throw new CliError('already_running', `could not take the lock ${path}: another gastown dev is starting`);
}

function makeLock(path: string, record: StackLockRecord, tookOverFrom: StackLockRecord | null): StackLock {
  let released = false;
  return {
    path,
    record,
    tookOverFrom,
    release() {
      if (released) return false;
      released = true;
      return releaseStackLock(path, record);
    },
  };
}

/** Remove the lock at `path` if it holds `record`; a lock another stack has taken is left alone. */
export function releaseStackLock(path: string, record: StackLockRecord): boolean {
  const current = readLock(path);
  if (current === null || current === 'unreadable' || !sameRecord(current, record)) return false;
  try {
    unlinkSync(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
