/**
 * The credential wire: git's attributes, the rig-URL match, auth-failure detection, and the
 * server answering the helper over its socket only for the rig's exact URL.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type GitTokenGrant } from '@gastown/protocol';
import { ManualClock, ManualTimers } from '@gastown/testkit/fake-control-plane/index';
import {
  CREDENTIAL_HELPER_PATH,
  GitTokenRegistry,
  credentialHelperCommand,
  isAuthFailure,
  matchesRigUrl,
  startGitCredentialServer,
  type GitCredentialServer,
} from '../../src/git';
import { HELPER_PROTOCOL, parseHelperRequest } from '../../src/git/credential-protocol';
import { SecretRegistry } from '../../src/log';
import { captureLogger } from '../broker/support';

const RIG_URL = 'https://github.example.com/acme/widgets.git';

describe('matchesRigUrl', () => {
  it.each([
    { name: 'the rig URL', attrs: { protocol: 'https', host: 'github.example.com', path: 'acme/widgets.git' }, ok: true },
    { name: 'host case differs', attrs: { protocol: 'https', host: 'GitHub.example.com', path: 'acme/widgets.git' }, ok: true },
    { name: 'another repository on the same host', attrs: { protocol: 'https', host: 'github.example.com', path: 'acme/other.git' }, ok: false },
    { name: 'no path (useHttpPath off)', attrs: { protocol: 'https', host: 'github.example.com' }, ok: false },
    { name: 'plain http for an https rig', attrs: { protocol: 'http', host: 'github.example.com', path: 'acme/widgets.git' }, ok: false },
    { name: 'another host (a redirect)', attrs: { protocol: 'https', host: 'evil.example.com', path: 'acme/widgets.git' }, ok: false },
    { name: 'another port', attrs: { protocol: 'https', host: 'github.example.com:8443', path: 'acme/widgets.git' }, ok: false },
    { name: 'a path prefix', attrs: { protocol: 'https', host: 'github.example.com', path: 'acme' }, ok: false },
  ])('$name → $ok', ({ attrs, ok }) => {
    expect(matchesRigUrl(attrs as Record<string, string>, RIG_URL)).toBe(ok);
  });

  it('a non-http rig URL matches nothing', () => {
    expect(matchesRigUrl({ protocol: 'file', host: '', path: 'srv/x.git' }, 'file:///srv/x.git')).toBe(false);
  });
});

describe('isAuthFailure', () => {
  it.each([
    { name: 'refused credentials', stderr: "fatal: Authentication failed for 'https://h/acme/w.git/'", auth: true },
    { name: 'no credential given', stderr: "fatal: could not read Username for 'https://h': terminal prompts disabled", auth: true },
    { name: '403', stderr: "fatal: unable to access 'https://h/a.git/': The requested URL returned error: 403", auth: true },
    { name: 'GitLab', stderr: 'remote: HTTP Basic: Access denied', auth: true },
    { name: 'not found', stderr: "fatal: repository 'https://h/a.git/' not found", auth: false },
    { name: 'non-fast-forward', stderr: ' ! [rejected]        main -> main (non-fast-forward)', auth: false },
    { name: 'network', stderr: "fatal: unable to access 'https://h/': Could not resolve host: h", auth: false },
  ])('$name → $auth', ({ stderr, auth }) => {
    expect(isAuthFailure(stderr)).toBe(auth);
  });
});

describe('parseHelperRequest', () => {
  it.each([
    { name: 'a get', text: `${HELPER_PROTOCOL} get rig_private01\nprotocol=https\nhost=h\n\n`, ok: true },
    { name: 'wrong protocol line', text: 'something else get rig_private01\n', ok: false },
    { name: 'unknown action', text: `${HELPER_PROTOCOL} approve rig_private01\n`, ok: false },
    { name: 'hostile rig id', text: `${HELPER_PROTOCOL} get ../../x\n`, ok: false },
    { name: 'a line without =', text: `${HELPER_PROTOCOL} get rig_private01\nprotocol\n`, ok: false },
  ])('$name', ({ text, ok }) => {
    expect(parseHelperRequest(text) !== null).toBe(ok);
  });

  it('the helper program speaks the same protocol line', async () => {
    expect(await readFile(CREDENTIAL_HELPER_PATH, 'utf8')).toContain(`const PROTOCOL = '${HELPER_PROTOCOL}';`);
  });
});

describe('the credential server', () => {
  let dir: string;
  let server: GitCredentialServer;
  let registry: GitTokenRegistry;
  let log: ReturnType<typeof captureLogger>;
  const clock = new ManualClock();
  const grant: GitTokenGrant = { rigId: 'rig_private01', token: 'opaque-git-token-served-0001', username: 'x-access-token', expiresAt: null };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gt-cred-server-'));
    const secrets = new SecretRegistry();
    log = captureLogger(secrets);
    registry = new GitTokenRegistry({ clock, random: () => 0.5, timers: new ManualTimers(clock), logger: log.logger, secrets });
    registry.forRig({ id: 'rig_private01', gitUrl: RIG_URL }).offer(grant);
    server = await startGitCredentialServer({ dataDir: join(dir, 'data'), registry, logger: log.logger });
  });
  afterEach(async () => {
    registry.stop();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** What the helper program prints for `action` with git's `input` (the real helper, as git runs it). */
  function helper(action: string, input: string, rigId = 'rig_private01'): Promise<string> {
    const command = credentialHelperCommand(process.execPath, CREDENTIAL_HELPER_PATH, server.socketPath, rigId).slice(1);
    return new Promise((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', `${command} ${action}`], { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '' } });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.on('error', reject);
      child.on('close', () => resolve(out));
      child.stdin.end(input);
    });
  }

  it('get for the rig URL → the grant user name and token', async () => {
    const out = await helper('get', 'protocol=https\nhost=github.example.com\npath=acme/widgets.git\n\n');
    expect(out).toBe(`username=x-access-token\npassword=${grant.token}\n`);
  });

  it.each([
    { name: 'another repository', input: 'protocol=https\nhost=github.example.com\npath=acme/other.git\n\n', rigId: 'rig_private01' },
    { name: 'no path', input: 'protocol=https\nhost=github.example.com\n\n', rigId: 'rig_private01' },
    { name: 'an unknown rig', input: 'protocol=https\nhost=github.example.com\npath=acme/widgets.git\n\n', rigId: 'rig_unknown01' },
  ])('get for $name → nothing', async ({ input, rigId }) => {
    expect(await helper('get', input, rigId)).toBe('');
    expect(log.text()).toContain('git.credential_request_refused');
  });

  it('erase of the token in hand marks it refused; store does nothing', async () => {
    await helper('store', `protocol=https\nhost=github.example.com\npath=acme/widgets.git\nusername=x-access-token\npassword=${grant.token}\n\n`);
    expect(registry.get('rig_private01')!.status().state).toBe('valid');
    await helper('erase', `protocol=https\nhost=github.example.com\npath=acme/widgets.git\nusername=x-access-token\npassword=${grant.token}\n\n`);
    expect(registry.get('rig_private01')!.status().state).toBe('rejected');
    expect(await helper('get', 'protocol=https\nhost=github.example.com\npath=acme/widgets.git\n\n')).toBe('');
    expect(log.text()).not.toContain(grant.token);
  });

  it('a request that is not the helper protocol gets nothing', async () => {
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(server.socketPath);
      let out = '';
      socket.on('data', (chunk: Buffer) => (out += chunk.toString()));
      socket.on('end', () => resolve(out));
      socket.on('connect', () => socket.end('get\nprotocol=https\nhost=github.example.com\npath=acme/widgets.git\n\n'));
    });
    expect(answer).toBe('');
  });

  it('a data dir too long for a socket path: a private temp dir instead (0700), removed at close', async () => {
    const long = await startGitCredentialServer({ dataDir: join(dir, 'd'.repeat(120)), registry, logger: log.logger });
    try {
      expect(long.socketPath.startsWith(tmpdir())).toBe(true);
      expect((await stat(dirname(long.socketPath))).mode & 0o777).toBe(0o700);
    } finally {
      await long.close();
    }
    await expect(stat(dirname(long.socketPath))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('the helper command names paths and the rig id only, shell-quoted', () => {
    const command = credentialHelperCommand('/usr/bin/node', "/opt/it's/helper.mjs", '/data/run/git-credential.sock', 'rig_private01');
    expect(command).toBe(`!'/usr/bin/node' '/opt/it'\\''s/helper.mjs' '/data/run/git-credential.sock' 'rig_private01'`);
  });
});
