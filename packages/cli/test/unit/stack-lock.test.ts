import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliError } from '../../src/errors';
import { acquireStackLock, pidIsAlive, releaseStackLock, type StackLockRecord } from '../../src/dev/stack-lock';

const OURS: StackLockRecord = { pid: 4242, port: 8788, startedAt: '2026-12-06T10:00:00.000Z' };
const OTHER: StackLockRecord = { pid: 1111, port: 8787, startedAt: '2026-12-06T09:00:00.000Z' };

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gastown-stack-lock-'));
  path = join(dir, 'dev.lock');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const alive = (pids: number[]) => (pid: number) => pids.includes(pid);
const readRecord = () => JSON.parse(readFileSync(path, 'utf8')) as StackLockRecord;

function failure(fn: () => unknown): CliError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CliError) return err;
    throw err;
  }
  throw new Error('expected a CliError');
}

describe('acquireStackLock', () => {
  it('creates the lock (owner-only) when there is none', () => {
    const lock = acquireStackLock(path, OURS, alive([]));
    expect(readRecord()).toEqual(OURS);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(lock.tookOverFrom).toBeNull();
  });

  it('refuses at once when the lock names a live pid, naming its pid and port, and leaves it', () => {
    writeFileSync(path, JSON.stringify(OTHER));
    const err = failure(() => acquireStackLock(path, OURS, alive([OTHER.pid])));
    expect(err.code).toBe('already_running');
    expect(err.exitCode).toBe(6);
    expect(err.message).toContain(`pid ${OTHER.pid}`);
    expect(err.message).toContain(`port ${OTHER.port}`);
    expect(readRecord()).toEqual(OTHER);
  });

  it('a second acquire in the same directory is refused while the first holds it', () => {
    acquireStackLock(path, OTHER, alive([OTHER.pid]));
    expect(failure(() => acquireStackLock(path, OURS, alive([OTHER.pid]))).code).toBe('already_running');
  });

  it('takes over a stale lock (its pid is not alive)', () => {
    writeFileSync(path, JSON.stringify(OTHER));
    const lock = acquireStackLock(path, OURS, alive([]));
    expect(lock.tookOverFrom).toEqual(OTHER);
    expect(readRecord()).toEqual(OURS);
  });

  it('takes over an unreadable lock', () => {
    writeFileSync(path, '{"pid":');
    const lock = acquireStackLock(path, OURS, alive([]));
    expect(lock.tookOverFrom).toBeNull();
    expect(readRecord()).toEqual(OURS);
  });
});

describe('release', () => {
  it('removes our own lock, once', () => {
    const lock = acquireStackLock(path, OURS, alive([]));
    expect(lock.release()).toBe(true);
    expect(existsSync(path)).toBe(false);
    expect(lock.release()).toBe(false);
  });

  it('leaves a lock that another stack has taken over', () => {
    const lock = acquireStackLock(path, OURS, alive([]));
    // we were presumed dead and another stack took over
    rmSync(path);
    acquireStackLock(path, OTHER, alive([]));
    expect(lock.release()).toBe(false);
    expect(readRecord()).toEqual(OTHER);
  });

  it('releaseStackLock: a different record (same pid, other start) is not removed; a missing file is fine', () => {
    writeFileSync(path, JSON.stringify({ ...OURS, startedAt: '2026-12-06T11:00:00.000Z' }));
    expect(releaseStackLock(path, OURS)).toBe(false);
    expect(existsSync(path)).toBe(true);
    rmSync(path);
    expect(releaseStackLock(path, OURS)).toBe(false);
  });
});

describe('pidIsAlive', () => {
  it('this process is alive; a pid beyond pid_max is not', () => {
    expect(pidIsAlive(process.pid)).toBe(true);
    expect(pidIsAlive(2 ** 22 + 12_345)).toBe(false);
  });
});
