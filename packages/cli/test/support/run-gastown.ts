/**
 * Runs the real `gastown` binary (`node bin/gastown.js …`) as a child process, in a sandbox: its
 * own HOME and working directory, and none of the caller's GASTOWN_* settings.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/gastown.js');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Sandbox {
  root: string;
  home: string;
  cwd: string;
  /** `node bin/gastown.js …args` in the sandbox. */
  run(args: string[], options?: { env?: Record<string, string>; cwd?: string; input?: string; timeoutMs?: number }): Promise<RunResult>;
  remove(): void;
}

const INHERITED = ['PATH', 'LANG', 'TZ', 'SYSTEMROOT', 'TMPDIR'];

export function createSandbox(): Sandbox {
  const root = mkdtempSync(join(tmpdir(), 'gastown-cli-test-'));
  const home = join(root, 'home');
  const cwd = join(root, 'work');
  mkdirSync(home);
  mkdirSync(cwd);
  return {
    root,
    home,
    cwd,
    run(args, options = {}) {
      const env: Record<string, string> = { HOME: home, NO_COLOR: '1' };
      for (const name of INHERITED) if (process.env[name] !== undefined) env[name] = process.env[name] as string;
      Object.assign(env, options.env ?? {});
      return runNode([BIN, ...args], { cwd: options.cwd ?? cwd, env, input: options.input, timeoutMs: options.timeoutMs ?? 60_000 });
    },
    remove() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

function runNode(args: string[], opts: { cwd: string; env: Record<string, string>; input?: string; timeoutMs: number }): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gastown ${args.slice(1).join(' ')} did not exit within ${opts.timeoutMs} ms; stdout: ${stdout}; stderr: ${stderr}`));
    }, opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** A local port with nothing listening on it (bound, then released). */
export function unusedPort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePromise(port));
    });
  });
}
