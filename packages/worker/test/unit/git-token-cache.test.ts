import type { GitTokenGrant } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { GitTokenCache, isReusable, reuseDeadline } from '../../src/git-host/token-cache';

function clockAt(start: number) {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

function minter(clock: { now(): number }, lifetimeMs: number | null) {
  let n = 0;
  const mint = async (): Promise<GitTokenGrant> => {
    n += 1;
    return { rigId: 'rig_aaaaaa', token: `tok-${n}`, username: 'x-access-token', expiresAt: lifetimeMs === null ? null : clock.now() + lifetimeMs };
  };
  return { mint, count: () => n };
}

describe('git token cache (TownDO memory): reuse for a quarter of the life, one mint at a time', () => {
  it('reuseDeadline / isReusable are pure', () => {
    expect(reuseDeadline(1000, 5000)).toBe(2000);
    expect(reuseDeadline(1000, null)).toBe(Number.POSITIVE_INFINITY);
    const cases = [
      { name: 'before the reuse deadline', now: 1999, reusable: true },
      { name: 'at the reuse deadline', now: 2000, reusable: false },
      { name: 'expired', now: 3000, reusable: false },
    ];
    for (const c of cases) {
      expect({ name: c.name, reusable: isReusable({ reuseUntil: 2000, grant: { expiresAt: 3000 } }, c.now) }).toEqual({ name: c.name, reusable: c.reusable });
    }
  });

  it('a 10-minute grant is handed out again for 2.5 minutes, then the next caller mints a fresh one (injected clock)', async () => {
    const clock = clockAt(1_000_000);
    const cache = new GitTokenCache(clock);
    const { mint, count } = minter(clock, 600_000);
    expect((await cache.get('rig_aaaaaa', 'k', mint)).token).toBe('tok-1');
    clock.t += 149_999;
    expect((await cache.get('rig_aaaaaa', 'k', mint)).token).toBe('tok-1');
    clock.t += 1;
    expect((await cache.get('rig_aaaaaa', 'k', mint)).token).toBe('tok-2');
    expect(count()).toBe(2);
  });

  it('concurrent callers share one mint (single flight)', async () => {
    const clock = clockAt(0);
    const cache = new GitTokenCache(clock);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let mints = 0;
    const mint = async (): Promise<GitTokenGrant> => {
      mints += 1;
      await gate;
      return { rigId: 'rig_aaaaaa', token: 'shared', username: 'x-access-token', expiresAt: 600_000 };
    };
    const all = Promise.all(Array.from({ length: 50 }, () => cache.get('rig_aaaaaa', 'k', mint)));
    release();
    expect(new Set((await all).map((g) => g.token))).toEqual(new Set(['shared']));
    expect(mints).toBe(1);
  });

  it('another credential of the rig never gets the old grant; invalidate drops it (only if it is still the failing token)', async () => {
    const clock = clockAt(0);
    const cache = new GitTokenCache(clock);
    const { mint, count } = minter(clock, 600_000);
    await cache.get('rig_aaaaaa', 'key-1', mint);
    expect((await cache.get('rig_aaaaaa', 'key-2', mint)).token).toBe('tok-2');
    cache.invalidate('rig_aaaaaa', 'tok-1'); // not the cached one any more: kept
    expect((await cache.get('rig_aaaaaa', 'key-2', mint)).token).toBe('tok-2');
    cache.invalidate('rig_aaaaaa', 'tok-2');
    expect((await cache.get('rig_aaaaaa', 'key-2', mint)).token).toBe('tok-3');
    expect(count()).toBe(3);
  });

  it('a failed mint caches nothing: the next caller tries again', async () => {
    const clock = clockAt(0);
    const cache = new GitTokenCache(clock);
    let fail = true;
    const mint = async (): Promise<GitTokenGrant> => {
      if (fail) throw new Error('refused');
      return { rigId: 'rig_aaaaaa', token: 'ok', username: 'x-access-token', expiresAt: 600_000 };
    };
    await expect(cache.get('rig_aaaaaa', 'k', mint)).rejects.toThrow('refused');
    fail = false;
    expect((await cache.get('rig_aaaaaa', 'k', mint)).token).toBe('ok');
  });

  it('a PAT (no expiry) is reused for as long as the cache lives', async () => {
    const clock = clockAt(0);
    const cache = new GitTokenCache(clock);
    const { mint, count } = minter(clock, null);
    await cache.get('rig_aaaaaa', 'k', mint);
    clock.t += 365 * 86_400_000;
    await cache.get('rig_aaaaaa', 'k', mint);
    expect(count()).toBe(1);
  });
});
