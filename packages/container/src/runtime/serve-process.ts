/**
 * The `serve` child process: spawned detached (its own process group), its listening URL read
 * from stdout, stopped by signalling the whole group, with a /proc sweep as the backstop for
 * descendants that left the group.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { Timers } from '../contracts';
import { RuntimeError } from './errors';

/** Both opencode and kilo print `… listening on http://127.0.0.1:<port>`. */
const LISTENING = /listening on (https?:\/\/[^\s]+)/;
const OUTPUT_TAIL_CHARS = 4_000;

export interface ServeProcessOptions {
  binary: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  timers: Timers;
  /** Values removed from any process output quoted in errors. */
  redact: string[];
  /** Run as this uid/gid (the agent's sandbox uid; the container must be root). */
  uid?: number;
  gid?: number;
}

export interface ExitInfo {
  code: number | null;
  signal: string | null;
}

export class ServeProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<ExitInfo>;
  #exit: ExitInfo | null = null;
  #tail = '';
  #stdoutBuffer = '';
  #url: string | null = null;
  #urlWaiters: Array<(url: string) => void> = [];
  readonly #redact: string[];
  readonly #timers: Timers;

  constructor(options: ServeProcessOptions) {
    this.#redact = options.redact.filter((s) => s.length > 0);
    this.#timers = options.timers;
    let spawnError: Error | null = null;
    this.child = spawn(options.binary, options.args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.uid === undefined ? {} : { uid: options.uid }),
      ...(options.gid === undefined ? {} : { gid: options.gid }),
    });
    this.exited = new Promise<ExitInfo>((resolve) => {
      this.child.once('error', (error) => {
        spawnError = error;
        // 'exit' does not follow a spawn failure.
        if (this.child.pid === undefined) {
          this.#exit = { code: null, signal: null };
          resolve(this.#exit);
        }
      });
      this.child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });
    this.child.stdout?.setEncoding('utf8');
    this.child.stderr?.setEncoding('utf8');
    this.child.stdout?.on('data', (chunk: string) => this.#onStdout(chunk));
    this.child.stderr?.on('data', (chunk: string) => this.#remember(chunk));
    this.spawnError = () => spawnError;
  }

  readonly spawnError: () => Error | null;

  get pid(): number | null {
    return this.child.pid ?? null;
  }

  get exitInfo(): ExitInfo | null {
    return this.#exit;
  }

  /** The last few KB of output, with secrets removed. */
  outputTail(): string {
    let text = this.#tail;
    for (const secret of this.#redact) text = text.split(secret).join('[redacted]');
    return text.trim();
  }

  #remember(chunk: string): void {
    this.#tail = (this.#tail + chunk).slice(-OUTPUT_TAIL_CHARS);
  }

  #onStdout(chunk: string): void {
    this.#remember(chunk);
    if (this.#url) return;
    this.#stdoutBuffer += chunk;
    const match = LISTENING.exec(this.#stdoutBuffer);
    if (match?.[1]) {
      this.#url = match[1].replace(/\/+$/, '');
      this.#stdoutBuffer = '';
      for (const wake of this.#urlWaiters) wake(this.#url);
      this.#urlWaiters = [];
    } else {
      this.#stdoutBuffer = this.#stdoutBuffer.slice(-1_000);
    }
  }

  /** Resolves with the server URL; rejects if the process exits first or after `timeoutMs`. */
  waitForListening(timeoutMs: number): Promise<string> {
    if (this.#url) return Promise.resolve(this.#url);
    return new Promise<string>((resolve, reject) => {
      let settled = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        this.#timers.clearTimeout(timer);
        fn();
      };
      const timer = this.#timers.setTimeout(
        () =>
          finish(() =>
            reject(
              new RuntimeError(
                'runtime_start_timeout',
                `the runtime did not report a listening URL within ${timeoutMs} ms; output: ${this.outputTail() || '(none)'}`,
              ),
            ),
          ),
        timeoutMs,
      );
      this.#urlWaiters.push((url) => finish(() => resolve(url)));
      void this.exited.then((info) =>
        finish(() => {
          const spawnError = this.spawnError();
          reject(
            spawnError
              ? new RuntimeError('runtime_spawn_failed', `the runtime could not be spawned: ${spawnError.message}`, { cause: spawnError })
              : new RuntimeError(
                  'runtime_exited',
                  `the runtime exited before listening (code ${info.code}, signal ${info.signal}); output: ${this.outputTail() || '(none)'}`,
                ),
          );
        }),
      );
    });
  }

  /** Send a signal to the whole process group; false when the group is already gone. */
  signalGroup(signal: NodeJS.Signals): boolean {
    const pid = this.child.pid;
    if (pid === undefined) return false;
    try {
      process.kill(-pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * SIGTERM the group (or what `terminate` signals), SIGKILL the group after `graceMs`, then SIGKILL whatever is left of the group
   * and every process whose environment carries `markerEnv` (descendants that started their
   * own session). Resolves once the main process has exited and no marked process is left
   * (or the grace is over; see `survivors`).
   */
  async stop(graceMs: number, markerEnv: string, terminate?: (signal: NodeJS.Signals) => boolean): Promise<ExitInfo> {
    if (!this.#exit) {
      // inside bwrap the group is bwrap alone: its death SIGKILLs the sandbox, so the runtime
      // itself is asked first (`terminate`), and the group is the fallback
      if (!terminate?.('SIGTERM')) this.signalGroup('SIGTERM');
      let timer: unknown;
      const graceOver = new Promise<'timeout'>((resolve) => {
        timer = this.#timers.setTimeout(() => resolve('timeout'), graceMs);
      });
      const first = await Promise.race([this.exited, graceOver]);
      this.#timers.clearTimeout(timer);
      if (first === 'timeout') this.signalGroup('SIGKILL');
    }
    const info = await this.exited;
    this.signalGroup('SIGKILL');
    // A SIGKILLed process stays visible (and readable in /proc) until the kernel has torn
    // it down: re-check until every marked process is gone, or the grace is over.
    const SWEEP_INTERVAL_MS = 20;
    let rounds = Math.ceil(Math.max(graceMs, 1_000) / SWEEP_INTERVAL_MS);
    let left = killByEnvMarker(markerEnv);
    while (left.length > 0 && rounds-- > 0) {
      await new Promise<void>((resolve) => this.#timers.setTimeout(resolve, SWEEP_INTERVAL_MS));
      left = killByEnvMarker(markerEnv);
    }
    this.survivors = left;
    return info;
  }

  /** Marked processes still present when `stop()` returned (should be none). */
  survivors: number[] = [];
}

/** Pids (other than ours) whose environment contains the exact `NAME=value` entry. Linux only; [] elsewhere. */
export function pidsWithEnv(entry: string): number[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (environ.split('\0').includes(entry)) pids.push(pid);
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

export function killByEnvMarker(entry: string): number[] {
  const pids = pidsWithEnv(entry);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return pids;
}
