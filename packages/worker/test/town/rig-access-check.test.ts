/**
 * A rig without auth is read at its http(s) URL before it is added (git-host/remote-probe.ts): a
 * URL with no repository, a private one, a host that cannot be reached or a web page that is not a
 * git repository is refused with 422 `git_remote_unreachable` naming the cause, and nothing is
 * stored. Paths, file:// and ssh URLs are not read (the Worker cannot run git).
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { call, createTown, createUserToken, expectError } from '../helpers';
import { installTownSeams } from '../support/town-seams';

const ADVERTISEMENT = { 'content-type': 'application/x-git-upload-pack-advertisement' };

/** A git host: `ok.git` readable, `private.git` 401, `forbidden.git` 403, `page` an HTML page, anything else 404; `down.example` unreachable. */
function gitHost(seen: string[]) {
  return async (input: string): Promise<Response> => {
    seen.push(input);
    const url = new URL(input);
    if (url.host === 'down.example') throw new TypeError('fetch failed');
    if (url.pathname === '/acme/ok.git/info/refs' && url.searchParams.get('service') === 'git-upload-pack') {
      return new Response('001e# service=git-upload-pack\n0000', { status: 200, headers: ADVERTISEMENT });
    }
    if (url.pathname.startsWith('/acme/private.git')) return new Response('auth', { status: 401 });
    if (url.pathname.startsWith('/acme/forbidden.git')) return new Response('no', { status: 403 });
    if (url.pathname.startsWith('/acme/page')) return new Response('<html></html>', { status: 200, headers: { 'content-type': 'text/html' } });
    return new Response('not found', { status: 404 });
  };
}

async function townWithHost() {
  const userToken = await createUserToken();
  const town = await createTown(userToken);
  const seen: string[] = [];
  installTownSeams(env.TOWN.idFromName(town.id).toString(), { fetch: gitHost(seen) });
  const add = (gitUrl: string, name = `rig-${Math.floor(Math.random() * 1e9)}`) =>
    call('POST', `/api/towns/${town.id}/rigs`, { token: userToken, body: { name, gitUrl } });
  const rigs = async () => (await call('GET', `/api/towns/${town.id}/rigs`, { token: userToken })).body.rigs as unknown[];
  return { add, rigs, seen };
}

describe('rig access check at add', () => {
  it('a readable public repository is added, after one smart-HTTP discovery request', async () => {
    const t = await townWithHost();
    const res = await t.add('https://git.example/acme/ok.git');
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(t.seen).toEqual(['https://git.example/acme/ok.git/info/refs?service=git-upload-pack']);
    expect(await t.rigs()).toHaveLength(1);
  });

  it.each([
    { name: 'no repository at the URL (404)', gitUrl: 'https://git.example/acme/typo.git', message: 'there is no repository at this URL on git.example' },
    { name: 'private without credentials (401)', gitUrl: 'https://git.example/acme/private.git', message: 'asks for credentials' },
    { name: 'forbidden (403)', gitUrl: 'https://git.example/acme/forbidden.git', message: 'asks for credentials' },
    { name: 'a web page, not a repository', gitUrl: 'https://git.example/acme/page', message: 'did not answer as a git repository (status 200, text/html)' },
    { name: 'a host that cannot be reached', gitUrl: 'https://down.example/acme/ok.git', message: 'down.example cannot be reached' },
  ])('refused with 422 git_remote_unreachable naming the cause, nothing stored: $name', async ({ gitUrl, message }) => {
    const t = await townWithHost();
    const res = await t.add(gitUrl);
    expectError(res, 422, 'git_remote_unreachable');
    expect(res.body.error.message).toContain(message);
    expect(await t.rigs()).toEqual([]);
  });

  it('paths, file:// and ssh URLs are not read by the control plane (checked at the first clone)', async () => {
    const t = await townWithHost();
    for (const gitUrl of ['/srv/git/web.git', 'file:///srv/git/web.git', 'ssh://git@git.example/acme/typo.git', 'git@git.example:acme/typo.git']) {
      expect((await t.add(gitUrl)).status).toBe(201);
    }
    expect(t.seen).toEqual([]);
  });
});
