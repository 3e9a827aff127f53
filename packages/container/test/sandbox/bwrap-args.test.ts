import { describe, expect, it } from 'vitest';
import { buildBwrapArgs, type BwrapSpec } from '../../src/sandbox/bwrap-args';
import { SandboxError } from '../../src/sandbox/errors';
import { toolchainRoot } from '../../src/sandbox/sandbox-lease';

const SYSTEM: BwrapSpec['system'] = [
  { path: '/usr', kind: 'dir' },
  { path: '/bin', kind: 'symlink', target: 'usr/bin' },
  { path: '/etc', kind: 'dir' },
];

const BASE: BwrapSpec = {
  unprivileged: true,
  system: SYSTEM,
  readOnly: [],
  readWrite: [],
  forbidden: ['/data', '/data/agent-state/ag_a'],
  hostname: 'gastown-agent',
  chdir: '/data/scratch/ag_a',
  command: '/app/node_modules/opencode-ai/bin/opencode.exe',
  args: ['serve', '--port', '0'],
};

/** The `--bind`/`--ro-bind` pairs, in order. */
function binds(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--bind' || args[i] === '--ro-bind') out.push(`${args[i] === '--bind' ? 'rw' : 'ro'} ${args[i + 1]}`);
  }
  return out;
}

describe('buildBwrapArgs', () => {
  it('isolates pid, ipc and uts (not the network), dies with its parent, drops every capability', () => {
    const args = buildBwrapArgs(BASE);
    for (const flag of ['--unshare-user', '--disable-userns', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--die-with-parent', '--new-session']) {
      expect(args).toContain(flag);
    }
    expect(args).not.toContain('--unshare-net');
    expect(args).not.toContain('--unshare-all');
    expect(args.join(' ')).toContain('--cap-drop ALL');
    expect(args.join(' ')).toContain('--hostname gastown-agent');
    expect(args.join(' ')).toContain('--proc /proc --dev /dev --tmpfs /tmp');
    expect(args.slice(-7)).toEqual(['--chdir', '/data/scratch/ag_a', '--', '/app/node_modules/opencode-ai/bin/opencode.exe', 'serve', '--port', '0']);
  });

  it('binds system dirs read-only and recreates system symlinks', () => {
    const args = buildBwrapArgs(BASE).join(' ');
    expect(args).toContain('--ro-bind /usr /usr');
    expect(args).toContain('--symlink usr/bin /bin');
    expect(args).toContain('--ro-bind /etc /etc');
  });

  it.each([
    {
      name: 'a mayor: home, tmp and scratch read-write; toolchain and instructions read-only',
      spec: {
        readOnly: ['/app/node_modules/opencode-ai', '/app/packages/plugin/dist/gastown-plugin.js', '/data/agent-state/ag_a/instructions.md'],
        readWrite: ['/data/agent-state/ag_a/home', '/data/agent-state/ag_a/tmp', '/data/scratch/ag_a'],
      },
      expected: [
        'ro /app/node_modules/opencode-ai',
        'rw /data/scratch/ag_a',
        'rw /data/agent-state/ag_a/home',
        'ro /data/agent-state/ag_a/instructions.md',
        'rw /data/agent-state/ag_a/tmp',
        'ro /app/packages/plugin/dist/gastown-plugin.js',
      ],
    },
    {
      name: 'a polecat: its own repository read-write, its rig mirror (its origin) read-only',
      spec: { readOnly: ['/data/mirrors/rig_a.git'], readWrite: ['/data/worktrees/ag_a', '/data/agent-state/ag_a/home'] },
      expected: ['ro /data/mirrors/rig_a.git', 'rw /data/worktrees/ag_a', 'rw /data/agent-state/ag_a/home'],
    },
    {
      name: 'a read-write dir inside a read-only one is bound after it (parents first)',
      spec: { readOnly: ['/opt/tool/cache/..', '/opt/tool'], readWrite: ['/opt/tool/cache'] },
      expected: ['ro /opt/tool', 'rw /opt/tool/cache'],
    },
    {
      name: 'a read-only path already inside a system dir is not bound again',
      spec: { readOnly: ['/usr/bin/false', '/usr/lib/git-core'], readWrite: [] },
      expected: [],
    },
    {
      name: 'the same path read-only and read-write is bound read-write once',
      spec: { readOnly: ['/data/scratch/ag_a'], readWrite: ['/data/scratch/ag_a/'] },
      expected: ['rw /data/scratch/ag_a'],
    },
  ])('$name', ({ spec, expected }) => {
    const args = buildBwrapArgs({ ...BASE, ...spec });
    // system mounts come first; the agent's binds follow, parents before children
    expect(binds(args).filter((b) => !['ro /usr', 'ro /etc'].includes(b))).toEqual(expected);
  });

  it('runs without a user namespace when bwrap itself is root (privileged mode)', () => {
    const args = buildBwrapArgs({ ...BASE, unprivileged: false });
    expect(args).not.toContain('--unshare-user');
    expect(args).not.toContain('--disable-userns');
    expect(args.join(' ')).toContain('--cap-drop ALL');
  });

  it.each([
    { name: 'the data dir as a whole', spec: { readWrite: ['/data'] } },
    { name: 'a path climbing out of the state dir', spec: { readOnly: ['/data/agent-state/ag_a/home/../..'] } },
    { name: 'the state dir as a whole', spec: { readWrite: ['/data/agent-state/ag_a'] } },
    { name: 'a dir holding the state dir', spec: { readOnly: ['/data/agent-state'] } },
    { name: 'a relative path', spec: { readWrite: ['data/scratch'] } },
    { name: 'the root dir', spec: { readWrite: ['/'] } },
    { name: "the sandbox's own /proc", spec: { readOnly: ['/proc'] } },
    { name: 'a relative command', spec: { command: 'opencode' } },
    { name: 'a relative working dir', spec: { chdir: 'work' } },
    { name: 'a hostname with a space', spec: { hostname: 'a b' } },
  ])('refuses $name', ({ spec }) => {
    let error: unknown;
    try {
      buildBwrapArgs({ ...BASE, ...spec });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SandboxError);
    expect((error as SandboxError).sandboxCode).toBe('sandbox_spec_invalid');
    expect((error as SandboxError).code).toBe('container_unavailable');
  });
});

describe('toolchainRoot', () => {
  it.each([
    { name: 'a wrapper package binary', path: '/app/node_modules/opencode-ai/bin/opencode.exe', root: '/app/node_modules/opencode-ai' },
    { name: 'a scoped package binary', path: '/app/node_modules/@kilocode/cli/bin/kilo', root: '/app/node_modules/@kilocode/cli' },
    { name: 'a nested node_modules', path: '/app/node_modules/a/node_modules/b/bin/x', root: '/app/node_modules/a/node_modules/b' },
    { name: 'a file outside node_modules', path: '/app/packages/plugin/dist/gastown-plugin.js', root: '/app/packages/plugin/dist/gastown-plugin.js' },
  ])('$name', ({ path, root }) => {
    expect(toolchainRoot(path)).toBe(root);
  });
});
