/**
 * scanForSecrets: every credential kind planted in every kind of place is found (with the
 * secret's fingerprint, never its value); clean places give zero hits and zero errors.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/leak-scan/patterns';
import { scanForSecrets } from '../../src/leak-scan/scan';
import type { LeakHit, ScanResult } from '../../src/leak-scan/types';
import { writeDurableObjectEvents } from './miniflare-state';
import { CREDENTIAL_KINDS, mintCredentials, ORDINARY_TEXT, tempDir, type Credentials } from './support';

const run = promisify(execFile);
let c: Credentials;
let secrets: string[];
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  c = await mintCredentials();
  secrets = CREDENTIAL_KINDS.map((k) => c[k]);
});
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function dir(prefix: string): Promise<string> {
  const d = await tempDir(prefix);
  cleanups.push(d.cleanup);
  return d.path;
}

/** The fingerprints of exact-secret hits, as a set of credential kinds. */
function kindsFound(result: ScanResult, where?: (h: LeakHit) => boolean): string[] {
  const byFingerprint = new Map(CREDENTIAL_KINDS.map((k) => [fingerprint(c[k]), k]));
  const found = result.hits
    .filter((h) => h.kind === 'secret' && (where?.(h) ?? true))
    .map((h) => byFingerprint.get(h.fingerprint) ?? `unknown:${h.fingerprint}`);
  return [...new Set(found)].sort();
}

const ALL_KINDS = [...CREDENTIAL_KINDS].sort();

function expectNoValueInResult(result: ScanResult): void {
  const text = JSON.stringify(result);
  for (const s of secrets) expect(text.includes(s), 'the scan result holds a secret').toBe(false);
}

function spawnIdle(env: NodeJS.ProcessEnv, args: string[] = []): ChildProcess {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', ...args], { env, stdio: 'ignore' });
  cleanups.push(() => {
    if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
  });
  return child;
}

