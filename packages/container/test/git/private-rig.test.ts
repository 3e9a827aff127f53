/**
 * The container's git against a private rig: a git host that accepts only unexpired
 * `x-access-token:<token>` Basic auth (./auth-git-server.ts), tokens that live 2–3 s, the rig's
 * GitTokenBroker pulling fresh ones through a "live run" (a source that mints them at the host),
 * git reaching the broker through the credential helper and the root-only socket.
 *
 * - Clone, fetch, push and merge keep working across several token lifetimes; the host never sees
 *   an expired token.
 * - The same with the broker's refresh off fails (the test can fail), with a typed error and one event.
 * - A token the host revokes is replaced once (erase → single-flight refresh) and the command retried.
 * - Strategy pull_request pushes the approved commit to the branch and reports `pushed`.
 * - No token in any file under the data dir, git config, remote URL, log line or argv.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { codeOf, mathRandom, systemClock, type GitTokenGrant, type RigRef } from '@gastown/protocol';
import {
  CliGitWorkspace,
  GitTokenRegistry,
  RigGitAuth,
  createExecGitRunner,
  gitEnvironment,
  prepareGitHome,
  startGitCredentialServer,
  type GitCredentialServer,
  type GitRunner,
  type GitTokenBroker,
} from '../../src/git';
import { createLogger, SecretRegistry } from '../../src/log';
import { realTimers } from '../../src/timers';
import { seedRepo, startAuthGitServer, type AuthGitServer } from './auth-git-server';

const PATH = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';
const RIG_ID = 'rig_private01';

interface World {
  root: string;
  dataDir: string;
  host: AuthGitServer;
  rig: RigRef;
  ws: CliGitWorkspace;
  registry: GitTokenRegistry;
  broker: GitTokenBroker;
  server: GitCredentialServer;
  auth: RigGitAuth;
  lines: string[];
  events: Array<{ type: string; data: Record<string, unknown> }>;
  pulls: number;
  /** When set, the source's pulls fail (an unreachable control plane). */
  failing: boolean;
  testGit(args: string[], cwd?: string): Promise<string>;
}

let world: World | null = null;
afterEach(async () => {
  if (!world) return;
  world.registry.stop();
  await world.server.close();
  await world.host.stop();
  await rm(world.root, { recursive: true, force: true });
  world = null;
});

