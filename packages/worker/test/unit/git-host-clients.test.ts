import { RigSchema, type Rig } from '@gastown/protocol';
import { decodeJwt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  GitTokenCache,
  gitHostFor,
  interpretWebhook,
  resolveProvider,
  secretFingerprint,
  signGitHubBody,
  verifyGitHubSignature,
  verifyGitLabToken,
  type FetchFn,
} from '../../src/git-host';
import { FAKE_API, FakeGitHost } from '../support/fake-git-host';

const REPO = 'acme/widgets';

function rig(auth: Rig['auth'], provider: Partial<Rig['provider']> = {}): Rig {
  return RigSchema.parse({
    id: 'rig_aaaaaa',
    townId: 'town_aaaaaa',
    name: 'widgets',
    gitUrl: `http://127.0.0.1:9801/${REPO}.git`,
    defaultBranch: 'main',
    createdAt: 0,
    auth,
    mergeStrategy: 'pull_request',
    provider: { kind: 'github', apiBaseUrl: FAKE_API, repository: REPO, webhookSecretSet: false, ...provider },
  });
}

let host: FakeGitHost;
beforeAll(async () => {
  host = await FakeGitHost.create();
});

function deps(fetch: FetchFn = host.fetch) {
  return { fetch, clock: { now: () => Date.now() }, cache: new GitTokenCache({ now: () => Date.now() }) };
}

async function appClient(installationId: string, privateKey = host.privateKeyPem, appId = host.appId) {
  return gitHostFor({ rig: rig({ kind: 'github_app', appId, installationId, fingerprint: await secretFingerprint(privateKey) }), secret: privateKey }, deps());
}

async function tokenClient(token: string) {
  return gitHostFor({ rig: rig({ kind: 'token', appId: null, installationId: null, fingerprint: await secretFingerprint(token) }), secret: token }, deps());
}

async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err: any) {
    return { code: err.code, message: err.message };
  }
  return { code: 'none', message: '' };
}