describe('files and directories', () => {
  it('reads gzip files decompressed too (stored session snapshots): every kind inside is found, a clean one gives nothing', async () => {
    const root = await dir('gzip');
    const body = Buffer.from(JSON.stringify({ messages: CREDENTIAL_KINDS.map((k) => ({ text: `${ORDINARY_TEXT} ${c[k]}`, pad: 'x'.repeat(5_000_000) })) }));
    await writeFile(join(root, 'snapshot.json.gz'), gzipSync(body));
    await writeFile(join(root, 'clean.json.gz'), gzipSync(Buffer.from(ORDINARY_TEXT.repeat(1000))));
    const compressedOnly = await readFile(join(root, 'snapshot.json.gz'));
    expect(
      secrets.some((v) => compressedOnly.includes(v)),
      'the compressed bytes alone hide the secrets',
    ).toBe(false);
    const result = await scanForSecrets({ secrets, roots: { dirs: [root] } });
    expect(result.errors).toEqual([]);
    expect(kindsFound(result, (h) => h.where === `gzip:file:${join(root, 'snapshot.json.gz')}`)).toEqual(ALL_KINDS);
    expect(result.hits.filter((h) => h.where.includes('clean.json.gz'))).toEqual([]);
    expectNoValueInResult(result);
  });

  it('reports a corrupt gzip file as an error instead of skipping it', async () => {
    const root = await dir('gzip-bad');
    await writeFile(join(root, 'torn.json.gz'), gzipSync(Buffer.from(ORDINARY_TEXT.repeat(100))).subarray(0, 30));
    const result = await scanForSecrets({ secrets, roots: { dirs: [root] } });
    expect(result.errors.map((e) => e.where)).toEqual([`gzip:file:${join(root, 'torn.json.gz')}`]);
  });

  it('finds every credential kind in a nested text file, with the path, offset and the secret’s fingerprint', async () => {
    const root = await dir('text');
    await mkdir(join(root, 'a', 'b'), { recursive: true });
    const lines = CREDENTIAL_KINDS.map((k) => `${k}=${c[k]}`);
    await writeFile(join(root, 'a', 'b', 'app.log'), `${ORDINARY_TEXT}\n${lines.join('\n')}\n`);
    const result = await scanForSecrets({ secrets, roots: { dirs: [root] } });
    expect(kindsFound(result)).toEqual(ALL_KINDS);
    const provider = result.hits.find((h) => h.fingerprint === fingerprint(c.providerKey));
    const text = await readFile(join(root, 'a', 'b', 'app.log'), 'utf8');
    expect(provider).toMatchObject({
      where: `file:${join(root, 'a', 'b', 'app.log')}`,
      kind: 'secret',
      offset: Buffer.byteLength(text.slice(0, text.indexOf(c.providerKey))),
      count: 1,
    });
    expect(result.hits.filter((h) => h.kind === 'jwt').map((h) => h.fingerprint)).toEqual([fingerprint(c.accessToken)]);
    expect(result.hits.filter((h) => h.kind === 'refresh_credential').map((h) => h.fingerprint)).toEqual([fingerprint(c.refreshCredential)]);
    expectNoValueInResult(result);
  });

  it('finds every kind inside a binary file, in UTF-8 and UTF-16LE', async () => {
    const root = await dir('binary');
    const file = join(root, 'blob.bin');
    const parts = CREDENTIAL_KINDS.flatMap((k, i) => [Buffer.from([0, 255, i, 0x7f]), Buffer.from(c[k], i % 2 ? 'utf16le' : 'utf8'), Buffer.alloc(17)]);
    await writeFile(file, Buffer.concat(parts));
    const result = await scanForSecrets({ secrets, roots: { files: [file] } });
    expect(kindsFound(result)).toEqual(ALL_KINDS);
    expect(result.hits.filter((h) => h.kind === 'secret').map((h) => h.encoding)).toEqual(['utf8', 'utf16le', 'utf8', 'utf16le', 'utf8']);
  });

  it('finds a secret straddling a read-chunk boundary exactly once, and counts repeats', async () => {
    const root = await dir('chunk');
    const file = join(root, 'big.dat');
    const boundary = 4 * 1024 * 1024;
    const big = Buffer.alloc(boundary * 2 + 4096, 0x2e);
    Buffer.from(c.containerKey).copy(big, boundary - 7);
    Buffer.from(c.containerKey).copy(big, boundary + 5000);
    Buffer.from(c.accessToken).copy(big, boundary * 2 - 20);
    await writeFile(file, big);
    const result = await scanForSecrets({ secrets, roots: { files: [file] } });
    expect(result.hits.find((h) => h.fingerprint === fingerprint(c.containerKey))).toMatchObject({ offset: boundary - 7, count: 2 });
    expect(result.hits.filter((h) => h.fingerprint === fingerprint(c.accessToken)).map((h) => [h.kind, h.count, h.offset])).toEqual([
      ['secret', 1, boundary * 2 - 20],
      ['jwt', 1, boundary * 2 - 20],
    ]);
    expect(result.scanned).toMatchObject({ files: 1, bytes: big.length });
  });

  it('a secret in a file name is a hit, and the report shows the name redacted', async () => {
    const root = await dir('name');
    await writeFile(join(root, `token-${c.refreshCredential}.txt`), 'nothing inside');
    const result = await scanForSecrets({ secrets, roots: { dirs: [root] } });
    expect(kindsFound(result)).toEqual(['refreshCredential']);
    expect(result.hits.find((h) => h.kind === 'secret')?.where).toBe(`filename:${join(root, `token-<${fingerprint(c.refreshCredential)}>.txt`)}`);
    expectNoValueInResult(result);
  });

  it('an unreadable or missing root is reported as an error, not skipped', async () => {
    const root = await dir('missing');
    const result = await scanForSecrets({ secrets, roots: { dirs: [join(root, 'nope')], files: [join(root, 'nope.txt')] } });
    expect(result.errors.map((e) => e.code)).toEqual(['ENOENT', 'ENOENT']);
  });
});

