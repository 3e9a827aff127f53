/**
 * `gastown rig add|update|list` in-process against a scripted control plane: flags become the
 * request body; secrets come from a file, an environment variable or stdin and never from argv;
 * no secret is ever printed (text or --json); a 422 git_auth_failed names its cause with a hint;
 * the list shows auth kind + fingerprint, merge strategy and the webhook secret state.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Rig } from '@gastown/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli';
import { capturedEnv } from '../support/fake-env';
import { sendJson, startFakeServer, type FakeServer, type RecordedRequest } from '../support/fake-server';

const TOWN = 'town_aaaaaaaa';
const NOW = 1_800_000_000_000;
const PEM = '-----BEGIN RSA PRIVATE KEY-----\nMIIEsecretKEYbodyAAAAbbbbCCCCdddd\nEEEEffffGGGGhhhh\n-----END RSA PRIVATE KEY-----';
const TOKEN = 'ghp_SecretTokenValue0123456789abcdef';
const WEBHOOK_SECRET = 'whsec-0123456789abcdef-webhook';
const SECRETS = [PEM, 'MIIEsecretKEYbody', TOKEN, WEBHOOK_SECRET];

function rig(over: Partial<Rig> = {}): Rig {
  return {
    id: 'rig_web00001',
    townId: TOWN,
    name: 'web',
    gitUrl: 'https://github.com/acme/web.git',
    defaultBranch: 'main',
    createdAt: NOW - 60_000,
    auth: { kind: 'none', appId: null, installationId: null, fingerprint: null },
    mergeStrategy: 'direct',
    provider: { kind: 'github', apiBaseUrl: 'https://api.github.com', repository: 'acme/web', webhookSecretSet: false },
    models: { polecat: null, refinery: null },
    maxPolecats: null,
    setupCommand: null,
    setupTimeoutSeconds: 300,
    instructions: { polecat: null, refinery: null },
    ...over,
  };
}

const APP_RIG = rig({
  id: 'rig_api00001',
  name: 'api',
  gitUrl: 'https://github.com/acme/api.git',
  auth: { kind: 'github_app', appId: '123456', installationId: '7890123', fingerprint: 'sha256:1a2b3c4d' },
  mergeStrategy: 'pull_request',
  provider: { kind: 'github', apiBaseUrl: 'https://api.github.com', repository: 'acme/api', webhookSecretSet: true },
});

let server: FakeServer | null = null;
const cleanups: (() => void)[] = [];
afterEach(async () => {
  await server?.close();
  server = null;
  for (const c of cleanups.splice(0)) c();
});

type Reply = (req: RecordedRequest) => { status: number; body: unknown };

/** The server answers POST/PATCH with `reply` (default: the rig echoed as stored) and lists `rigs`. */
async function run(args: string[], opts: { env?: Record<string, string>; stdin?: string; reply?: Reply; rigs?: Rig[]; files?: Record<string, string> } = {}) {
  server = await startFakeServer((req, res) => {
    const path = req.url.split('?')[0];
    if (req.method === 'GET' && path === `/api/towns/${TOWN}/rigs`) return sendJson(res, 200, { rigs: opts.rigs ?? [rig(), APP_RIG] });
    if ((req.method === 'POST' && path === `/api/towns/${TOWN}/rigs`) || (req.method === 'PATCH' && path?.startsWith(`/api/towns/${TOWN}/rigs/`))) {
      const { status, body } = opts.reply ? opts.reply(req) : { status: 200, body: { rig: APP_RIG } };
      return sendJson(res, status, body);
    }
    sendJson(res, 404, { error: { code: 'not_found', message: 'no route' } });
  });
  let stdinReads = 0;
  const env = capturedEnv(
    { GASTOWN_URL: server.url, GASTOWN_TOKEN: 'user-token-value', ...opts.env },
    {
      clock: { now: () => NOW },
      readStdin: async () => {
        stdinReads++;
        return opts.stdin ?? '';
      },
    },
  );
  cleanups.push(() => env.remove());
  for (const [name, content] of Object.entries(opts.files ?? {})) {
    mkdirSync(join(env.sys.cwd, name, '..'), { recursive: true });
    writeFileSync(join(env.sys.cwd, name), content);
  }
  const code = await runCli([...args, '--town', TOWN], env.sys);
  const requests = server.requests.filter((r) => r.method !== 'GET');
  return {
    code,
    stdout: env.stdout(),
    stderr: env.stderr(),
    cwd: env.sys.cwd,
    requests,
    body: requests[0] ? JSON.parse(requests[0].body) : undefined,
    stdinReads,
  };
}