describe('GitHub client', () => {
  it('mints an installation token narrowed to the repository (contents and pull requests write, metadata read) with the app JWT', async () => {
    const installation = host.install([REPO, 'acme/other']);
    const client = await appClient(installation);
    const before = host.requests.length;
    const grant = await client.accessToken();
    expect(grant).toMatchObject({ rigId: 'rig_aaaaaa', username: 'x-access-token', token: expect.stringMatching(/^ghs_/) });
    expect(grant.expiresAt).toBeGreaterThan(Date.now() + 3_500_000);
    const [req] = host.requests.slice(before);
    expect(req).toMatchObject({
      method: 'POST',
      path: `/api/v3/app/installations/${installation}/access_tokens`,
      body: { repositories: ['widgets'], permissions: { contents: 'write', pull_requests: 'write', metadata: 'read' } },
    });
    expect(decodeJwt(req!.authorization!.replace('Bearer ', ''))).toMatchObject({ iss: host.appId });
    // the minted token covers this repository only
    expect([...host.tokens.get(grant.token)!.repos]).toEqual([REPO]);
    // reused (half-life cache): no second mint
    await client.accessToken();
    expect(host.requests.slice(before)).toHaveLength(1);
  });

  it('every refusal is git_auth_failed naming its cause', async () => {
    const installed = host.install([REPO]);
    const elsewhere = host.install(['acme/other']);
    const readOnly = host.install([REPO], { contents: 'read', pull_requests: 'write', metadata: 'read' });
    const otherKey = await FakeGitHost.create();
    const cases = [
      { name: 'wrong private key', client: () => appClient(installed, otherKey.privateKeyPem), message: 'the app id or private key is wrong' },
      { name: 'wrong app id', client: () => appClient(installed, host.privateKeyPem, '999'), message: 'the app id or private key is wrong' },
      { name: 'no such installation', client: () => appClient('777777'), message: `the app is not installed on ${REPO}` },
      { name: 'installed on other repositories', client: () => appClient(elsewhere), message: `the app is not installed on ${REPO}` },
      { name: 'app without contents: write', client: () => appClient(readOnly), message: `the app cannot push to ${REPO}` },
      { name: 'unknown token', client: () => tokenClient('github_pat_unknown_000000000000'), message: 'the token was refused' },
      { name: 'token for other repositories', client: () => tokenClient(host.pat(['acme/other'])), message: `the token cannot access ${REPO}` },
      { name: 'read-only token', client: () => tokenClient(host.pat([REPO], false)), message: `the token cannot push to ${REPO} (needs contents: write)` },
    ];
    for (const c of cases) {
      const { code, message } = await codeOf((await c.client()).checkAccess());
      expect({ name: c.name, code }).toEqual({ name: c.name, code: 'git_auth_failed' });
      expect(message, c.name).toContain(c.message);
    }
    // and the good ones pass
    await (await appClient(installed)).checkAccess();
    await (await tokenClient(host.pat([REPO]))).checkAccess();
  });

  it('a host that cannot be reached or answers 5xx is upstream_failed, not an auth failure', async () => {
    const down: FetchFn = async () => {
      throw new TypeError('connect ECONNREFUSED');
    };
    const c1 = gitHostFor({ rig: rig({ kind: 'token', appId: null, installationId: null, fingerprint: null }), secret: 'github_pat_x_0000000' }, deps(down));
    expect((await codeOf(c1.checkAccess())).code).toBe('upstream_failed');
    host.tokenFailures = { status: 502, times: 1 };
    expect((await codeOf((await appClient(host.install([REPO]))).accessToken())).code).toBe('upstream_failed');
  });

  it('opens a pull request, reads it back (open → merged), and an existing one for the branch is found instead of failing', async () => {
    const client = await tokenClient(host.pat([REPO]));
    const pr = await client.createPullRequest({ head: 'gt/ag_1/bd_1', base: 'main', title: 'Add a README', body: 'details' });
    expect(pr).toEqual({
      number: expect.any(Number),
      url: `http://127.0.0.1:9801/${REPO}/pull/${pr.number}`,
      state: 'open',
      headSha: '9'.repeat(40),
      mergeCommitSha: null,
    });
    expect(host.pull(pr.number)).toMatchObject({ head: 'gt/ag_1/bd_1', base: 'main', title: 'Add a README', body: 'details' });
    expect(await client.createPullRequest({ head: 'gt/ag_1/bd_1', base: 'main', title: 'again', body: '' })).toMatchObject({ number: pr.number });
    host.merge(pr.number, 'd'.repeat(40));
    expect(await client.getPullRequest(pr.number)).toMatchObject({ state: 'merged', mergeCommitSha: 'd'.repeat(40) });
    expect((await codeOf(client.getPullRequest(999))).code).toBe('not_found');
  });
});

