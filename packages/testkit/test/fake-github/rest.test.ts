import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeGitHub, type FakeApp, type FakeGitHub } from '../../src/fake-github/index';
import { api, appJwt, ManualClock } from './support';

let gh: FakeGitHub;
let clock: ManualClock;
let app: FakeApp;
let otherApp: FakeApp;
let installationId: string;
let otherInstallationId: string;

// one server for the file (app keys take a while to generate); each test leaves the others' state alone
beforeAll(async () => {
  clock = new ManualClock(Date.now());
  gh = await startFakeGitHub({ clock });
  gh.createRepo('acme', 'widgets', { defaultBranch: 'trunk' });
  gh.createRepo('acme', 'other');
  app = gh.createApp();
  otherApp = gh.createApp();
  installationId = gh.createInstallation(app.appId, ['acme/widgets']);
  otherInstallationId = gh.createInstallation(otherApp.appId, ['acme/other']);
});
beforeEach(() => {
  gh.tokenLifetimeSeconds = 3600;
});
afterAll(async () => {
  await gh.stop();
});

const tokensPath = (id: string) => `/app/installations/${id}/access_tokens`;

describe('fake GitHub: installation tokens', () => {
  it('mints a token narrowed to a repository, with GitHub’s answer shape and the set lifetime', async () => {
    gh.tokenLifetimeSeconds = 10;
    const res = await api(gh.apiBaseUrl, 'POST', tokensPath(installationId), `Bearer ${await appJwt(app, clock.now())}`, {
      repositories: ['widgets'],
      permissions: { contents: 'write', pull_requests: 'write' },
    });
    expect(res.status).toBe(201);
    expect(res.body.token).toMatch(/^ghs_[A-Za-z0-9]{36}$/);
    expect(Date.parse(res.body.expires_at as string)).toBe(clock.now() + 10_000);
    expect(res.body.permissions).toEqual({ metadata: 'read', contents: 'write', pull_requests: 'write' });
    expect(res.body.repositories).toEqual([expect.objectContaining({ full_name: 'acme/widgets', private: true })]);
    expect(gh.issuedTokens()).toContain(res.body.token);
    expect(gh.apiRequests.at(-1)).toMatchObject({ method: 'POST', status: 201, authOutcome: 'ok' });
  });

  it('takes the PKCS#8 form of the key too', async () => {
    const jwt = await appJwt(app, clock.now(), { keyPem: app.privateKeyPkcs8Pem });
    expect(app.privateKeyPem).toContain('BEGIN RSA PRIVATE KEY');
    expect(app.privateKeyPkcs8Pem).toContain('BEGIN PRIVATE KEY');
    expect((await api(gh.apiBaseUrl, 'POST', tokensPath(installationId), `Bearer ${jwt}`, {})).status).toBe(201);
  });

  const cases: Array<{ name: string; jwt: () => Promise<string | null>; id?: () => string; body?: unknown; status: number; reason: string; message?: RegExp }> =
    [
      {
        name: 'a JWT signed with another key',
        jwt: () => appJwt(app, clock.now(), { keyPem: otherApp.privateKeyPem }),
        status: 401,
        reason: 'signature',
        message: /could not be decoded/,
      },
      { name: 'an unknown app id', jwt: () => appJwt(app, clock.now(), { iss: '999' }), status: 401, reason: 'unknown_app' },
      {
        name: 'an expired JWT',
        jwt: () => appJwt(app, clock.now(), { iatSeconds: Math.floor(clock.now() / 1000) - 700, expSeconds: Math.floor(clock.now() / 1000) - 10 }),
        status: 401,
        reason: 'expired',
      },
      {
        name: 'a JWT more than 10 minutes long',
        jwt: () => appJwt(app, clock.now(), { expSeconds: Math.floor(clock.now() / 1000) + 11 * 60 }),
        status: 401,
        reason: 'exp_too_far',
      },
      { name: 'no JWT', jwt: async () => null, status: 401, reason: 'missing' },
      { name: 'garbage', jwt: async () => 'not.a.jwt', status: 401, reason: 'malformed' },
      { name: 'an unknown installation', jwt: () => appJwt(app, clock.now()), id: () => '42', status: 404, reason: 'not_installed' },
      { name: 'another app’s installation', jwt: () => appJwt(app, clock.now()), id: () => otherInstallationId, status: 404, reason: 'not_installed' },
      {
        name: 'a repository outside the installation',
        jwt: () => appJwt(app, clock.now()),
        body: { repositories: ['other'] },
        status: 422,
        reason: 'repository_not_installed',
      },
      {
        name: 'a permission the installation lacks',
        jwt: () => appJwt(app, clock.now()),
        body: { permissions: { administration: 'write' } },
        status: 422,
        reason: 'permission_not_granted',
      },
    ];
  it.each(cases)('refuses $name', async ({ jwt, id, body, status, reason, message }) => {
    const token = await jwt();
    const res = await api(gh.apiBaseUrl, 'POST', tokensPath(id ? id() : installationId), token === null ? null : `Bearer ${token}`, body ?? {});
    expect(res.status).toBe(status);
    if (message) expect(res.body.message).toMatch(message);
    expect(gh.apiRequests.at(-1)).toMatchObject({ status, reason });
  });

  it('an uninstalled app’s installation answers 404 and its tokens stop working', async () => {
    const doomed = gh.createInstallation(app.appId, ['acme/widgets']);
    const minted = await api(gh.apiBaseUrl, 'POST', tokensPath(doomed), `Bearer ${await appJwt(app, clock.now())}`, {});
    expect((await api(gh.apiBaseUrl, 'GET', '/repos/acme/widgets', `token ${minted.body.token}`)).status).toBe(200);
    gh.uninstall(doomed);
    const res = await api(gh.apiBaseUrl, 'POST', tokensPath(doomed), `Bearer ${await appJwt(app, clock.now())}`, {});
    expect(res.status).toBe(404);
    expect((await api(gh.apiBaseUrl, 'GET', '/repos/acme/widgets', `token ${minted.body.token}`)).status).toBe(401);
  });
});

