import { execFile } from 'node:child_process';
import { GastownError } from '@gastown/protocol';

/** Result of one git invocation. */
export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface GitRunOptions {
  /** Working directory; git is also told `-C` by callers where it matters. */
  cwd?: string;
  timeoutMs?: number;
}

/**
 * Runs `git` with an argument vector (never a shell). Resolves with the exit code;
 * rejects only when git could not be run at all or timed out.
 */
export type GitRunner = (args: readonly string[], options?: GitRunOptions) => Promise<GitResult>;

/** A git command that exited non-zero. The message holds the subcommand and redacted stderr, never a URL's userinfo. */
export class GitCommandError extends GastownError {
  readonly exitCode: number;
  readonly subcommand: string;
  constructor(subcommand: string, exitCode: number, stderr: string) {
    super('internal', `git ${subcommand} failed (exit ${exitCode}): ${summariseStderr(stderr)}`);
    this.name = 'GitCommandError';
    this.exitCode = exitCode;
    this.subcommand = subcommand;
  }
}

/** Removes `user:password@` / `token@` from anything that looks like a URL. */
export function redactUrls(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s@]*@/gi, '$1***@');
}

function summariseStderr(stderr: string): string {
  const lines = redactUrls(stderr)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  return lines.slice(-3).join(' | ').slice(0, 400) || '(no output)';
}

export interface ExecGitRunnerOptions {
  /** Absolute path or name of the git binary. */
  gitBinary?: string;
  /** The complete environment of every git process (see gitEnvironment). */
  env: NodeJS.ProcessEnv;
  defaultTimeoutMs?: number;
}

/** The real runner: child_process.execFile, no shell, bounded output and time. */
export function createExecGitRunner(options: ExecGitRunnerOptions): GitRunner {
  const binary = options.gitBinary ?? 'git';
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 120_000;
  return function runGit(args, runOptions = {}) {
    return new Promise<GitResult>((resolve, reject) => {
      execFile(
        binary,
        [...args],
        {
          cwd: runOptions.cwd,
          env: options.env,
          timeout: runOptions.timeoutMs ?? defaultTimeoutMs,
          killSignal: 'SIGKILL',
          maxBuffer: 16 * 1024 * 1024,
          encoding: 'utf8',
          shell: false,
          windowsHide: true,
        },
        (error, stdout, stderr) => {
          if (!error) return resolve({ code: 0, stdout, stderr });
          const err = error as NodeJS.ErrnoException & { code?: unknown; killed?: boolean; signal?: string | null };
          if (typeof err.code === 'number') return resolve({ code: err.code, stdout, stderr });
          if (err.killed || err.signal) {
            return reject(new GastownError('internal', `git ${args[0] ?? ''} timed out or was killed (${err.signal ?? 'unknown signal'})`));
          }
          reject(new GastownError('internal', `git could not be run: ${String(err.code ?? 'unknown error')}`));
        },
      );
    });
  };
}