describe('SQLite state (wrangler dev / miniflare Durable Object storage)', () => {
  it('finds every kind stored in event rows (still in the WAL, not yet checkpointed)', async () => {
    const state = await dir('sqlite');
    await writeDurableObjectEvents(
      state,
      CREDENTIAL_KINDS.map((k) => JSON.stringify({ type: 'agent.debug', data: { [k]: c[k] } })),
    );
    const result = await scanForSecrets({ secrets, roots: { sqliteDirs: [state] } });
    expect(kindsFound(result)).toEqual(ALL_KINDS);
    expect(result.hits.every((h) => h.where.startsWith(`sqlite:${state}`))).toBe(true);
    expectNoValueInResult(result);
  }, 30_000);
});

describe('processes', () => {
  it('finds every kind in a process environment, naming the variable', async () => {
    const env = Object.fromEntries(CREDENTIAL_KINDS.map((k) => [`PLANTED_${k.toUpperCase()}`, c[k]]));
    const child = spawnIdle({ PATH: process.env.PATH, ...env });
    const result = await scanForSecrets({ secrets, roots: { processEnvPids: [child.pid as number] } });
    expect(kindsFound(result)).toEqual(ALL_KINDS);
    expect(result.hits.find((h) => h.fingerprint === fingerprint(c.containerKey) && h.kind === 'secret')?.where).toBe(`env:${child.pid}:PLANTED_CONTAINERKEY`);
    expectNoValueInResult(result);
  });

  it('finds a secret passed on a command line', async () => {
    const child = spawnIdle({ PATH: process.env.PATH }, [`token=${c.accessToken}`]);
    const result = await scanForSecrets({ secrets, roots: { processEnvPids: [child.pid as number] } });
    expect(result.hits.filter((h) => h.kind === 'secret').map((h) => h.where)).toEqual([`cmdline:${child.pid}:3`]);
  });

  it('processTrees reaches a descendant the root pid alone does not show', async () => {
    const script = `const s = require('fs').readFileSync(0, 'utf8');
      const c = require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { env: { PLANTED: s }, stdio: 'ignore' });
      process.stdout.write(String(c.pid)); setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ['-e', script], { env: { PATH: process.env.PATH }, stdio: ['pipe', 'pipe', 'ignore'] });
    const childPid = await new Promise<number>((resolve) => {
      parent.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString())));
      parent.stdin?.end(c.providerKey);
    });
    cleanups.push(() => {
      for (const pid of [childPid, parent.pid as number]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    });
    const alone = await scanForSecrets({ secrets, roots: { processEnvPids: [parent.pid as number] } });
    expect(alone.hits).toEqual([]);
    const tree = await scanForSecrets({ secrets, roots: { processTrees: [parent.pid as number] } });
    expect(tree.hits.filter((h) => h.kind === 'secret').map((h) => h.where)).toEqual([`env:${childPid}:PLANTED`]);
    expect(tree.scanned.processes).toBe(2);
  });

  it('a pid that does not exist is an error', async () => {
    const result = await scanForSecrets({ secrets, roots: { processEnvPids: [2 ** 22 + 12345] } });
    expect(result.errors).toEqual([{ where: `env:${2 ** 22 + 12345}`, code: 'ENOENT' }]);
  });
});

describe('git', () => {
  async function repo(): Promise<{ root: string; path: string; env: NodeJS.ProcessEnv }> {
    const root = await dir('git');
    const path = join(root, 'repo');
    const home = join(root, 'home');
    await mkdir(home);
    const env = { PATH: process.env.PATH, HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: join(home, '.gitconfig') };
    await writeFile(env.GIT_CONFIG_GLOBAL, '[user]\n\tname = t\n\temail = t@example.com\n');
    await run('git', ['init', '--quiet', '--initial-branch=main', path], { env });
    return { root, path, env };
  }

  it('finds a token in a remote URL (repository config) and in the global config an agent used', async () => {
    const r = await repo();
    await run('git', ['-C', r.path, 'remote', 'add', 'origin', `https://x-access-token:${c.providerKey}@github.com/o/r.git`], { env: r.env });
    await writeFile(r.env.GIT_CONFIG_GLOBAL as string, `[http]\n\textraHeader = Authorization: Bearer ${c.accessToken}\n`, { flag: 'a' });
    const result = await scanForSecrets({ secrets, roots: { gitRepos: [r.path] }, gitEnv: r.env });
    expect(kindsFound(result)).toEqual(['accessToken', 'providerKey']);
    const wheres = result.hits
      .filter((h) => h.kind === 'secret')
      .map((h) => h.where)
      .sort();
    expect(wheres).toEqual(
      [
        `git:${r.path}:${join(r.path, '.git', 'config')}`,
        `git:${r.path}:file:.git/config:remote.origin.url`,
        `git:${r.path}:file:${r.env.GIT_CONFIG_GLOBAL}:http.extraheader`,
      ].sort(),
    );
    expectNoValueInResult(result);
  });

  it('a worktree is scanned through its common git dir; FETCH_HEAD is read', async () => {
    const r = await repo();
    await run('git', ['-C', r.path, 'commit', '--quiet', '--allow-empty', '-m', 'init'], { env: r.env });
    const worktree = join(r.root, 'wt');
    await run('git', ['-C', r.path, 'worktree', 'add', '--quiet', '-b', 'side', worktree], { env: r.env });
    await run('git', ['-C', r.path, 'config', 'gastown.leak', c.containerKey], { env: r.env });
    await writeFile(join(r.path, '.git', 'FETCH_HEAD'), `abc\t\tbranch 'main' of https://u:${c.signingSecret}@example.com/r\n`);
    const result = await scanForSecrets({ secrets, roots: { gitRepos: [worktree] }, gitEnv: r.env });
    expect(kindsFound(result)).toEqual(['containerKey', 'signingSecret']);
  });

  it('a directory that is not a repository is an error', async () => {
    const root = await dir('nogit');
    const result = await scanForSecrets({ secrets, roots: { gitRepos: [root] }, gitEnv: { PATH: process.env.PATH, GIT_CEILING_DIRECTORIES: root } });
    expect(result.errors).toEqual([{ where: `git:${root}`, code: 'not_a_repository' }]);
  });
});

