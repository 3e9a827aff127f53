import type { Rig } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { call, expectError, snapshotTown } from '../helpers';
import { FakeGitHost } from '../support/fake-git-host';
import { appAuth, postRig, privateRig, privateTown, REPO, WEBHOOK_SECRET, type PrivateTown } from '../support/private-rig';

/** Everything the API shows of a town, as one string (for secret searches). */
async function everythingShown(t: PrivateTown): Promise<string> {
  const paths = [
    `/api/towns/${t.town.id}`,
    `/api/towns/${t.town.id}/rigs`,
    `/api/towns/${t.town.id}/events?limit=500`,
    `/api/towns/${t.town.id}/beads?limit=500`,
  ];
  const bodies = await Promise.all(paths.map((p) => call('GET', p, { token: t.userToken })));
  return JSON.stringify(bodies.map((b) => b.body));
}

describe('private rigs: add with credentials, checked once against the git host', () => {
  it('adds a rig with each auth kind; the view shows the kind, the ids and a fingerprint — never the secret', async () => {
    const t = await privateTown();
    const installationId = t.host.install([REPO]);
    const pat = t.host.pat([REPO]);
    const cases = [
      {
        name: 'none',
        body: { gitUrl: 'https://example.com/public.git', provider: undefined },
        auth: { kind: 'none', appId: null, installationId: null, fingerprint: null },
      },
      {
        name: 'github_app',
        body: { auth: appAuth(t.host, installationId), mergeStrategy: 'pull_request' },
        auth: { kind: 'github_app', appId: t.host.appId, installationId, fingerprint: expect.stringMatching(/^sha256:[0-9a-f]{8}$/) },
      },
      {
        name: 'token',
        body: { auth: { kind: 'token', token: pat } },
        auth: { kind: 'token', appId: null, installationId: null, fingerprint: expect.stringMatching(/^sha256:[0-9a-f]{8}$/) },
      },
    ];
    const secrets = [t.host.privateKeyPem.split('\n')[1]!, pat];
    for (const c of cases) {
      const res = await postRig(t, c.body);
      expect({ name: c.name, status: res.status }, JSON.stringify(res.body)).toEqual({ name: c.name, status: 201 });
      expect(res.body.rig.auth, c.name).toEqual(c.auth);
      for (const secret of secrets) expect(JSON.stringify(res.body), c.name).not.toContain(secret);
    }
    const rigs = (await call('GET', `/api/towns/${t.town.id}/rigs`, { token: t.userToken })).body.rigs as Rig[];
    expect(rigs.map((r) => [r.auth.kind, r.mergeStrategy, r.provider])).toEqual([
      ['none', 'direct', { kind: null, apiBaseUrl: null, repository: null, webhookSecretSet: false }],
      ['github_app', 'pull_request', { kind: 'github', apiBaseUrl: t.host.api, repository: REPO, webhookSecretSet: false }],
      ['token', 'direct', { kind: 'github', apiBaseUrl: t.host.api, repository: REPO, webhookSecretSet: false }],
    ]);
    // the check minted a token narrowed to the repository and looked the repository up with it
    expect(t.host.of('POST', /access_tokens$/)).toHaveLength(1);
    expect(t.host.of('GET', /^\/api\/v3\/repos\/acme\/widgets$/)).toHaveLength(2);
    const shown = await everythingShown(t);
    for (const secret of [...secrets, ...t.host.issuedTokens()]) expect(shown).not.toContain(secret);
    // the secrets are stored apart, in rig_secrets only
    const db = await snapshotTown(t.town.id);
    const elsewhere = JSON.stringify(Object.entries(db).filter(([table]) => table !== 'rig_secrets'));
    for (const secret of secrets) expect(elsewhere).not.toContain(secret);
    expect(JSON.stringify(db.rig_secrets)).toContain(pat);
  });

  it('every refusal is 422 git_auth_failed naming its cause, and nothing is stored', async () => {
    const t = await privateTown();
    const otherApp = await FakeGitHost.create();
    const installed = t.host.install([REPO]);
    const cases = [
      { name: 'wrong private key', auth: appAuth(t.host, installed, otherApp.privateKeyPem), cause: 'the app id or private key is wrong' },
      { name: 'wrong app id', auth: { ...appAuth(t.host, installed), appId: '31337' }, cause: 'the app id or private key is wrong' },
      { name: 'app not installed', auth: appAuth(t.host, '404404'), cause: `the app is not installed on ${REPO}` },
      { name: 'installed on other repositories', auth: appAuth(t.host, t.host.install(['acme/other'])), cause: `the app is not installed on ${REPO}` },
      { name: 'token refused', auth: { kind: 'token', token: 'github_pat_never_issued_000000' }, cause: 'the token was refused' },
      { name: 'token without access', auth: { kind: 'token', token: t.host.pat(['acme/other']) }, cause: `the token cannot access ${REPO}` },
      {
        name: 'token cannot push',
        auth: { kind: 'token', token: t.host.pat([REPO], false) },
        cause: `the token cannot push to ${REPO} (needs contents: write)`,
      },
    ];
    const before = await snapshotTown(t.town.id);
    for (const c of cases) {
      const res = await postRig(t, { auth: c.auth, provider: { apiBaseUrl: t.host.api, webhookSecret: WEBHOOK_SECRET } });
      expectError(res, 422, 'git_auth_failed');
      expect(res.body.error.message, c.name).toContain(c.cause);
      expect(JSON.stringify(res.body), c.name).not.toContain(t.host.privateKeyPem.split('\n')[1]!);
    }
    expect(await snapshotTown(t.town.id)).toEqual(before);
  });

  it('shape rules: pull requests need auth, an unknown host needs the API base URL, a git URL never carries credentials', async () => {
    const t = await privateTown();
    const pat = t.host.pat([REPO]);
    const before = await snapshotTown(t.town.id);
    expectError(await postRig(t, { mergeStrategy: 'pull_request' }), 400, 'validation_failed');
    expectError(await postRig(t, { auth: { kind: 'token', token: pat }, provider: {} }), 400, 'validation_failed');
    expectError(
      await postRig(t, { auth: { kind: 'token', token: pat }, gitUrl: `http://x-access-token:${pat}@127.0.0.1:9801/${REPO}.git` }),
      400,
      'validation_failed',
    );
    expectError(await postRig(t, { auth: { kind: 'github_app', appId: 'abc', installationId: '1', privateKey: 'x' } }), 400, 'validation_failed');
    expectError(await postRig(t, { auth: { kind: 'token', token: pat }, provider: { apiBaseUrl: 'http://git.example.com/api/v3' } }), 400, 'validation_failed');
    // a token never travels over plain http to a host that is not loopback
    const plain = await postRig(t, { auth: { kind: 'token', token: pat }, gitUrl: `http://git.example.com/${REPO}.git`, provider: { apiBaseUrl: t.host.api } });
    expectError(plain, 400, 'validation_failed');
    expect(plain.body.error.message).toContain('https://');
    expect(await snapshotTown(t.town.id)).toEqual(before);
    expect(t.host.requests).toEqual([]); // refused before any call to the host
  });

  it('PATCH a rig: a new credential is checked first (422, nothing changes), then replaces the old; strategy and webhook secret change alone', async () => {
    const t = await privateTown();
    const rig = await privateRig(t, { auth: 'token', mergeStrategy: 'direct', webhookSecret: null });
    const path = `/api/towns/${t.town.id}/rigs/${rig.id}`;
    const before = await snapshotTown(t.town.id);
    const refused = await call('PATCH', path, { token: t.userToken, body: { auth: { kind: 'token', token: t.host.pat(['acme/other']) } } });
    expectError(refused, 422, 'git_auth_failed');
    expect(await snapshotTown(t.town.id)).toEqual(before);

    const newPat = t.host.pat([REPO]);
    const updated = await call('PATCH', path, { token: t.userToken, body: { auth: { kind: 'token', token: newPat }, mergeStrategy: 'pull_request' } });
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    expect(updated.body.rig).toMatchObject({ id: rig.id, mergeStrategy: 'pull_request', auth: { kind: 'token' } });
    expect(updated.body.rig.auth.fingerprint).not.toBe(rig.auth.fingerprint);
    expect(JSON.stringify(updated.body)).not.toContain(newPat);

    const checksBefore = t.host.requests.length;
    const secret = await call('PATCH', path, { token: t.userToken, body: { provider: { webhookSecret: WEBHOOK_SECRET } } });
    expect(secret.status).toBe(200);
    expect(secret.body.rig.provider).toMatchObject({ webhookSecretSet: true });
    expect(JSON.stringify(secret.body)).not.toContain(WEBHOOK_SECRET);
    expect(t.host.requests.length).toBe(checksBefore); // no credential change: no check

    const app = await call('PATCH', path, { token: t.userToken, body: { auth: appAuth(t.host, t.host.install([REPO])) } });
    expect(app.status, JSON.stringify(app.body)).toBe(200);
    expect(app.body.rig.auth).toMatchObject({ kind: 'github_app', appId: t.host.appId });

    expectError(await call('PATCH', path, { token: t.userToken, body: { auth: { kind: 'none' } } }), 400, 'validation_failed'); // pull_request needs auth
    expectError(await call('PATCH', path, { token: t.userToken, body: {} }), 400, 'validation_failed');
    expectError(
      await call('PATCH', `/api/towns/${t.town.id}/rigs/rig_doesnotexist`, { token: t.userToken, body: { mergeStrategy: 'direct' } }),
      404,
      'not_found',
    );
    const events = JSON.stringify((await call('GET', `/api/towns/${t.town.id}/events?limit=500`, { token: t.userToken })).body);
    expect(events).toContain('rig.updated');
    for (const s of [newPat, WEBHOOK_SECRET, t.host.privateKeyPem.split('\n')[1]!, ...t.host.issuedTokens()]) expect(events).not.toContain(s);
  });
});
