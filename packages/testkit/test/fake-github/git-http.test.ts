import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeGitHub, type FakeApp, type FakeGitHub } from '../../src/fake-github/index';
import { api, appJwt, gitWith, ManualClock, tempDir } from './support';

let gh: FakeGitHub;
let clock: ManualClock;
let app: FakeApp;
let installationId: string;

beforeEach(async () => {
  clock = new ManualClock(Date.now());
  gh = await startFakeGitHub({ clock, tokenLifetimeSeconds: 10 });
  gh.createRepo('acme', 'widgets', { files: { 'README.md': '# widgets\n', 'src/a.txt': 'a\n' } });
  gh.createRepo('acme', 'other');
  app = gh.createApp();
  installationId = gh.createInstallation(app.appId, ['acme/widgets']);
});
afterEach(async () => {
  await gh.stop();
});

async function mint(repositories?: string[]): Promise<string> {
  const res = await api(gh.apiBaseUrl, 'POST', `/app/installations/${installationId}/access_tokens`, `Bearer ${await appJwt(app, clock.now())}`, {
    ...(repositories ? { repositories } : {}),
    permissions: { contents: 'write', pull_requests: 'write', metadata: 'read' },
  });
  expect(res.status).toBe(201);
  return res.body.token as string;
}

describe('fake GitHub: git smart HTTP', () => {
  it('clones and pushes with an installation token through a credential helper', async () => {
    const token = await mint(['widgets']);
    const work = join(tempDir('fgh-clone-'), 'w');
    const clone = await gitWith(token, ['clone', '--quiet', gh.repo('acme', 'widgets').cloneUrl, work]);
    expect(clone.code, clone.stderr).toBe(0);
    expect(readFileSync(join(work, 'src/a.txt'), 'utf8')).toBe('a\n');

    writeFileSync(join(work, 'b.txt'), 'b\n');
    expect((await gitWith(token, ['add', 'b.txt'], work)).code).toBe(0);
    expect((await gitWith(token, ['commit', '--quiet', '-m', 'add b'], work)).code).toBe(0);
    const push = await gitWith(token, ['push', '--quiet', 'origin', 'HEAD:refs/heads/feature'], work);
    expect(push.code, push.stderr).toBe(0);
    const fetched = await gitWith(token, ['fetch', '--quiet', 'origin'], work);
    expect(fetched.code, fetched.stderr).toBe(0);

    const bare = gh.repo('acme', 'widgets').path;
    expect(existsSync(join(bare, 'refs/heads/feature')) || readFileSync(join(bare, 'packed-refs'), 'utf8').includes('feature')).toBe(true);
    const services = gh.gitRequests.filter((r) => r.authOutcome === 'ok').map((r) => r.service);
    expect(services).toContain('git-upload-pack');
    expect(services).toContain('git-receive-pack');
    // git's first try carries no credentials (401 by design); nothing else was refused
    expect(gh.gitRequests.some((r) => r.authOutcome === 'missing' && r.status === 401)).toBe(true);
    expect(gh.gitAuthFailures()).toEqual([]);
    // records never hold the token
    expect(JSON.stringify(gh.gitRequests)).not.toContain(token);
  });

  it('refuses an expired token with 401, and git fails', async () => {
    const token = await mint();
    const work = join(tempDir('fgh-exp-'), 'w');
    expect((await gitWith(token, ['clone', '--quiet', gh.repo('acme', 'widgets').cloneUrl, work])).code).toBe(0);
    clock.advance(10_001);
    const fetched = await gitWith(token, ['fetch', 'origin'], work);
    expect(fetched.code).not.toBe(0);
    expect(fetched.stderr).toMatch(/Authentication failed|401/);
    const failures = gh.gitAuthFailures();
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.every((r) => r.authOutcome === 'expired' && r.status === 401)).toBe(true);
  });

  it.each([
    { name: 'a token for another repository', repo: 'other', username: 'x-access-token', outcome: 'no_access', status: 404 },
    { name: 'an installation token with the wrong user name', repo: 'widgets', username: 'someone', outcome: 'unknown', status: 401 },
  ])('refuses $name', async ({ repo, username, outcome, status }) => {
    const token = await mint();
    const cloned = await gitWith(token, ['clone', '--quiet', gh.repo('acme', repo).cloneUrl, join(tempDir('fgh-no-'), 'w')], undefined, username);
    expect(cloned.code).not.toBe(0);
    expect(gh.gitAuthFailures().map((r) => [r.authOutcome, r.status])).toContainEqual([outcome, status]);
  });

  it('refuses a token it never issued', async () => {
    const cloned = await gitWith('ghs_neverissued000000000000000000000000', [
      'clone',
      '--quiet',
      gh.repo('acme', 'widgets').cloneUrl,
      join(tempDir('fgh-unk-'), 'w'),
    ]);
    expect(cloned.code).not.toBe(0);
    expect(gh.gitAuthFailures().map((r) => r.authOutcome)).toContain('unknown');
  });

  it('takes a PAT with any user name; a read-only PAT cannot push (403)', async () => {
    const pat = gh.createPat(['acme/widgets'], { push: false });
    const work = join(tempDir('fgh-pat-'), 'w');
    expect((await gitWith(pat, ['clone', '--quiet', gh.repo('acme', 'widgets').cloneUrl, work], undefined, 'oauth2')).code).toBe(0);
    writeFileSync(join(work, 'c.txt'), 'c\n');
    await gitWith(pat, ['add', 'c.txt'], work);
    await gitWith(pat, ['commit', '--quiet', '-m', 'c'], work);
    const push = await gitWith(pat, ['push', 'origin', 'HEAD:refs/heads/x'], work, 'oauth2');
    expect(push.code).not.toBe(0);
    expect(gh.gitAuthFailures().map((r) => [r.service, r.authOutcome, r.status])).toContainEqual(['git-receive-pack', 'no_access', 403]);
    expect(gh.issuedTokens()).toContain(pat);
  });

  it('answers 401 to every git request while a git_401 fault lasts', async () => {
    const token = await mint();
    const url = gh.repo('acme', 'widgets').cloneUrl;
    gh.fault({ kind: 'git_401', until: clock.now() + 5_000 });
    expect((await gitWith(token, ['ls-remote', url])).code).not.toBe(0);
    expect(gh.gitAuthFailures().map((r) => r.authOutcome)).toContain('refused');
    clock.advance(5_000);
    const after = await gitWith(token, ['ls-remote', url]);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toMatch(/refs\/heads\/main/);
  });

  it('gunzips a gzip-encoded request body before git sees it', async () => {
    const token = await mint();
    const post = (body: Buffer) =>
      fetch(`${gh.url}/acme/widgets.git/git-upload-pack`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`,
          'content-type': 'application/x-git-upload-pack-request',
          'content-encoding': 'gzip',
        },
        body,
      });
    const good = await post(gzipSync(Buffer.from('0000')));
    expect(good.status).toBe(200);
    expect(good.headers.get('content-type')).toBe('application/x-git-upload-pack-result');
    await good.arrayBuffer();
    const bad = await post(Buffer.from('not gzip'));
    expect(bad.status).toBe(400);
    await bad.arrayBuffer();
  });

  it('serves a fetch whose request git gzips (many wants)', async () => {
    const token = await mint();
    const work = join(tempDir('fgh-many-'), 'w');
    expect((await gitWith(token, ['clone', '--quiet', gh.repo('acme', 'widgets').cloneUrl, work])).code).toBe(0);
    for (let i = 0; i < 40; i += 1) {
      writeFileSync(join(work, 'n.txt'), `${i}\n`);
      await gitWith(token, ['add', 'n.txt'], work);
      expect((await gitWith(token, ['commit', '--quiet', '-m', `n ${i}`], work)).code).toBe(0);
      await gitWith(token, ['branch', `b${i}`], work);
    }
    const push = await gitWith(token, ['push', '--quiet', 'origin', 'refs/heads/*:refs/heads/*'], work);
    expect(push.code, push.stderr).toBe(0);
    const again = await gitWith(token, ['clone', '--quiet', '--no-single-branch', gh.repo('acme', 'widgets').cloneUrl, join(tempDir('fgh-many2-'), 'w')]);
    expect(again.code, again.stderr).toBe(0);
    expect(gh.gitRequests.some((r) => r.gzipped && r.service === 'git-upload-pack' && r.status === 200)).toBe(true);
  });

  it('serves only the smart protocol', async () => {
    const token = await mint();
    const auth = { authorization: `Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}` };
    const dumb = await fetch(`${gh.url}/acme/widgets.git/info/refs`, { headers: auth });
    expect(dumb.status).toBe(403);
    const unauthenticated = await fetch(`${gh.url}/acme/widgets.git/info/refs?service=git-upload-pack`);
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get('www-authenticate')).toBe('Basic realm="GitHub"');
  });
});
