/**
 * One local stack per state directory, with real processes: a first `gastown dev --build` (what
 * `npm start` runs) starts the real stack (wrangler dev + the container host); a second start on
 * the same `.gastown/` — on another port — is refused at once with exit 6, naming the first's pid
 * and port, without building and without touching the first, which still answers. A start in
 * another directory on the first's port is refused before its build. Ctrl-C stops the first, its
 * processes end and its lock is gone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findStackProcesses, freePort } from '@gastown/testkit/stack/index';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const HERE = dirname(fileURLToPath(import.meta.url));
const DEV_CHILD = resolve(HERE, '../support/dev-child.ts');
const BUILD_MARKER = 'dev-child: build step ran';
const READY_LINE = 'Gastown is running.';
const START_TIMEOUT_MS = 150_000;

interface Started {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** `runDev` in its own process (tsx), on `repoRoot`'s `.gastown/`. */
function startDev(repoRoot: string, args: string[]): Started {
  const child = spawn(process.execPath, ['--import', 'tsx', DEV_CHILD, repoRoot, ...args], {
    cwd: resolve(HERE, '../..'), // where `--import tsx` resolves
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<number | null>((done) => child.once('close', (code) => done(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs: number, onTimeout: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${onTimeout()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A refused start must end on its own, quickly. */
async function exitWithin(started: Started, timeoutMs: number): Promise<number | null> {
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs).unref());
  const result = await Promise.race([started.exited, timeout]);
  if (result === 'timeout') {
    started.child.kill('SIGKILL');
    throw new Error(`the second start did not exit within ${timeoutMs} ms; stdout: ${started.stdout()} stderr: ${started.stderr()}`);
  }
  return result;
}

let root: string;
let other: string;
let first: Started;
let firstPort: number;
let stateDir: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'gastown-dev-lock-'));
  other = mkdtempSync(join(tmpdir(), 'gastown-dev-lock-other-'));
  stateDir = join(root, '.gastown', 'state');
  firstPort = await freePort();
  first = startDev(root, ['--port', String(firstPort), '--build']);
  await waitFor(
    'the first stack',
    () => first.stdout().includes(READY_LINE) || first.child.exitCode !== null,
    START_TIMEOUT_MS,
    () => first.stderr(),
  );
  expect(first.stdout()).toContain(READY_LINE);
}, START_TIMEOUT_MS + 10_000);

afterAll(async () => {
  if (first && first.child.exitCode === null) {
    first.child.kill('SIGINT');
    await Promise.race([first.exited, new Promise((r) => setTimeout(r, 30_000))]);
  }
  for (const p of stateDir ? findStackProcesses(stateDir) : []) process.kill(p.pid, 'SIGKILL');
  rmSync(root, { recursive: true, force: true });
  rmSync(other, { recursive: true, force: true });
}, 60_000);

function cliConfig(): { url: string; token: string } {
  return JSON.parse(readFileSync(join(root, '.gastown', 'cli.json'), 'utf8')) as { url: string; token: string };
}

async function firstAnswers(): Promise<number> {
  const { url, token } = cliConfig();
  const res = await fetch(`${url}/api/towns`, { headers: { authorization: `Bearer ${token}` } });
  await res.body?.cancel();
  return res.status;
}

describe('gastown dev: one stack per state directory', () => {
  it('the first start built once, then holds .gastown/dev.lock with its pid and port', () => {
    expect(first.stdout().split(BUILD_MARKER).length - 1).toBe(1);
    const lock = JSON.parse(readFileSync(join(root, '.gastown', 'dev.lock'), 'utf8')) as { pid: number; port: number };
    expect(lock).toMatchObject({ pid: first.child.pid, port: firstPort });
  });

  it('a second start on the same state directory (another port) is refused at once; the first keeps running, untouched', async () => {
    const before = findStackProcesses(stateDir)
      .map((p) => p.pid)
      .sort();
    expect(before.length).toBeGreaterThan(0);
    const cliJsonBefore = readFileSync(join(root, '.gastown', 'cli.json'), 'utf8');

    const second = startDev(root, ['--port', String(await freePort()), '--build']);
    const code = await exitWithin(second, 20_000);

    expect(code).toBe(6);
    expect(second.stderr()).toContain(`a local stack is already running on this state directory (pid ${first.child.pid}, port ${firstPort},`);
    expect(second.stderr()).toContain(`hint: stop it first`);
    expect(second.stdout()).not.toContain(BUILD_MARKER);
    expect(second.stdout()).not.toContain('starting the container host');
    // the first stack: same processes, same lock, same CLI config, and it answers
    expect(first.child.exitCode).toBeNull();
    expect(
      findStackProcesses(stateDir)
        .map((p) => p.pid)
        .sort(),
    ).toEqual(before);
    expect(JSON.parse(readFileSync(join(root, '.gastown', 'dev.lock'), 'utf8'))).toMatchObject({ pid: first.child.pid, port: firstPort });
    expect(readFileSync(join(root, '.gastown', 'cli.json'), 'utf8')).toBe(cliJsonBefore);
    expect(await firstAnswers()).toBe(200);
  });

  it("a start in another directory on the first's port is refused before its build (exit 1); the first still answers", async () => {
    const third = startDev(other, ['--port', String(firstPort), '--build']);
    const code = await exitWithin(third, 20_000);
    expect(code).toBe(1);
    expect(third.stderr()).toContain(`port ${firstPort} is already in use`);
    expect(third.stdout()).not.toContain(BUILD_MARKER);
    expect(existsSync(join(other, '.gastown', 'dev.lock'))).toBe(false);
    expect(await firstAnswers()).toBe(200);
  });

  it('Ctrl-C stops the first: exit 0, its processes gone, its lock removed', async () => {
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
    expect(first.stdout()).toContain('gastown dev: stopped.');
    expect(findStackProcesses(stateDir)).toEqual([]);
    expect(existsSync(join(root, '.gastown', 'dev.lock'))).toBe(false);
  }, 60_000);
});
