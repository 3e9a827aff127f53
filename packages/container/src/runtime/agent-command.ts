/**
 * A short command run as the agent (the session import before `serve`, a drain commit): spawned
 * from the run's sandbox plan in its own process group, killed with that group at its timeout,
 * its output captured (capped) and redacted before anyone sees it.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { AgentCommandResult, Timers } from '../contracts';
import { RuntimeError } from './errors';

/** Output kept per stream (the tail). */
export const COMMAND_OUTPUT_CHARS = 64 * 1024;
/** How long the output streams may stay open after the command exited (a stray child holding them). */
const CLOSE_GRACE_MS = 500;

export interface AgentCommandSpec {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  uid?: number;
  gid?: number;
  timeoutMs: number;
  timers: Timers;
  /** Applied to both output streams before they are returned. */
  redact: (text: string) => string;
}

export function runAgentCommand(spec: AgentCommandSpec): Promise<AgentCommandResult> {
  return new Promise<AgentCommandResult>((resolve, reject) => {
    const child = spawn(spec.file, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(spec.uid === undefined ? {} : { uid: spec.uid }),
      ...(spec.gid === undefined ? {} : { gid: spec.gid }),
    });
    let stdout = '';
    let stderr = '';
    let exitCode: number | null = null;
    let timedOut = false;
    let settled = false;
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      stdout = (stdout + chunk).slice(-COMMAND_OUTPUT_CHARS);
    });
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-COMMAND_OUTPUT_CHARS);
    });
    const killGroup = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = spec.timers.setTimeout(() => {
      timedOut = true;
      killGroup();
    }, spec.timeoutMs);
    const finish = () => {
      if (settled) return;
      settled = true;
      spec.timers.clearTimeout(timer);
      resolve({ code: timedOut ? null : exitCode, stdout: spec.redact(stdout), stderr: spec.redact(stderr) });
    };
    child.once('error', (error) => {
      if (settled) return;
      settled = true;
      spec.timers.clearTimeout(timer);
      killGroup();
      reject(new RuntimeError('runtime_command_failed', `could not run ${spec.file}: ${error.message}`, { cause: error }));
    });
    child.once('exit', (code) => {
      exitCode = code;
      // whatever it left in its group goes with it; then wait briefly for the pipes to drain
      killGroup();
      spec.timers.setTimeout(finish, CLOSE_GRACE_MS);
    });
    child.once('close', finish);
  });
}

/** `file` as an absolute path: as given when it has a slash, else the first executable of that name on `path`. */
export function resolveExecutable(file: string, path: string | undefined): string | null {
  if (file.includes('/')) return isAbsolute(file) && isExecutable(file) ? file : null;
  for (const dir of (path ?? '').split(delimiter)) {
    if (!isAbsolute(dir)) continue;
    const candidate = join(dir, file);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