function expectNoSecret(out: { stdout: string; stderr: string }): void {
  for (const secret of SECRETS) expect(out.stdout + out.stderr).not.toContain(secret);
}

describe('rig add: flags → request body', () => {
  it('a GitHub App rig with pull requests: ids, the key from a file, the webhook secret from the environment', async () => {
    const r = await run(
      [
        'rig',
        'add',
        'api',
        'https://github.com/acme/api.git',
        '--branch',
        'trunk',
        '--auth',
        'github-app',
        '--app-id',
        '123456',
        '--installation-id',
        '7890123',
        '--private-key-file',
        'keys/app.pem',
        '--merge-strategy',
        'pull-request',
        '--provider',
        'github',
        '--api-base-url',
        'https://ghe.example.com/api/v3/',
        '--webhook-secret-env',
        'HOOK_SECRET',
      ],
      { env: { HOOK_SECRET: WEBHOOK_SECRET }, files: { 'keys/app.pem': `${PEM}\n` } },
    );
    expect(r.code).toBe(0);
    expect(r.requests).toHaveLength(1);
    expect(r.requests[0]?.url).toBe(`/api/towns/${TOWN}/rigs`);
    expect(r.body).toEqual({
      name: 'api',
      gitUrl: 'https://github.com/acme/api.git',
      defaultBranch: 'trunk',
      auth: { kind: 'github_app', appId: '123456', installationId: '7890123', privateKey: PEM },
      mergeStrategy: 'pull_request',
      provider: { kind: 'github', apiBaseUrl: 'https://ghe.example.com/api/v3', webhookSecret: WEBHOOK_SECRET },
    });
    expect(r.stdout).toContain('added rig api (rig_api00001): https://github.com/acme/api.git on main');
    expect(r.stdout).toContain('auth github-app sha256:1a2b3c4d (app 123456, installation 7890123) · merge pull-request · webhook secret set');
    expect(r.stderr).toContain(`/webhooks/github/towns/${TOWN}/rigs/rig_api00001`);
    expectNoSecret(r);
  });

  it.each([
    { name: 'token from an environment variable', args: ['--token-env', 'RIG_TOKEN'], env: { RIG_TOKEN: `  ${TOKEN}\n` }, stdin: undefined },
    { name: 'token from stdin', args: ['--auth', 'token', '--token-stdin'], env: {} as Record<string, string>, stdin: `${TOKEN}\n` },
  ])('$name (the kind is implied by the option)', async ({ args, env, stdin }) => {
    const r = await run(['rig', 'add', 'web', 'https://github.com/acme/web.git', ...args], { env, stdin });
    expect(r.code).toBe(0);
    expect(r.body).toEqual({ name: 'web', gitUrl: 'https://github.com/acme/web.git', auth: { kind: 'token', token: TOKEN } });
    expectNoSecret(r);
  });

  it('the key from stdin with --private-key-file -', async () => {
    const r = await run(['rig', 'add', 'api', 'https://github.com/acme/api.git', '--app-id', '1', '--installation-id', '2', '--private-key-file', '-'], {
      stdin: `${PEM}\n`,
    });
    expect(r.code).toBe(0);
    expect(r.body.auth).toEqual({ kind: 'github_app', appId: '1', installationId: '2', privateKey: PEM });
    expect(r.stdinReads).toBe(1);
  });

  it('a public rig sends no auth; --merge-strategy direct and --auth none are sent as given', async () => {
    const plain = await run(['rig', 'add', 'web', '/srv/web.git'], { reply: () => ({ status: 200, body: { rig: rig() } }) });
    expect(plain.code).toBe(0);
    expect(plain.body).toEqual({ name: 'web', gitUrl: '/srv/web.git' });
    expect(plain.stdout.trim()).toBe('added rig web (rig_web00001): https://github.com/acme/web.git on main');
    await server?.close();
    const explicit = await run(['rig', 'add', 'web', '/srv/web.git', '--auth', 'none', '--merge-strategy', 'direct'], {
      reply: () => ({ status: 200, body: { rig: rig() } }),
    });
    expect(explicit.body).toEqual({ name: 'web', gitUrl: '/srv/web.git', auth: { kind: 'none' }, mergeStrategy: 'direct' });
  });

  it('--json prints the rig as the API describes it: a secret the server wrongly echoed is dropped', async () => {
    const leaky = { ...APP_RIG, auth: { ...APP_RIG.auth, privateKey: PEM }, provider: { ...APP_RIG.provider, webhookSecret: WEBHOOK_SECRET } };
    const r = await run(
      ['rig', 'add', 'api', 'https://github.com/acme/api.git', '--app-id', '1', '--installation-id', '2', '--private-key-file', 'k.pem', '--json'],
      { files: { 'k.pem': PEM }, reply: () => ({ status: 200, body: { rig: leaky } }) },
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ rig: APP_RIG });
    expectNoSecret(r);
  });
});