async function setup(options: { ttlMs: number | null; refresh?: boolean }): Promise<World> {
  const root = await mkdtemp(join(tmpdir(), 'gt-private-rig-'));
  const host = await startAuthGitServer({ root: join(root, 'host') });
  const home = join(root, 'test-home');
  await prepareGitHome(home);
  const runGit: GitRunner = createExecGitRunner({ env: gitEnvironment(home, PATH) });
  const testGit = async (args: string[], cwd?: string) => {
    const result = await runGit(args, { cwd });
    if (result.code !== 0) throw new Error(`test git ${args.join(' ')} failed: ${result.stderr}`);
    return result.stdout.trim();
  };
  // the host's repository, seeded through its path (the test is not the container)
  await seedRepo(host, 'acme', 'widgets', testGit, join(root, 'seed'));

  const dataDir = join(root, 'data');
  const lines: string[] = [];
  const secrets = new SecretRegistry();
  const logger = createLogger({ stream: { write: (line: string) => lines.push(line) }, level: 'debug', secrets });
  const registry = new GitTokenRegistry({ clock: systemClock, random: mathRandom, timers: realTimers, logger, secrets, refresh: options.refresh ?? true });
  const server = await startGitCredentialServer({ dataDir, registry, logger });
  const auth = new RigGitAuth({ registry, socketPath: server.socketPath, logger });
  const ws = await CliGitWorkspace.create({ dataDir, logger, path: PATH, auth });
  const rig: RigRef = { id: RIG_ID, name: 'widgets', gitUrl: host.url('acme', 'widgets'), defaultBranch: 'main', auth: 'github_app' };

  const mint = (): GitTokenGrant => {
    const { token, expiresAt } = host.issueToken(options.ttlMs);
    return { rigId: RIG_ID, token, username: 'x-access-token', expiresAt };
  };
  const w: World = {
    root,
    dataDir,
    host,
    rig,
    ws,
    registry,
    broker: registry.forRig(rig),
    server,
    auth,
    lines,
    events: [],
    pulls: 0,
    failing: false,
    testGit,
  };
  // what a dispatch brings, then the live run the broker pulls through
  w.broker.offer(mint());
  w.broker.attach({
    agentId: 'ag_polecat01',
    gitToken: async () => {
      w.pulls += 1;
      if (w.failing) throw new Error('control plane unreachable');
      return mint();
    },
    emit: (type, data) => w.events.push({ type, data }),
  });
  world = w;
  return w;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** Every place a token must never be: files under the data dir (git config, remotes, logs of git), log lines, the process env. */
async function expectNoTokenLeaked(w: World): Promise<void> {
  expect(w.host.issued.length).toBeGreaterThan(0);
  const files = await filesUnder(w.dataDir);
  const haystacks: Array<[string, string]> = [
    ['log', w.lines.join('')],
    ['events', JSON.stringify(w.events)],
    ['process env', JSON.stringify(process.env)],
    ['helper config', w.auth.configArgs(w.rig).join(' ')],
  ];
  for (const file of files) haystacks.push([file, (await readFile(file)).toString('latin1')]);
  for (const token of w.host.issued) {
    for (const [where, text] of haystacks) expect(text.includes(token), `token found in ${where}`).toBe(false);
  }
}

describe('private rig: git through the credential broker', () => {
  it('clone, fetch, push and merge keep working across several 3 s token lifetimes, with no expired token ever presented', async () => {
    const w = await setup({ ttlMs: 3_000 });
    const started = Date.now();
    let rounds = 0;
    while (Date.now() - started < 12_000) {
      rounds += 1;
      const agentId = `ag_polecat${String(rounds).padStart(2, '0')}`;
      const { path, branch } = await w.ws.createWorktree(w.rig, agentId, `bd_bead00${String(rounds).padStart(2, '0')}`);
      const work = await commit(w, path, `round-${rounds}.txt`);
      await w.ws.pushBranch(w.rig, path, branch);
      const merged = await w.ws.merge(w.rig, branch, `Merge round ${rounds}`, work);
      expect(merged.outcome).toBe('merged');
      await sleep(500);
    }
    expect(rounds).toBeGreaterThanOrEqual(3);
    expect(await w.testGit(['-C', w.host.repoPath('acme', 'widgets'), 'ls-tree', '--name-only', 'main'])).toContain(`round-${rounds}.txt`);
    // every authenticated request carried a live token; the broker pulled at half-life
    const verdicts = new Set(w.host.requests.map((r) => r.verdict));
    expect([...verdicts].filter((v) => v !== 'valid' && v !== 'missing')).toEqual([]);
    expect(w.host.requests.filter((r) => r.verdict === 'valid').length).toBeGreaterThan(rounds * 3);
    expect(w.pulls).toBeGreaterThanOrEqual(3);
    expect(w.events).toEqual([]);
    await expectNoTokenLeaked(w);
    // the mirror's remote is the plain rig URL; no git config of the container names a helper or a token
    const mirror = w.ws.mirrorPath(RIG_ID);
    expect(await w.testGit(['-C', mirror, 'remote', 'get-url', 'origin'])).toBe(w.rig.gitUrl);
    expect(await readFile(join(mirror, 'config'), 'utf8')).not.toMatch(/credential|helper|git-credential/);
    // an agent's repository fetches from the mirror (a path), never from the rig
    const agentRepo = w.ws.worktreePath('ag_polecat01');
    expect(await w.testGit(['-C', agentRepo, 'remote', 'get-url', 'origin'])).toBe(mirror);
    expect(await readFile(join(agentRepo, '.git', 'config'), 'utf8')).not.toMatch(/credential|127\.0\.0\.1/);
  }, 60_000);

  it('with the refresh off the same work fails once the dispatched token has lived: git_auth_failed, one event', async () => {
    const w = await setup({ ttlMs: 2_500, refresh: false });
    await w.ws.ensureMirror(w.rig);
    await sleep(2_600);
    const failures: unknown[] = [];
    for (let i = 0; i < 3; i++) failures.push(await w.ws.ensureMirror(w.rig).catch((error: unknown) => error));
    expect(failures.map((e) => codeOf(e, 'internal'))).toEqual(['git_auth_failed', 'git_auth_failed', 'git_auth_failed']);
    expect(w.pulls).toBe(0);
    expect(w.events.map((e) => e.type)).toEqual(['git.credentials_expired']);
    expect(w.events[0]!.data).toMatchObject({ rigId: RIG_ID, reason: 'expired', refresh: false });
    // the broker refused before git ran: the host never saw the dead token
    expect(w.host.requests.filter((r) => r.verdict === 'expired')).toEqual([]);
    await expectNoTokenLeaked(w);
  }, 30_000);

  it('a token the host revokes: git erases it, one shared refresh, the command retried once and it works', async () => {
    const w = await setup({ ttlMs: 600_000 });
    await w.ws.ensureMirror(w.rig);
    const before = w.broker.status().tokenFingerprint;
    w.host.revoke(w.host.issued[0]!);
    await w.ws.ensureMirror(w.rig);
    expect(w.pulls).toBe(1);
    expect(w.broker.status()).toMatchObject({ state: 'valid', refreshCount: 1 });
    expect(w.broker.status().tokenFingerprint).not.toBe(before);
    expect(w.host.requests.filter((r) => r.verdict === 'revoked').length).toBeGreaterThanOrEqual(1);
    expect(w.lines.join('')).toContain('git.auth_refused');
    expect(w.events).toEqual([]);
  }, 30_000);

  it('a host that keeps refusing: git_auth_failed after one retry (no endless loop)', async () => {
    const w = await setup({ ttlMs: 600_000 });
    await w.ws.ensureMirror(w.rig);
    // every token the host knows is revoked as soon as it is minted
    const revokeAll = setInterval(() => w.host.issued.forEach((t) => w.host.revoke(t)), 5);
    try {
      const error = await w.ws.ensureMirror(w.rig).catch((e: unknown) => e);
      expect(codeOf(error, 'internal')).toBe('git_auth_failed');
      expect(String((error as Error).message)).toMatch(/refused its credentials for git fetch/);
    } finally {
      clearInterval(revokeAll);
    }
    expect(w.pulls).toBeLessThanOrEqual(3);
  }, 30_000);

  it('strategy pull_request: the approved commit goes to the branch at the rig, nothing is merged, outcome pushed', async () => {
    const w = await setup({ ttlMs: 600_000 });
    const { path, branch } = await w.ws.createWorktree(w.rig, 'ag_polecat01', 'bd_bead0001');
    const work = await commit(w, path, 'feature.txt');
    expect(await w.ws.submitBranch(w.rig, path, branch)).toBe(work);
    const bare = w.host.repoPath('acme', 'widgets');
    const mainBefore = await w.testGit(['-C', bare, 'rev-parse', 'main']);

    const result = await w.ws.merge(w.rig, branch, 'Merge feature', work, { strategy: 'pull_request' });
    expect(result).toEqual({ outcome: 'pushed', commitSha: work });
    expect(await w.testGit(['-C', bare, 'rev-parse', `refs/heads/${branch}`])).toBe(work);
    expect(await w.testGit(['-C', bare, 'rev-parse', 'main'])).toBe(mainBefore);

    // the same commit check as a direct merge: a branch that moved since the review is not pushed
    const later = await commit(w, path, 'later.txt');
    await w.ws.submitBranch(w.rig, path, branch);
    const moved = await w.ws.merge(w.rig, branch, 'Merge feature', work, { strategy: 'pull_request' });
    expect(moved).toMatchObject({ outcome: 'changed_since_review', branchCommit: later });
    expect(await w.testGit(['-C', bare, 'rev-parse', `refs/heads/${branch}`])).toBe(work);
    await expectNoTokenLeaked(w);
  }, 30_000);

  it('the socket lives in a root-only directory: 0700 dir, 0600 socket; a process of another uid cannot connect', async () => {
    const w = await setup({ ttlMs: 600_000 });
    const runDir = join(w.dataDir, 'run');
    expect(w.server.socketPath).toBe(join(runDir, 'git-credential.sock'));
    expect((await stat(runDir)).mode & 0o777).toBe(0o700);
    expect((await stat(w.server.socketPath)).mode & 0o777).toBe(0o600);
    // the same uid connects (the probe works)
    expect(await probeConnect(w.server.socketPath, null)).toBe('connected');
    if (process.getuid?.() !== 0) return; // another uid needs root to spawn
    // as in production the data dir is traversable (0711): only the run dir stops the other uid
    await chmod(w.root, 0o711);
    await chmod(w.dataDir, 0o711);
    const otherUid = 23_950;
    // control: a socket anyone may open is reachable by that uid, so a refusal below is the run dir's doing
    const openDir = join(w.dataDir, 'open');
    await mkdirMode(openDir, 0o755);
    const open = createServer(() => undefined);
    const openPath = join(openDir, 'open.sock');
    await new Promise<void>((resolve) => open.listen(openPath, resolve));
    await chmod(openPath, 0o666);
    try {
      expect(await probeConnect(openPath, otherUid)).toBe('connected');
      expect(await probeConnect(w.server.socketPath, otherUid)).toBe('EACCES');
      // and without those modes the same probe would get in: the modes are the protection
      await chmod(runDir, 0o755);
      expect(await probeConnect(w.server.socketPath, otherUid)).toBe('EACCES');
      await chmod(w.server.socketPath, 0o666);
      expect(await probeConnect(w.server.socketPath, otherUid)).toBe('connected');
    } finally {
      await new Promise<void>((resolve) => open.close(() => resolve()));
    }
  }, 30_000);
});

async function commit(w: World, repo: string, file: string): Promise<string> {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(join(repo, file), `${file}\n`);
  await w.testGit(['-C', repo, 'add', '--all']);
  await w.testGit(['-C', repo, 'commit', '--quiet', '-m', `add ${file}`]);
  return w.testGit(['-C', repo, 'rev-parse', 'HEAD']);
}

async function mkdirMode(dir: string, mode: number): Promise<void> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir, { recursive: true });
  await chmod(dir, mode);
}

/** Connect to a Unix socket as `uid` (null: this process); the outcome as a word. */
function probeConnect(path: string, uid: number | null): Promise<string> {
  if (uid === null) {
    return new Promise((resolve) => {
      const socket = connect(path);
      socket.on('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
  }
  const script = `const s=require('node:net').connect(process.argv[1]);s.on('connect',()=>{process.stdout.write('connected');s.destroy()});s.on('error',e=>process.stdout.write(e.code||'error'))`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, path], { uid, gid: uid, cwd: '/', env: { PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(out));
  });
}
