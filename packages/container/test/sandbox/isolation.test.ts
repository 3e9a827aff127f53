import { GastownError } from '@gastown/protocol';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSandboxConfig } from '../../src/config';
import { SandboxError } from '../../src/sandbox/errors';
import { rigMirrorOf } from '../../src/sandbox/rig-mirror';
import { decideIsolation, type SandboxMode, type SandboxProbe } from '../../src/sandbox/isolation';
import type { Logger } from '../../src/contracts';
import { createSandbox, NO_SANDBOX } from '../../src/sandbox/sandbox';
import { parseStatusExited, parseStatusRssBytes, parseStatusUids } from '../../src/sandbox/proc-table';
import { UidPool } from '../../src/sandbox/uid-pool';

const OK = { ok: true } as const;
const NO_USERNS = { ok: false, reason: 'No permissions to create new namespace' } as const;
const probe = (p: Partial<SandboxProbe>): SandboxProbe => ({ isRoot: true, bwrapPath: '/usr/bin/bwrap', namespacesAsPoolUid: OK, namespacesAsSelf: OK, ...p });

describe('decideIsolation', () => {
  it.each([
    { name: 'root with working bwrap', mode: 'auto', probe: probe({}), level: 'uid+namespaces', gaps: 0 },
    { name: 'root without bwrap', mode: 'auto', probe: probe({ bwrapPath: null, namespacesAsPoolUid: null, namespacesAsSelf: null }), level: 'uid', gaps: 1 },
    { name: 'root, bwrap fails as a pool uid', mode: 'auto', probe: probe({ namespacesAsPoolUid: NO_USERNS }), level: 'uid', gaps: 1 },
    { name: 'not root, bwrap works', mode: 'auto', probe: probe({ isRoot: false, namespacesAsPoolUid: null }), level: 'namespaces', gaps: 1 },
    {
      name: 'not root, no user namespaces',
      mode: 'auto',
      probe: probe({ isRoot: false, namespacesAsPoolUid: null, namespacesAsSelf: NO_USERNS }),
      level: 'none',
      gaps: 2,
    },
    {
      name: 'not root, no bwrap',
      mode: 'auto',
      probe: probe({ isRoot: false, bwrapPath: null, namespacesAsPoolUid: null, namespacesAsSelf: null }),
      level: 'none',
      gaps: 2,
    },
    { name: 'forced down to uid', mode: 'uid', probe: probe({}), level: 'uid', gaps: 1 },
    { name: 'forced down to namespaces (root)', mode: 'namespaces', probe: probe({}), level: 'namespaces', gaps: 1 },
    { name: 'forced off', mode: 'none', probe: probe({}), level: 'none', gaps: 1 },
    { name: 'forced to the top where it works', mode: 'uid+namespaces', probe: probe({}), level: 'uid+namespaces', gaps: 0 },
  ] as Array<{ name: string; mode: SandboxMode; probe: SandboxProbe; level: string; gaps: number }>)('$name → $level', ({ mode, probe: p, level, gaps }) => {
    const decision = decideIsolation(mode, p);
    expect(decision.level).toBe(level);
    expect(decision.gaps).toHaveLength(gaps);
  });

  it.each([
    { name: 'uid+namespaces without bwrap', mode: 'uid+namespaces', probe: probe({ bwrapPath: null }) },
    { name: 'uid+namespaces when bwrap fails', mode: 'uid+namespaces', probe: probe({ namespacesAsPoolUid: NO_USERNS }) },
    { name: 'uid+namespaces when not root', mode: 'uid+namespaces', probe: probe({ isRoot: false }) },
    { name: 'uid when not root', mode: 'uid', probe: probe({ isRoot: false }) },
    { name: 'namespaces without user namespaces', mode: 'namespaces', probe: probe({ isRoot: false, namespacesAsSelf: NO_USERNS }) },
  ] as Array<{ name: string; mode: SandboxMode; probe: SandboxProbe }>)('refuses an explicit level it cannot give: $name', ({ mode, probe: p }) => {
    let error: unknown;
    try {
      decideIsolation(mode, p);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GastownError);
    expect((error as GastownError).code).toBe('config_invalid');
  });

  it('names the missing piece in the gaps it reports', () => {
    expect(decideIsolation('auto', probe({ bwrapPath: null })).gaps.join(' ')).toContain('bubblewrap');
    expect(decideIsolation('auto', probe({ isRoot: false, namespacesAsSelf: NO_USERNS })).gaps.join(' ')).toContain('No permissions to create new namespace');
  });
});

describe('createSandbox', () => {
  function capture(lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }>): Logger {
    const write =
      (level: string) =>
      (msg: string, fields: Record<string, unknown> = {}) =>
        lines.push({ level, msg, fields });
    const logger: Logger = { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error'), child: () => logger };
    return logger;
  }

  it('warns loudly when agents are not isolated at all', async () => {
    const lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }> = [];
    const sandbox = await createSandbox({
      mode: 'auto',
      uidBase: 20_000,
      uidCount: 10,
      rootDir: '/nonexistent-never-created',
      logger: capture(lines),
      probe: probe({ isRoot: false, bwrapPath: null, namespacesAsPoolUid: null, namespacesAsSelf: null }),
    });
    expect(sandbox).toBe(NO_SANDBOX);
    expect(sandbox.level).toBe('none');
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'warn',
        msg: 'sandbox.disabled',
        fields: expect.objectContaining({ level: 'none', gaps: expect.arrayContaining([expect.stringContaining('bubblewrap')]) }),
      }),
    ]);
  });

  it('fails fast when the forced level is not available', async () => {
    await expect(
      createSandbox({ mode: 'uid', uidBase: 20_000, uidCount: 10, rootDir: '/nonexistent', logger: capture([]), probe: probe({ isRoot: false }) }),
    ).rejects.toMatchObject({ code: 'config_invalid' });
  });
});