describe('fake GitHub: GET /repos/:owner/:repo', () => {
  async function mint(permissions?: Record<string, string>): Promise<string> {
    const res = await api(gh.apiBaseUrl, 'POST', tokensPath(installationId), `Bearer ${await appJwt(app, clock.now())}`, permissions ? { permissions } : {});
    return res.body.token as string;
  }

  it('shows the repository and the token’s permissions (token or Bearer scheme)', async () => {
    const token = await mint();
    for (const scheme of ['token', 'Bearer']) {
      const res = await api(gh.apiBaseUrl, 'GET', '/repos/acme/widgets', `${scheme} ${token}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        name: 'widgets',
        full_name: 'acme/widgets',
        private: true,
        default_branch: 'trunk',
        permissions: { admin: false, push: true, pull: true },
      });
    }
    const readOnly = await mint({ contents: 'read' });
    expect((await api(gh.apiBaseUrl, 'GET', '/repos/acme/widgets', `token ${readOnly}`)).body.permissions).toMatchObject({ push: false, pull: true });
  });

  it('answers 401 to an expired or unknown token and 404 to a repository the token does not cover', async () => {
    gh.tokenLifetimeSeconds = 10;
    const token = await mint();
    expect((await api(gh.apiBaseUrl, 'GET', '/repos/acme/other', `token ${token}`)).status).toBe(404);
    expect((await api(gh.apiBaseUrl, 'GET', '/repos/acme/nope', `token ${token}`)).status).toBe(404);
    expect((await api(gh.apiBaseUrl, 'GET', '/repos/acme/widgets', 'token ghs_unknown')).status).toBe(401);
    expect((await api(gh.apiBaseUrl, 'GET', '/repos/acme/widgets', null)).status).toBe(401);
    clock.advance(10_000);
    const expired = await api(gh.apiBaseUrl, 'GET', '/repos/acme/widgets', `token ${token}`);
    expect(expired.status).toBe(401);
    expect(expired.body.message).toBe('Bad credentials');
    expect(gh.apiRequests.at(-1)).toMatchObject({ authOutcome: 'expired' });
  });

  it('takes a PAT for the repositories it names; push follows the PAT', async () => {
    const pat = gh.createPat(['acme/other'], { push: false });
    expect((await api(gh.apiBaseUrl, 'GET', '/repos/acme/other', `token ${pat}`)).body.permissions).toMatchObject({ push: false, pull: true });
    expect((await api(gh.apiBaseUrl, 'GET', '/repos/acme/widgets', `token ${pat}`)).status).toBe(404);
    expect(JSON.stringify(gh.apiRequests)).not.toContain(pat);
  });
});