describe('GitLab client (token auth, user oauth2, merge requests)', () => {
  function gitlab(handler: (url: string, init: RequestInit) => Response) {
    const seen: { url: string; init: RequestInit }[] = [];
    const fetch: FetchFn = async (url, init = {}) => {
      seen.push({ url, init });
      return handler(url, init);
    };
    const r = RigSchema.parse({
      ...rig({ kind: 'token', appId: null, installationId: null, fingerprint: null }),
      gitUrl: 'https://gitlab.example.com/group/sub/proj.git',
      provider: { kind: 'gitlab', apiBaseUrl: 'https://gitlab.example.com/api/v4', repository: 'group/sub/proj', webhookSecretSet: false },
    });
    return { client: gitHostFor({ rig: r, secret: 'glpat-0123456789abcdef' }, deps(fetch)), seen };
  }

  it('grant: the token with user oauth2, no expiry; access check reads the project by its url-encoded path', async () => {
    const { client, seen } = gitlab(() => Response.json({ id: 1, permissions: { project_access: { access_level: 30 }, group_access: null } }));
    expect(await client.accessToken()).toEqual({ rigId: 'rig_aaaaaa', token: 'glpat-0123456789abcdef', username: 'oauth2', expiresAt: null });
    await client.checkAccess();
    expect(seen[0]!.url).toBe('https://gitlab.example.com/api/v4/projects/group%2Fsub%2Fproj');
  });

  it('refusals name their cause', async () => {
    const cases = [
      { name: '401', res: () => Response.json({}, { status: 401 }), message: 'the token was refused' },
      { name: '404', res: () => Response.json({}, { status: 404 }), message: 'the token cannot access group/sub/proj' },
      { name: 'reporter', res: () => Response.json({ permissions: { project_access: { access_level: 20 }, group_access: null } }), message: 'cannot push' },
    ];
    for (const c of cases) {
      const { code, message } = await codeOf(gitlab(c.res).client.checkAccess());
      expect({ name: c.name, code }).toEqual({ name: c.name, code: 'git_auth_failed' });
      expect(message, c.name).toContain(c.message);
    }
  });

  it('merge requests: created from the branch, read back by iid (merged → merged)', async () => {
    const { client, seen } = gitlab((url, init) =>
      init.method === 'POST'
        ? Response.json(
            { iid: 7, web_url: 'https://gitlab.example.com/group/sub/proj/-/merge_requests/7', state: 'opened', sha: 'a'.repeat(40) },
            { status: 201 },
          )
        : Response.json({
            iid: 7,
            web_url: 'https://gitlab.example.com/group/sub/proj/-/merge_requests/7',
            state: 'merged',
            sha: 'a'.repeat(40),
            merge_commit_sha: 'b'.repeat(40),
          }),
    );
    expect(await client.createPullRequest({ head: 'gt/x', base: 'main', title: 't', body: 'b' })).toMatchObject({ number: 7, state: 'open' });
    expect(JSON.parse(String(seen[0]!.init.body))).toEqual({ source_branch: 'gt/x', target_branch: 'main', title: 't', description: 'b' });
    expect(await client.getPullRequest(7)).toMatchObject({ state: 'merged', mergeCommitSha: 'b'.repeat(40) });
    expect(seen[1]!.url).toBe('https://gitlab.example.com/api/v4/projects/group%2Fsub%2Fproj/merge_requests/7');
  });
});

describe('provider resolution', () => {
  const none = { authKind: 'none', mergeStrategy: 'direct' } as const;
  const token = { authKind: 'token', mergeStrategy: 'pull_request' } as const;
  it('github.com and gitlab.com are known; other hosts take an API base URL', () => {
    expect(resolveProvider('https://github.com/acme/widgets.git', undefined, token)).toEqual({
      kind: 'github',
      apiBaseUrl: 'https://api.github.com',
      repository: 'acme/widgets',
    });
    expect(resolveProvider('https://gitlab.com/g/s/p.git', undefined, token)).toEqual({
      kind: 'gitlab',
      apiBaseUrl: 'https://gitlab.com/api/v4',
      repository: 'g/s/p',
    });
    expect(resolveProvider('https://ghe.example.com/a/b', { apiBaseUrl: 'https://ghe.example.com/api/v3/' }, token)).toEqual({
      kind: 'github',
      apiBaseUrl: 'https://ghe.example.com/api/v3',
      repository: 'a/b',
    });
    expect(resolveProvider('/srv/repo.git', undefined, none)).toEqual({ kind: null, apiBaseUrl: null, repository: null });
    expect(resolveProvider('git@github.com:acme/widgets.git', undefined, none)).toMatchObject({ kind: 'github', repository: 'acme/widgets' });
  });

  it('a rig with credentials or pull requests needs a complete provider (400 validation_failed)', () => {
    const cases = [
      { name: 'unknown host, no api', url: 'https://git.example.com/a/b.git', input: undefined, rule: token },
      {
        name: 'pull requests without auth',
        url: 'https://github.com/a/b.git',
        input: undefined,
        rule: { authKind: 'none', mergeStrategy: 'pull_request' } as const,
      },
      { name: 'auth over ssh', url: 'git@github.com:a/b.git', input: undefined, rule: token },
      { name: 'plain http api', url: 'https://ghe.example.com/a/b', input: { apiBaseUrl: 'http://ghe.example.com/api/v3' }, rule: token },
      { name: 'api with credentials', url: 'https://ghe.example.com/a/b', input: { apiBaseUrl: 'https://u:p@ghe.example.com/api/v3' }, rule: token },
      { name: 'github path not owner/name', url: 'https://github.com/a/b/c.git', input: undefined, rule: token },
      { name: 'gitlab with an app', url: 'https://gitlab.com/a/b.git', input: undefined, rule: { authKind: 'github_app', mergeStrategy: 'direct' } as const },
    ];
    for (const c of cases) {
      let code = 'none';
      try {
        resolveProvider(c.url, c.input, c.rule);
      } catch (err: any) {
        code = err.code;
      }
      expect({ name: c.name, code }).toEqual({ name: c.name, code: 'validation_failed' });
    }
  });

  it('fingerprints are sha256:<8 hex>', async () => {
    expect(await secretFingerprint('abc')).toBe('sha256:ba7816bf');
  });
});