describe('rig add: secrets never on the command line', () => {
  const GIT = ['rig', 'add', 'web', 'https://github.com/acme/web.git'];
  it.each([
    { name: '--private-key <pem>', args: [...GIT, '--private-key', 'MIIEsecretKEYbody'], message: 'use --private-key-file <path>' },
    { name: '--private-key=<pem>', args: [...GIT, `--private-key=${PEM}`], message: 'use --private-key-file <path>' },
    { name: '--git-token <token>', args: [...GIT, '--git-token', TOKEN], message: 'use --token-env <VAR> or --token-stdin' },
    { name: '--pat <token>', args: [...GIT, '--pat', TOKEN], message: 'use --token-env <VAR> or --token-stdin' },
    { name: '--webhook-secret <secret>', args: [...GIT, '--webhook-secret', WEBHOOK_SECRET], message: 'use --webhook-secret-env <VAR>' },
    { name: 'a token as --token-env', args: [...GIT, '--token-env', TOKEN], message: '--token-env takes the NAME of an environment variable' },
    { name: 'a secret as --webhook-secret-env', args: [...GIT, `--webhook-secret-env=${WEBHOOK_SECRET}`], message: '--webhook-secret-env takes the NAME' },
    {
      name: 'a key as --private-key-file',
      args: [...GIT, '--app-id', '1', '--installation-id', '2', `--private-key-file=${PEM}`],
      message: 'takes the path of the .pem file',
    },
    { name: 'a token after --token-stdin (an extra argument)', args: [...GIT, '--token-stdin', TOKEN], message: 'too many arguments (1 extra, not shown' },
    { name: 'update: --private-key', args: ['rig', 'update', 'api', '--private-key', 'MIIEsecretKEYbody'], message: 'use --private-key-file <path>' },
  ])('$name: usage error (exit 2), the value never printed, nothing sent', async ({ args, message }) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.requests).toEqual([]);
    expectNoSecret(r);
  });

  it('with --json the refusal is a usage error object without the value', async () => {
    const r = await run([...GIT, '--git-token', TOKEN, '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.code).toBe('usage');
    expectNoSecret(r);
  });
});

