/**
 * Real sandboxes (root only, as in CI and the production image): a `sh -c` started through the
 * runtime's own spawn path (prepareStateDir → lease → ServeProcess) proves what an agent can
 * and cannot reach at each isolation level. A planted "broker" process holds a secret in its
 * environment, the data dir holds a root-only file and another agent's parked home.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliGitWorkspace } from '../../src/git';
import type { Timers } from '../../src/contracts';
import { FLAVORS } from '../../src/runtime/flavor';
import { ServeProcess } from '../../src/runtime/serve-process';
import { prepareStateDir, runtimePaths } from '../../src/runtime/state-dir';
import { SandboxError } from '../../src/sandbox/errors';
import { usesNamespaces, usesOwnUid, type IsolationLevel } from '../../src/sandbox/isolation';
import { findBwrap, probeSandbox } from '../../src/sandbox/probe';
import { pidsOfUid } from '../../src/sandbox/proc-table';
import { createSandbox, IsolatingSandbox } from '../../src/sandbox/sandbox';
import type { SandboxLease } from '../../src/sandbox/sandbox-lease';
import { createGitFixture, silentLogger, type GitFixture } from '../git/fixtures';

const isRoot = process.getuid?.() === 0;
const bwrapPath = findBwrap();
const LEVELS = (['uid+namespaces', 'uid', 'namespaces'] as const).filter((level) => bwrapPath !== null || !usesNamespaces(level));
/** This file's own uid range (other test files use other ranges: 20000 is the runtime test's). */
const UID_BASE = 23_000;
const BROKER_SECRET = 'planted-broker-secret-7f3c2a91';
const PATH = '/usr/local/bin:/usr/bin:/bin';

const timers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

let root: string;
let broker: ChildProcess;

function sandboxFor(level: IsolationLevel, rootDir: string, offset: number, uidCount = 5): IsolatingSandbox {
  return new IsolatingSandbox({ level, rootDir, uidBase: UID_BASE + offset, uidCount, bwrapPath, logger: silentLogger, timers });
}

interface Run {
  lease: SandboxLease;
  out: Record<string, string>;
  raw: string;
  home: string;
  code: number | null;
}

