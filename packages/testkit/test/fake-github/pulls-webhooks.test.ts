import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signatureOf, startFakeGitHub, type FakeApp, type FakeGitHub } from '../../src/fake-github/index';
import { api, appJwt, gitWith, ManualClock, tempDir } from './support';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

const SECRET = 'webhook-secret-0123456789';
let gh: FakeGitHub;
let clock: ManualClock;
let app: FakeApp;
let installationId: string;
let pat: string;
let receiver: Server;
let receiverUrl: string;
let received: Received[] = [];
let work: string;

function showFile(branch: string, path: string): string | null {
  try {
    return execFileSync('git', ['--git-dir', gh.repo('acme', 'widgets').path, 'show', `${branch}:${path}`], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    return null;
  }
}

/** Commit `file` on a new branch and push it (through the fake's git, with the PAT). */
async function pushBranch(branch: string, file: string): Promise<void> {
  expect((await gitWith(pat, ['checkout', '--quiet', '-B', branch, 'origin/main'], work)).code).toBe(0);
  writeFileSync(join(work, file), `${branch}\n`);
  await gitWith(pat, ['add', file], work);
  await gitWith(pat, ['commit', '--quiet', '-m', `add ${file}`], work);
  const push = await gitWith(pat, ['push', '--quiet', 'origin', `HEAD:refs/heads/${branch}`], work);
  expect(push.code, push.stderr).toBe(0);
}

async function installationToken(permissions: Record<string, string> = { contents: 'write', pull_requests: 'write' }): Promise<string> {
  const res = await api(gh.apiBaseUrl, 'POST', `/app/installations/${installationId}/access_tokens`, `Bearer ${await appJwt(app, clock.now())}`, {
    repositories: ['widgets'],
    permissions,
  });
  return res.body.token as string;
}

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

  clock = new ManualClock(Date.now());
  gh = await startFakeGitHub({ clock });
  gh.createRepo('acme', 'widgets');
  app = gh.createApp();
  installationId = gh.createInstallation(app.appId, ['acme/widgets']);
  pat = gh.createPat(['acme/widgets'], { push: true });
  gh.addWebhook('acme', 'widgets', { url: receiverUrl, secret: SECRET });
  work = join(tempDir('fgh-pulls-'), 'w');
  expect((await gitWith(pat, ['clone', '--quiet', gh.repo('acme', 'widgets').cloneUrl, work])).code).toBe(0);
});
beforeEach(() => {
  received = [];
});
afterAll(async () => {
  await gh.stop();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

describe('fake GitHub: pull requests', () => {
  it('opens, reads and merges a pull request for real, with signed webhooks', async () => {
    await pushBranch('feature-a', 'a.txt');
    const token = await installationToken();
    const created = await api(gh.apiBaseUrl, 'POST', '/repos/acme/widgets/pulls', `token ${token}`, {
      title: 'Add a',
      head: 'feature-a',
      base: 'main',
      body: 'Bead gt-1',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      number: 1,
      state: 'open',
      merged: false,
      title: 'Add a',
      body: 'Bead gt-1',
      head: { ref: 'feature-a' },
      base: { ref: 'main' },
    });
    expect(created.body.html_url).toBe(`${gh.url}/acme/widgets/pull/1`);
    const headSha = (created.body.head as { sha: string }).sha;
    expect(headSha).toMatch(/^[0-9a-f]{40}$/);

    const read = await api(gh.apiBaseUrl, 'GET', '/repos/acme/widgets/pulls/1', `Bearer ${token}`);
    expect(read.body).toMatchObject({ number: 1, state: 'open', head: { sha: headSha } });
    expect(showFile('main', 'a.txt')).toBeNull();

    const merged = await gh.mergePull('acme', 'widgets', 1);
    expect(merged).toMatchObject({ state: 'closed', merged: true });
    expect(showFile('main', 'a.txt')).toBe('feature-a\n');
    const parents = execFileSync('git', ['--git-dir', gh.repo('acme', 'widgets').path, 'rev-list', '--parents', '-n', '1', 'main'], { encoding: 'utf8' })
      .trim()
      .split(' ');
    expect(parents).toHaveLength(3); // a merge commit: itself + two parents
    expect(parents[0]).toBe(merged.mergeCommitSha);
    expect((await api(gh.apiBaseUrl, 'GET', '/repos/acme/widgets/pulls/1', `token ${token}`)).body).toMatchObject({
      state: 'closed',
      merged: true,
      merged_at: expect.any(String),
    });

    await gh.flushWebhooks();
    expect(received.map((r) => JSON.parse(r.body).action)).toEqual(['opened', 'closed']);
    for (const delivery of received) {
      expect(delivery.headers['x-github-event']).toBe('pull_request');
      expect(delivery.headers['x-github-delivery']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(delivery.headers['content-type']).toBe('application/json');
      const expected = `sha256=${createHmac('sha256', SECRET).update(delivery.body).digest('hex')}`;
      expect(delivery.headers['x-hub-signature-256']).toBe(expected);
      expect(signatureOf(SECRET, delivery.body)).toBe(expected);
    }
    const closed = JSON.parse(received[1]!.body);
    expect(closed).toMatchObject({
      number: 1,
      repository: { full_name: 'acme/widgets' },
      pull_request: { number: 1, state: 'closed', merged: true, head: { ref: 'feature-a', sha: headSha }, base: { ref: 'main' } },
    });
    expect(closed.pull_request.merged_at).toEqual(expect.any(String));
    expect(gh.deliveries().map((d) => [d.event, d.action, d.status])).toEqual([
      ['pull_request', 'opened', 202],
      ['pull_request', 'closed', 202],
    ]);
  });

  it('merges through PUT …/merge (as a human with a PAT) and closes unmerged through PATCH', async () => {
    await pushBranch('feature-b', 'b.txt');
    await pushBranch('feature-c', 'c.txt');
    const b = await api(gh.apiBaseUrl, 'POST', '/repos/acme/widgets/pulls', `token ${pat}`, { title: 'B', head: 'acme:feature-b', base: 'main' });
    const c = await api(gh.apiBaseUrl, 'POST', '/repos/acme/widgets/pulls', `token ${pat}`, { title: 'C', head: 'feature-c', base: 'main' });
    const merge = await api(gh.apiBaseUrl, 'PUT', `/repos/acme/widgets/pulls/${b.body.number}/merge`, `token ${pat}`, {});
    expect(merge.status).toBe(200);
    expect(merge.body).toMatchObject({ merged: true, sha: expect.stringMatching(/^[0-9a-f]{40}$/) });
    expect(showFile('main', 'b.txt')).toBe('feature-b\n');
    expect((await api(gh.apiBaseUrl, 'PUT', `/repos/acme/widgets/pulls/${b.body.number}/merge`, `token ${pat}`, {})).status).toBe(405);

    const closed = await api(gh.apiBaseUrl, 'PATCH', `/repos/acme/widgets/pulls/${c.body.number}`, `token ${pat}`, { state: 'closed' });
    expect(closed.body).toMatchObject({ state: 'closed', merged: false, merged_at: null });
    expect(showFile('main', 'c.txt')).toBeNull();

    await gh.flushWebhooks();
    const closures = received.map((r) => JSON.parse(r.body)).filter((p) => p.action === 'closed');
    expect(closures.map((p) => [p.number, p.pull_request.merged])).toEqual([
      [b.body.number, true],
      [c.body.number, false],
    ]);
    expect(gh.pulls('acme', 'widgets').find((p) => p.number === c.body.number)).toMatchObject({ state: 'closed', merged: false });
  });

  it('refuses bad pull requests the way GitHub does', async () => {
    await pushBranch('feature-d', 'd.txt');
    const token = await installationToken();
    const cases = [
      { name: 'missing head branch', body: { title: 't', head: 'nope', base: 'main' }, status: 422 },
      { name: 'missing base branch', body: { title: 't', head: 'feature-d', base: 'nope' }, status: 422 },
      { name: 'no title', body: { head: 'feature-d', base: 'main' }, status: 422 },
      { name: 'nothing to merge', body: { title: 't', head: 'main', base: 'main' }, status: 422 },
    ];
    for (const c of cases) expect((await api(gh.apiBaseUrl, 'POST', '/repos/acme/widgets/pulls', `token ${token}`, c.body)).status, c.name).toBe(c.status);
    expect((await api(gh.apiBaseUrl, 'POST', '/repos/acme/widgets/pulls', `token ${token}`, { title: 't', head: 'feature-d', base: 'main' })).status).toBe(201);
    expect((await api(gh.apiBaseUrl, 'POST', '/repos/acme/widgets/pulls', `token ${token}`, { title: 't', head: 'feature-d', base: 'main' })).status).toBe(422);
    expect((await api(gh.apiBaseUrl, 'GET', '/repos/acme/widgets/pulls/999', `token ${token}`)).status).toBe(404);

    const noPulls = await installationToken({ contents: 'write' });
    expect((await api(gh.apiBaseUrl, 'POST', '/repos/acme/widgets/pulls', `token ${noPulls}`, { title: 't', head: 'feature-d', base: 'main' })).status).toBe(
      403,
    );
  });
});

describe('fake GitHub: webhook deliveries', () => {
  it('redelivers with the same id, body and signature; sends forged deliveries as given', async () => {
    await pushBranch('feature-e', 'e.txt');
    await api(gh.apiBaseUrl, 'POST', '/repos/acme/widgets/pulls', `token ${pat}`, { title: 'E', head: 'feature-e', base: 'main' });
    await gh.flushWebhooks();
    expect(received).toHaveLength(1);
    const original = gh.deliveries().at(-1)!;
    const again = await gh.redeliver(original.id);
    expect(again).toMatchObject({ id: original.id, body: original.body, redelivery: true, status: 202 });
    expect(received).toHaveLength(2);
    expect(received[1]!.headers['x-github-delivery']).toBe(original.id);
    expect(received[1]!.body).toBe(received[0]!.body);
    expect(received[1]!.headers['x-hub-signature-256']).toBe(received[0]!.headers['x-hub-signature-256']);

    const forged = await gh.sendRaw(receiverUrl, '{"action":"closed"}', { 'x-github-event': 'pull_request', 'x-hub-signature-256': 'sha256=00' });
    expect(forged.status).toBe(202);
    expect(received.at(-1)).toMatchObject({ body: '{"action":"closed"}', headers: { 'x-hub-signature-256': 'sha256=00' } });
  });

  it('records a delivery the receiver never answered', async () => {
    const dead = 'http://127.0.0.1:9/hook';
    gh.createRepo('acme', 'lonely');
    gh.addWebhook('acme', 'lonely', { url: dead, secret: SECRET });
    const lonelyPat = gh.createPat(['acme/lonely']);
    const dir = join(tempDir('fgh-lonely-'), 'w');
    await gitWith(lonelyPat, ['clone', '--quiet', gh.repo('acme', 'lonely').cloneUrl, dir]);
    writeFileSync(join(dir, 'x.txt'), 'x\n');
    await gitWith(lonelyPat, ['add', 'x.txt'], dir);
    await gitWith(lonelyPat, ['commit', '--quiet', '-m', 'x'], dir);
    await gitWith(lonelyPat, ['push', '--quiet', 'origin', 'HEAD:refs/heads/x'], dir);
    await api(gh.apiBaseUrl, 'POST', '/repos/acme/lonely/pulls', `token ${lonelyPat}`, { title: 'X', head: 'x', base: 'main' });
    await gh.flushWebhooks();
    expect(gh.deliveries().at(-1)).toMatchObject({ url: dead, status: null, error: 'request_failed' });
  });
});