describe('webhook deliveries (pure)', () => {
  it('GitHub signature: HMAC-SHA256 of the exact bytes; anything else is refused', async () => {
    const body = new TextEncoder().encode('{"action":"closed"}');
    const good = await signGitHubBody('s3cret-0123456789abcdef', body);
    expect(good).toMatch(/^sha256=[0-9a-f]{64}$/);
    const cases = [
      { name: 'good', header: good, ok: true },
      { name: 'upper-case hex', header: good.toUpperCase().replace('SHA256=', 'sha256='), ok: true },
      { name: 'missing', header: null, ok: false },
      { name: 'sha1 form', header: `sha1=${good.slice(7, 47)}`, ok: false },
      { name: 'one bit off', header: good.slice(0, -1) + (good.endsWith('0') ? '1' : '0'), ok: false },
    ];
    for (const c of cases)
      expect({ name: c.name, ok: await verifyGitHubSignature('s3cret-0123456789abcdef', body, c.header) }).toEqual({ name: c.name, ok: c.ok });
    expect(await verifyGitHubSignature('s3cret-0123456789abcdef', new TextEncoder().encode('{"action":"closed"} '), good)).toBe(false);
  });

  it('GitLab token header and merge request events', async () => {
    expect(await verifyGitLabToken('secret-0123456789abcdef', 'secret-0123456789abcdef')).toBe(true);
    expect(await verifyGitLabToken('secret-0123456789abcdef', 'secret-0123456789abcdeX')).toBe(false);
    expect(await verifyGitLabToken('secret-0123456789abcdef', null)).toBe(false);
    const mr = (action: string) => ({
      object_kind: 'merge_request',
      project: { path_with_namespace: 'g/p' },
      object_attributes: { iid: 4, action, merge_commit_sha: 'f'.repeat(40) },
    });
    expect(interpretWebhook('gitlab', 'Merge Request Hook', mr('merge'))).toEqual({
      kind: 'pull_request_closed',
      number: 4,
      merged: true,
      mergeCommitSha: 'f'.repeat(40),
      repository: 'g/p',
    });
    expect(interpretWebhook('gitlab', 'Merge Request Hook', mr('close'))).toMatchObject({ kind: 'pull_request_closed', merged: false, mergeCommitSha: null });
    expect(interpretWebhook('gitlab', 'Merge Request Hook', mr('open')).kind).toBe('ignored');
    expect(interpretWebhook('gitlab', 'Push Hook', mr('merge')).kind).toBe('ignored');
    expect(
      interpretWebhook('github', 'pull_request', { action: 'closed', pull_request: { number: 2, merged: false }, repository: { full_name: 'a/b' } }),
    ).toEqual({
      kind: 'pull_request_closed',
      number: 2,
      merged: false,
      mergeCommitSha: null,
      repository: 'a/b',
    });
    expect(interpretWebhook('github', 'pull_request', 'not an object').kind).toBe('ignored');
  });
});
