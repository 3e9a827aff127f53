/**
 * The container's git runner against the testkit's fake GitHub (the e2e suite's git host): a PAT
 * rig (`auth: token`) goes through the credential helper and the fake's `x-access-token` Basic auth
 * for clone, push and a pull_request "merge"; a read-only PAT is refused with git_auth_failed.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { codeOf, mathRandom, systemClock, type RigRef } from '@gastown/protocol';
import { startFakeGitHub, type FakeGitHub } from '@gastown/testkit/fake-github/index';
import { CliGitWorkspace, GitTokenRegistry, RigGitAuth, startGitCredentialServer, type GitCredentialServer } from '../../src/git';
import { createLogger, SecretRegistry } from '../../src/log';
import { realTimers } from '../../src/timers';
import { createGitFixture, type GitFixture } from './fixtures';

let github: FakeGitHub | null = null;
let server: GitCredentialServer | null = null;
let registry: GitTokenRegistry | null = null;
let fx: GitFixture | null = null;
let dir: string | null = null;
afterEach(async () => {
  registry?.stop();
  await server?.close();
  await github?.stop();
  await fx?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
  github = server = registry = fx = dir = null;
});

async function setup(push: boolean) {
  github = await startFakeGitHub();
  const repo = github.createRepo('acme', 'widgets');
  const pat = github.createPat([repo.fullName], { push });
  fx = await createGitFixture();
  dir = await mkdtemp(join(tmpdir(), 'gt-fake-github-'));
  const lines: string[] = [];
  const logger = createLogger({ stream: { write: (line: string) => lines.push(line) }, level: 'debug', secrets: new SecretRegistry() });
  registry = new GitTokenRegistry({ clock: systemClock, random: mathRandom, timers: realTimers, logger });
  server = await startGitCredentialServer({ dataDir: join(dir, 'data'), registry, logger });
  const ws = await CliGitWorkspace.create({ dataDir: join(dir, 'data'), logger, auth: new RigGitAuth({ registry, socketPath: server.socketPath, logger }) });
  const rig: RigRef = { id: 'rig_widgets1', name: 'widgets', gitUrl: repo.cloneUrl, defaultBranch: repo.defaultBranch, auth: 'token' };
  registry.forRig(rig).offer({ rigId: rig.id, token: pat, username: 'x-access-token', expiresAt: null });
  return { ws, rig, repo, pat, lines, github };
}

describe('container git against the fake GitHub', () => {
  it('a PAT rig: clone, branch push and a pull_request push work; no refusal but git’s first anonymous try', async () => {
    const { ws, rig, repo, pat, lines, github } = await setup(true);
    const { path, branch } = await ws.createWorktree(rig, 'ag_polecat01', 'bd_bead0001');
    await writeFile(join(path, 'feature.txt'), 'feature\n');
    await fx!.git(['-C', path, 'add', '--all']);
    await fx!.git(['-C', path, 'commit', '--quiet', '-m', 'feature']);
    const work = await fx!.git(['-C', path, 'rev-parse', 'HEAD']);
    await ws.pushBranch(rig, path, branch);
    expect(await ws.merge(rig, branch, 'Merge feature', work, { strategy: 'pull_request' })).toEqual({ outcome: 'pushed', commitSha: work });
    expect(await fx!.git(['-C', repo.path, 'rev-parse', `refs/heads/${branch}`])).toBe(work);
    expect(github.gitAuthFailures()).toEqual([]);
    expect(lines.join('')).not.toContain(pat);
  }, 30_000);

  it('a read-only PAT: the push is refused, retried once, then git_auth_failed', async () => {
    const { ws, rig } = await setup(false);
    const { path, branch } = await ws.createWorktree(rig, 'ag_polecat01', 'bd_bead0001');
    await fx!.commitIn(path, { 'feature.txt': 'feature\n' }, 'feature');
    const error = await ws.pushBranch(rig, path, branch).catch((e: unknown) => e);
    expect(codeOf(error, 'internal')).toBe('git_auth_failed');
  }, 30_000);
});
