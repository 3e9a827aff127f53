/**
 * A child process in its own process group whose output goes to a log file (and, optionally,
 * a terminal), with a line watcher for ready lines and a group-wide stop.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { StackError } from './errors';

export interface ManagedProcessOptions {
  /** Short name used in log prefixes and errors (`worker`, `host`). */
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Every byte of stdout and stderr is appended here. */
  logFile: string;
  /** Also copy the output, line by line with a `[name]` prefix, to this stream. */
  echo?: NodeJS.WritableStream | null;
}

export interface ProcessExit {
  code: number | null;
  signal: string | null;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ProcessExit>;
  /** Resolves with the first output line (stdout or stderr) matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  /** SIGTERM to the group, SIGKILL after `graceMs`, then SIGKILL to anything left in the group. */
  stop(graceMs: number): Promise<ProcessExit>;
}

export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // the group is gone
  }
}

export function spawnManaged(options: ManagedProcessOptions): ManagedProcess {
  const log: WriteStream = createWriteStream(options.logFile, { flags: 'a' });
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) {
    log.end();
    throw new StackError('stack_start_failed', `${options.name}: failed to spawn ${options.command}`);
  }

  const watchers = new Set<(line: string) => void>();
  const recent: string[] = [];
  const partial = { stdout: '', stderr: '' };
  const onData = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
    log.write(chunk);
    const text = partial[stream] + chunk.toString('utf8');
    const lines = text.split('\n');
    partial[stream] = lines.pop() ?? '';
    for (const line of lines) {
      recent.push(line);
      if (recent.length > 200) recent.shift();
      if (options.echo) options.echo.write(`[${options.name}] ${line}\n`);
      for (const watch of [...watchers]) watch(line);
    }
  };
  child.stdout!.on('data', onData('stdout'));
  child.stderr!.on('data', onData('stderr'));

  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('exit', (code, signal) => {
      // flush after the pipes drained
      setImmediate(() => {
        log.end();
        resolve({ code, signal });
      });
    });
    child.once('error', () => resolve({ code: null, signal: null }));
  });

  return {
    name: options.name,
    pid,
    logFile: options.logFile,
    exited,
    waitForLine(pattern, timeoutMs) {
      for (const line of recent) {
        const match = pattern.exec(line);
        if (match) return Promise.resolve(match);
      }
      return new Promise<RegExpExecArray>((resolve, reject) => {
        const timer = setTimeout(() => {
          watchers.delete(check);
          reject(new StackError('stack_start_failed', `${options.name}: no line matching ${pattern} within ${timeoutMs} ms (log: ${options.logFile})`));
        }, timeoutMs);
        function check(line: string) {
          const match = pattern.exec(line);
          if (!match) return;
          clearTimeout(timer);
          watchers.delete(check);
          resolve(match);
        }
        watchers.add(check);
        void exited.then(({ code, signal }) => {
          if (!watchers.has(check)) return;
          clearTimeout(timer);
          watchers.delete(check);
          reject(new StackError('stack_start_failed', `${options.name}: exited (code ${code}, signal ${signal}) before ready; log: ${options.logFile}`));
        });
      });
    },
    async stop(graceMs) {
      signalGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      signalGroup(pid, 'SIGKILL'); // whatever else is left in the group (workerd, esbuild…)
      return result;
    },
  };
}