describe('rig add: flag mistakes are usage errors before any request', () => {
  const GIT = ['rig', 'add', 'web', 'https://github.com/acme/web.git'];
  it.each([
    { name: '--auth token without a source', args: [...GIT, '--auth', 'token'], message: '--auth token needs --token-env <VAR> or --token-stdin' },
    { name: 'both token sources', args: [...GIT, '--token-env', 'T', '--token-stdin'], message: 'not both' },
    {
      name: 'unset variable',
      args: [...GIT, '--token-env', 'NOT_SET_ANYWHERE'],
      message: 'environment variable NOT_SET_ANYWHERE (--token-env) is not set or empty',
    },
    { name: 'too short a token', args: [...GIT, '--token-env', 'SHORT'], message: 'the token in $SHORT:' },
    { name: 'app and token options', args: [...GIT, '--app-id', '1', '--token-env', 'T'], message: 'either the GitHub App options or a token' },
    { name: '--auth none with a token', args: [...GIT, '--auth', 'none', '--token-env', 'T'], message: '--token-env does not go with --auth none' },
    { name: 'app without a key', args: [...GIT, '--app-id', '1', '--installation-id', '2'], message: '--auth github-app needs --private-key-file' },
    { name: 'app without an installation', args: [...GIT, '--auth', 'github-app', '--app-id', '1'], message: 'needs --installation-id' },
    {
      name: 'a non-numeric app id',
      args: [...GIT, '--app-id', 'my-app', '--installation-id', '2', '--private-key-file', 'k.pem'],
      message: '--app-id: must be the numeric app id',
    },
    {
      name: 'a file that is not a key',
      args: [...GIT, '--app-id', '1', '--installation-id', '2', '--private-key-file', 'notes.txt'],
      message: 'the key in notes.txt: must be a PEM private key',
    },
    {
      name: 'a missing key file',
      args: [...GIT, '--app-id', '1', '--installation-id', '2', '--private-key-file', 'nope.pem'],
      message: 'cannot read --private-key-file nope.pem (ENOENT)',
    },
    { name: 'an unknown kind', args: [...GIT, '--auth', 'ssh-key'], message: '--auth must be none, github-app or token' },
    { name: 'an unknown strategy', args: [...GIT, '--merge-strategy', 'squash'], message: '--merge-strategy must be direct or pull-request' },
    { name: 'an unknown provider', args: [...GIT, '--provider', 'bitbucket'], message: '--provider must be github or gitlab' },
    { name: 'an API base that is not http(s)', args: [...GIT, '--api-base-url', 'ghe.example.com'], message: '--api-base-url must be an http(s) URL' },
    { name: 'too short a webhook secret', args: [...GIT, '--webhook-secret-env', 'SHORT'], message: 'the webhook secret in $SHORT:' },
  ])('$name', async ({ args, message }) => {
    const r = await run(args, { env: { T: TOKEN, SHORT: 'abc' }, files: { 'k.pem': PEM, 'notes.txt': 'just some notes' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.requests).toEqual([]);
    expectNoSecret(r);
  });
});

describe('rig add: the server refuses the credentials (422 git_auth_failed)', () => {
  const refuse: Reply = () => ({
    status: 422,
    body: { error: { code: 'git_auth_failed', message: 'the GitHub App is not installed on acme (installation 7890123 not found)' } },
  });
  const ARGS = ['rig', 'add', 'api', 'https://github.com/acme/api.git', '--app-id', '1', '--installation-id', '7890123', '--private-key-file', 'k.pem'];

  it('prints the cause and a hint; exit 1 like other API failures', async () => {
    const r = await run(ARGS, { files: { 'k.pem': PEM }, reply: refuse });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("gastown: the git host refused the rig's credentials: the GitHub App is not installed on acme (installation 7890123 not found)");
    expect(r.stderr).toContain('hint: nothing was stored');
    expect(r.stdout).toBe('');
    expectNoSecret(r);
  });

  it('--json: the server code and status', async () => {
    const r = await run([...ARGS, '--json'], { files: { 'k.pem': PEM }, reply: refuse });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({
      error: {
        code: 'failed',
        message: "the git host refused the rig's credentials: the GitHub App is not installed on acme (installation 7890123 not found)",
        status: 422,
        serverCode: 'git_auth_failed',
      },
    });
  });
});

describe('rig add: no repository the server can read at the URL (422 git_remote_unreachable)', () => {
  it('prints the cause and a hint; exit 1; --json keeps the server code', async () => {
    const refuse: Reply = () => ({
      status: 422,
      body: { error: { code: 'git_remote_unreachable', message: 'there is no repository at this URL on github.com' } },
    });
    const r = await run(['rig', 'add', 'web', 'https://github.com/acme/wbe.git'], { reply: refuse });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("gastown: the rig's repository could not be read: there is no repository at this URL on github.com");
    expect(r.stderr).toContain('hint: nothing was stored. Check the URL');
    const json = await run(['rig', 'add', 'web', 'https://github.com/acme/wbe.git', '--json'], { reply: refuse });
    expect(JSON.parse(json.stdout).error).toMatchObject({ code: 'failed', status: 422, serverCode: 'git_remote_unreachable' });
  });
});

describe('rig update', () => {
  it('by name: PATCH the rig by id with only what changes', async () => {
    const r = await run(['rig', 'update', 'web', '--merge-strategy', 'pull-request', '--webhook-secret-env', 'HOOK'], { env: { HOOK: WEBHOOK_SECRET } });
    expect(r.code).toBe(0);
    expect(r.requests.map((q) => `${q.method} ${q.url}`)).toEqual([`PATCH /api/towns/${TOWN}/rigs/rig_web00001`]);
    expect(r.body).toEqual({ mergeStrategy: 'pull_request', provider: { webhookSecret: WEBHOOK_SECRET } });
    expect(r.stdout).toContain('updated rig api (rig_api00001): auth github-app sha256:1a2b3c4d');
    expectNoSecret(r);
  });

  it("a new key alone keeps the GitHub App's ids", async () => {
    const r = await run(['rig', 'update', 'rig_api00001', '--private-key-file', 'new.pem'], { files: { 'new.pem': PEM } });
    expect(r.code).toBe(0);
    expect(r.body).toEqual({ auth: { kind: 'github_app', appId: '123456', installationId: '7890123', privateKey: PEM } });
  });

  it('--auth none removes the stored secret', async () => {
    const r = await run(['rig', 'update', 'api', '--auth', 'none']);
    expect(r.body).toEqual({ auth: { kind: 'none' } });
  });

  it.each([
    { name: 'nothing to change', args: ['rig', 'update', 'web'], code: 2, message: 'nothing to change' },
    { name: 'new app ids without the key', args: ['rig', 'update', 'api', '--app-id', '99'], code: 2, message: 'needs its key again' },
    { name: 'an unknown rig', args: ['rig', 'update', 'nope', '--auth', 'none'], code: 5, message: 'rig nope not found' },
  ])('$name', async ({ args, code, message }) => {
    const r = await run(args);
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(message);
    expect(r.requests).toEqual([]);
  });

  it('a refused new token: the cause and exit 1', async () => {
    const r = await run(['rig', 'update', 'web', '--token-env', 'T'], {
      env: { T: TOKEN },
      reply: () => ({ status: 422, body: { error: { code: 'git_auth_failed', message: 'the token has no write permission on acme/web' } } }),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the token has no write permission on acme/web');
    expectNoSecret(r);
  });
});

describe('rig list', () => {
  it('AUTH (kind + fingerprint), MERGE and WEBHOOK columns', async () => {
    const tokenRig = rig({
      id: 'rig_lib00001',
      name: 'lib',
      auth: { kind: 'token', appId: null, installationId: null, fingerprint: 'sha256:99aa88bb' },
      mergeStrategy: 'pull_request',
      provider: { kind: 'gitlab', apiBaseUrl: 'https://gitlab.example.com/api/v4', repository: 'acme/lib', webhookSecretSet: false },
    });
    const r = await run(['rig', 'list'], { rigs: [rig(), APP_RIG, tokenRig] });
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+BRANCH\s+GIT URL\s+AUTH\s+MERGE\s+WEBHOOK\s+CREATED$/);
    const cells = (line: string | undefined) => (line ?? '').split(/\s{2,}/);
    expect(cells(lines[1]).slice(4, 7)).toEqual(['none', 'direct', '-']);
    expect(cells(lines[2]).slice(4, 7)).toEqual(['github-app sha256:1a2b3c4d', 'pull-request', 'set']);
    expect(cells(lines[3]).slice(4, 7)).toEqual(['token sha256:99aa88bb', 'pull-request', 'not set']);
  });

  it("an older server's rig (no auth fields) shows as none / direct", async () => {
    const { auth: _a, mergeStrategy: _m, provider: _p, ...old } = rig();
    const r = await run(['rig', 'list', '--json'], { rigs: [old as Rig] });
    expect(JSON.parse(r.stdout).rigs[0]).toMatchObject({ auth: { kind: 'none', fingerprint: null }, mergeStrategy: 'direct' });
  });
});