/** Prepare an agent's state dir, lease, spawn `sh -c script` the way ServeRuntime spawns opencode, wait for it. */
async function runSandboxed(
  sandbox: IsolatingSandbox,
  rootDir: string,
  agentId: string,
  workdir: string,
  script: string,
  env: Record<string, string> = {},
  rigId: string | null = null,
): Promise<Run> {
  const paths = runtimePaths(join(rootDir, 'agent-state', agentId), FLAVORS.opencode);
  await prepareStateDir(paths, FLAVORS.opencode, 'be a test agent');
  const lease = await sandbox.acquire({
    agentId,
    rigId,
    stateDir: paths.stateDir,
    home: paths.home,
    tmpDir: paths.tmpDir,
    workdir,
    privateFiles: [paths.instructionsFile],
    toolchain: [],
  });
  const plan = lease.plan('/bin/sh', ['-c', script], workdir);
  const proc = new ServeProcess({
    binary: plan.file,
    args: plan.args,
    cwd: plan.cwd,
    env: { PATH, HOME: paths.home, TMPDIR: paths.tmpDir, INSTRUCTIONS: paths.instructionsFile, ...env },
    timers,
    redact: [],
    ...(plan.uid === undefined ? {} : { uid: plan.uid, gid: plan.gid }),
  });
  const exit = await proc.exited;
  const raw = proc.outputTail();
  const out = Object.fromEntries(
    raw
      .split('\n')
      .filter((line) => /^[a-z_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  return { lease, out, raw, home: paths.home, code: exit.code };
}

const PROBE_SCRIPT = [
  'echo "uid=$(id -u)"',
  'cat /proc/$BROKER_PID/environ >/dev/null 2>&1 && echo broker_environ=readable || echo broker_environ=denied',
  'cat /proc/$CONTAINER_PID/environ >/dev/null 2>&1 && echo container_environ=readable || echo container_environ=denied',
  '(exec 3< /proc/$CONTAINER_PID/mem) 2>/dev/null && echo container_mem=openable || echo container_mem=denied',
  // the secret is searched for in two halves, so the sandbox's own environment does not hold it whole
  'grep -qs "$SECRET_HEAD$SECRET_TAIL" /proc/*/environ && echo secret_seen=yes || echo secret_seen=no',
  'echo "procs=$(ls /proc | grep -E "^[0-9]+$" | tr "\\n" " ")"',
  'cat "$STATE_SECRET" >/dev/null 2>&1 && echo state_secret=readable || echo state_secret=denied',
  'ls "$OTHER_HOME" >/dev/null 2>&1 && echo other_home=readable || echo other_home=denied',
  '(echo ok > "$HOME/probe" && [ "$(cat "$HOME/probe")" = ok ]) 2>/dev/null && echo home=writable || echo home=denied',
  '(echo ok > "$TMPDIR/probe") 2>/dev/null && echo tmpdir=writable || echo tmpdir=denied',
  '(echo ok > ./probe) 2>/dev/null && echo workdir=writable || echo workdir=denied',
  'cat "$INSTRUCTIONS" >/dev/null 2>&1 && echo instructions=readable || echo instructions=denied',
  '(echo x >> "$INSTRUCTIONS") 2>/dev/null && echo instructions_write=allowed || echo instructions_write=denied',
  // a descendant that leaves the session: the release must still find it by uid
  'setsid sleep 300 >/dev/null 2>&1 < /dev/null &',
  'echo done=1',
].join('\n');

describe.skipIf(!isRoot)('a sandboxed process (root)', () => {
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'gt-sandbox-it-'));
    chmodSync(root, 0o711); // the data dirs' parent must let agent uids through
    // a broker stand-in: the kind of process whose environment an agent must never read
    broker = spawn('sleep', ['600'], { env: { PATH, GASTOWN_BROKER_TEST_SECRET: BROKER_SECRET }, stdio: 'ignore' });
  });

  afterAll(() => {
    broker?.kill('SIGKILL');
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it.skipIf(bwrapPath === null)('probes a working sandbox as a pool uid and picks uid+namespaces', async () => {
    const probe = await probeSandbox({ poolUid: UID_BASE + 950 });
    expect(probe).toEqual({ isRoot: true, bwrapPath, namespacesAsPoolUid: { ok: true }, namespacesAsSelf: { ok: true } });
    const lines: string[] = [];
    const logger = { ...silentLogger, info: (msg: string) => lines.push(msg), warn: (msg: string) => lines.push(msg), child: () => logger };
    const sandbox = await createSandbox({ mode: 'auto', uidBase: UID_BASE + 950, uidCount: 5, rootDir: join(root, 'data-auto'), logger, probe });
    expect(sandbox.level).toBe('uid+namespaces');
    expect(lines).toEqual(['sandbox.ready']);
  });

  it.each(LEVELS.map((level, index) => ({ level, index })))('$level: its own uid, none of the container, only its own paths', async ({ level, index }) => {
    const rootDir = join(root, `data-${index}`);
    mkdirSync(rootDir, { recursive: true, mode: 0o700 });
    const stateSecret = join(rootDir, 'container.log');
    writeFileSync(stateSecret, 'not for agents', { mode: 0o600 });
    const otherHome = join(rootDir, 'agent-state', 'ag_other01', 'home');
    mkdirSync(otherHome, { recursive: true, mode: 0o700 });
    writeFileSync(join(otherHome, 'notes'), 'private', { mode: 0o600 });
    const workdir = join(rootDir, 'scratch', 'ag_mayor01');
    mkdirSync(workdir, { recursive: true });

    const sandbox = sandboxFor(level, rootDir, index * 100);
    const run = await runSandboxed(sandbox, rootDir, 'ag_mayor01', workdir, PROBE_SCRIPT, {
      BROKER_PID: String(broker.pid),
      CONTAINER_PID: String(process.pid),
      SECRET_HEAD: BROKER_SECRET.slice(0, 10),
      SECRET_TAIL: BROKER_SECRET.slice(10),
      STATE_SECRET: stateSecret,
      OTHER_HOME: otherHome,
    });
    expect(run.code, run.raw).toBe(0);
    expect(run.out.done).toBe('1');
    expect(run.lease.level).toBe(level);

    if (usesOwnUid(level)) {
      expect(run.lease.uid).toBeGreaterThanOrEqual(UID_BASE + index * 100);
      expect(run.out.uid).toBe(String(run.lease.uid));
    } else {
      expect(run.lease.uid).toBeNull();
    }
    expect(run.out).toMatchObject({
      broker_environ: 'denied',
      container_environ: 'denied',
      container_mem: 'denied',
      secret_seen: 'no',
      state_secret: 'denied',
      other_home: 'denied',
      home: 'writable',
      tmpdir: 'writable',
      workdir: 'writable',
      instructions: 'readable',
    });
    if (usesNamespaces(level)) {
      // its own pid namespace: bwrap's init, the shell and its children, nothing else
      const pids = run.out.procs!.trim().split(/\s+/).map(Number);
      expect(pids.length).toBeLessThanOrEqual(8);
      expect(Math.max(...pids)).toBeLessThan(100);
      expect(run.out.instructions_write).toBe('denied');
    }

    const { survivors } = await run.lease.release();
    expect(survivors).toEqual([]);
    if (run.lease.uid !== null) {
      expect(pidsOfUid(run.lease.uid)).toEqual([]);
      // parked: a later holder of this uid cannot enter
      const home = statSync(run.home);
      expect(home.uid).toBe(0);
      expect(home.mode & 0o777).toBe(0o700);
      expect(statSync(workdir).uid).toBe(0);
    }
    // the data dir is traversable by agents but not listable
    expect(statSync(rootDir).mode & 0o777).toBe(usesOwnUid(level) ? 0o711 : 0o700);
  });

  it.skipIf(!LEVELS.includes('uid'))('kills what an agent left behind before its uid goes back to the pool', async () => {
    const rootDir = join(root, 'data-pool');
    const workdir = join(rootDir, 'scratch', 'ag_mayor02');
    mkdirSync(workdir, { recursive: true });
    const sandbox = sandboxFor('uid', rootDir, 500, 1);
    const run = await runSandboxed(sandbox, rootDir, 'ag_mayor02', workdir, 'setsid sleep 300 >/dev/null 2>&1 < /dev/null & echo done=1');
    const uid = run.lease.uid!;
    expect(pidsOfUid(uid).length).toBeGreaterThanOrEqual(1);

    // a one-uid pool is exhausted while the lease is held
    const second = await runSandboxed(sandbox, rootDir, 'ag_mayor03', workdir, 'true').catch((error: unknown) => error);
    expect(second).toBeInstanceOf(SandboxError);
    expect((second as SandboxError).sandboxCode).toBe('sandbox_pool_exhausted');

    expect((await run.lease.release()).survivors).toEqual([]);
    expect(pidsOfUid(uid)).toEqual([]);
    const again = await runSandboxed(sandbox, rootDir, 'ag_mayor02', workdir, 'echo done=1');
    expect(again.lease.uid).toBe(uid);
    await again.lease.release();
  });

  it.skipIf(!LEVELS.includes('uid'))('never follows a symlink an agent planted in its home when preparing the next run', async () => {
    const rootDir = join(root, 'data-symlink');
    const workdir = join(rootDir, 'scratch', 'ag_mayor04');
    mkdirSync(workdir, { recursive: true });
    const victim = join(root, 'victim.txt');
    writeFileSync(victim, 'untouched', { mode: 0o644 });
    const sandbox = sandboxFor('uid', rootDir, 600, 2);
    // the agent replaces a seeded file and the seeded config dir with links to a root-owned file and dir
    const first = await runSandboxed(
      sandbox,
      rootDir,
      'ag_mayor04',
      workdir,
      [
        `ln -sf ${victim} "$HOME/.gitconfig"`,
        `rm -rf "$HOME/.config/opencode" && ln -s ${root} "$HOME/.config/opencode"`,
        `ln -s ${victim} "$HOME/link-to-victim"`,
        'echo done=1',
      ].join('\n'),
    );
    expect(first.out.done).toBe('1');
    await first.lease.release();
    const second = await runSandboxed(sandbox, rootDir, 'ag_mayor04', workdir, 'echo done=1');
    expect(second.out.done).toBe('1');
    await second.lease.release();
    expect(readFileSync(victim, 'utf8')).toBe('untouched');
    expect(statSync(victim).uid).toBe(0);
    expect(statSync(root).uid).toBe(0);
    expect(existsSync(join(root, 'package.json'))).toBe(false);
    expect(existsSync(join(root, 'node_modules'))).toBe(false);
  });
});

describe.skipIf(!isRoot || bwrapPath === null)("a polecat's own repository in the sandbox (root)", () => {
  let fx: GitFixture;
  beforeAll(async () => {
    fx = await createGitFixture();
    chmodSync(fx.root, 0o711); // the data dir's parent must let agent uids through
  });
  afterAll(async () => fx?.cleanup());

  it.each([
    { level: 'uid+namespaces' as const, offset: 700 },
    { level: 'uid' as const, offset: 800 },
    // the container's uid inside bwrap: only the read-only bind keeps it out of the mirror
    { level: 'namespaces' as const, offset: 900 },
  ])('$level: commits in its repository, fetches from the rig mirror, cannot write it; the container collects the branch', async ({ level, offset }) => {
    const ws = await CliGitWorkspace.create({ dataDir: fx.dataDir, logger: silentLogger });
    const agentId = `ag_polecat${offset}`;
    const { path, branch } = await ws.createWorktree(fx.rig, agentId, 'bd_bead0001');
    const mirror = ws.mirrorPath(fx.rig.id);
    const sandbox = sandboxFor(level, fx.dataDir, offset);
    const script = [
      'export GIT_AUTHOR_NAME=agent GIT_AUTHOR_EMAIL=agent@x GIT_COMMITTER_NAME=agent GIT_COMMITTER_EMAIL=agent@x',
      'echo change >> shared.txt && git add shared.txt && git commit -qm "agent work" && echo commit=ok || echo commit=failed',
      'echo "head=$(git rev-parse HEAD)"',
      'git fetch --quiet origin 2>/dev/null && echo fetch=ok || echo fetch=failed',
      '(echo "[core]" >> "$MIRROR/config") 2>/dev/null && echo mirror_config=writable || echo mirror_config=denied',
      '(echo "exit 0" > "$MIRROR/hooks/pre-receive") 2>/dev/null && echo hooks=writable || echo hooks=denied',
      '(echo x > "$MIRROR/objects/planted") 2>/dev/null && echo mirror_objects=writable || echo mirror_objects=denied',
      `git push --quiet origin HEAD:refs/heads/${branch} 2>/dev/null && echo push=ok || echo push=denied`,
      'echo done=1',
    ].join('\n');
    const run = await runSandboxed(sandbox, fx.dataDir, agentId, path, script, { MIRROR: mirror }, fx.rig.id);
    expect(run.code, run.raw).toBe(0);
    expect(run.out).toMatchObject({ commit: 'ok', fetch: 'ok', mirror_config: 'denied', hooks: 'denied', mirror_objects: 'denied', push: 'denied' });
    expect((await run.lease.release()).survivors).toEqual([]);

    // the container collects the branch from the agent's repository (another uid's, parked) without running git in it
    expect(await ws.submitBranch(fx.rig, path, branch)).toBe(run.out.head);
    await ws.remove(path);
  });
});