describe('clean inputs', () => {
  it('zero hits and zero errors over ordinary files, SQLite state, a process and a git repository', async () => {
    const root = await dir('clean');
    await mkdir(join(root, 'logs'));
    await writeFile(join(root, 'logs', 'app.log'), ORDINARY_TEXT);
    await writeFile(join(root, 'random.bin'), Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 7919) % 256)));
    const state = join(root, 'state');
    await writeDurableObjectEvents(state, [JSON.stringify({ type: 'agent.started', data: { fingerprint: fingerprint(c.accessToken) } })]);
    const child = spawnIdle({ PATH: process.env.PATH, ORDINARY: 'value' });
    const gitRoot = join(root, 'repo');
    const gitEnv = { PATH: process.env.PATH, HOME: root, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: join(root, 'no-such-gitconfig') };
    await run('git', ['init', '--quiet', gitRoot], { env: gitEnv });
    await run('git', ['-C', gitRoot, 'remote', 'add', 'origin', 'https://github.com/o/r.git'], { env: gitEnv });
    const result = await scanForSecrets({
      secrets,
      roots: { dirs: [join(root, 'logs')], files: [join(root, 'random.bin')], sqliteDirs: [state], processEnvPids: [child.pid as number], gitRepos: [gitRoot] },
      gitEnv,
    });
    expect(result.hits).toEqual([]);
    expect(result.errors).toEqual([]);
    expect(result.scanned.files).toBeGreaterThanOrEqual(4);
    expect(result.scanned).toMatchObject({ processes: 1, repos: 1 });
  }, 30_000);
});