describe('loadSandboxConfig', () => {
  it('defaults to auto with the 20000…20999 pool', () => {
    expect(loadSandboxConfig({})).toEqual({ mode: 'auto', uidBase: 20_000, uidCount: 1_000 });
  });

  it('reads every variable', () => {
    expect(loadSandboxConfig({ GASTOWN_SANDBOX: 'uid', GASTOWN_SANDBOX_UID_BASE: '30000', GASTOWN_SANDBOX_UID_COUNT: '10' })).toEqual({
      mode: 'uid',
      uidBase: 30_000,
      uidCount: 10,
    });
  });

  it.each([
    { name: 'an unknown mode', env: { GASTOWN_SANDBOX: 'strict' } },
    { name: 'a uid base in the system range', env: { GASTOWN_SANDBOX_UID_BASE: '0' } },
    { name: 'an empty pool', env: { GASTOWN_SANDBOX_UID_COUNT: '0' } },
    { name: 'a non-number', env: { GASTOWN_SANDBOX_UID_BASE: '2e4' } },
  ])('refuses $name with config_invalid', ({ env }) => {
    expect(() => loadSandboxConfig(env)).toThrow(expect.objectContaining({ code: 'config_invalid' }));
  });
});

describe('UidPool', () => {
  it('hands out uids round robin, skipping leased and busy ones', () => {
    const pool = new UidPool(20_000, 3);
    expect(pool.acquire(new Set())).toBe(20_000);
    pool.release(20_000);
    // round robin: a freshly released uid is not the next one handed out
    expect(pool.acquire(new Set())).toBe(20_001);
    expect(pool.acquire(new Set([20_002]))).toBe(20_000);
    expect(pool.acquire(new Set())).toBe(20_002);
    expect(pool.leasedCount).toBe(3);
    expect(pool.isLeased(20_001)).toBe(true);
  });

  it('fails with sandbox_pool_exhausted when every uid is leased or still has processes', () => {
    const pool = new UidPool(20_000, 2);
    pool.acquire(new Set());
    let error: unknown;
    try {
      pool.acquire(new Set([20_001]));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SandboxError);
    expect((error as SandboxError).sandboxCode).toBe('sandbox_pool_exhausted');
    expect((error as SandboxError).code).toBe('container_unavailable');
  });

  it.each([
    { name: 'uid 0', base: 0, count: 10 },
    { name: 'an empty range', base: 20_000, count: 0 },
    { name: 'past the uid space', base: 2 ** 31 - 5, count: 10 },
  ])('refuses $name', ({ base, count }) => {
    expect(() => new UidPool(base, count)).toThrow(SandboxError);
  });
});

describe('/proc status parsing', () => {
  const status = [
    'Name:\tbash',
    'State:\tS (sleeping)',
    'Uid:\t20000\t20000\t20000\t20000',
    'Gid:\t20000\t20000\t20000\t20000',
    'VmRSS:\t    2048 kB',
    '',
  ].join('\n');
  it('reads uids, RSS and whether the task has exited', () => {
    expect(parseStatusUids(status)).toEqual([20_000, 20_000, 20_000, 20_000]);
    expect(parseStatusUids('Name:\tx\n')).toEqual([]);
    expect(parseStatusRssBytes(status)).toBe(2048 * 1024);
    expect(parseStatusExited(status)).toBe(false);
    expect(parseStatusExited(status.replace('S (sleeping)', 'Z (zombie)'))).toBe(true);
  });
});

describe('rigMirrorOf', () => {
  const root = mkdtempSync(join(tmpdir(), 'gt-rig-mirror-'));
  const uid = process.getuid?.() ?? 0;
  mkdirSync(join(root, 'mirrors', 'rig_a.git'), { recursive: true });
  mkdirSync(join(root, 'elsewhere'), { recursive: true });
  symlinkSync(join(root, 'elsewhere'), join(root, 'mirrors', 'rig_link.git'));
  writeFileSync(join(root, 'mirrors', 'rig_file.git'), '');
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it.each([
    { name: "the agent's rig mirror", rigId: 'rig_a', expected: join(root, 'mirrors', 'rig_a.git') },
    { name: 'a mayor (no rig)', rigId: null, expected: null },
    { name: 'a rig without a mirror yet', rigId: 'rig_b', expected: null },
    { name: 'a rig id climbing out', rigId: '../elsewhere', expected: null },
    { name: 'a symlinked mirror', rigId: 'rig_link', expected: null },
    { name: 'a file where the mirror should be', rigId: 'rig_file', expected: null },
  ])('$name', ({ rigId, expected }) => {
    expect(rigMirrorOf(root, rigId, uid)).toBe(expected);
  });

  it('is null for a mirror the container does not own', () => {
    expect(rigMirrorOf(root, 'rig_a', uid + 1)).toBeNull();
  });
});
