import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { GastownError } from '@gastown/protocol';
import type { Logger } from '../log/logger';

/** A running town container: one OS process (its own process group) and the URL it serves on. */
export interface ContainerProcess {
  readonly pid: number;
  readonly url: string;
  readonly instanceId: string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  /** SIGTERM the process group; SIGKILL after `graceMs`; resolves when gone. */
  stop(graceMs: number): Promise<void>;
  /** SIGKILL the process group at once (fault injection: a crashed container). */
  kill(): void;
}

export interface SpawnContainerOptions {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  logger: Logger;
  /** How long to wait for the ready line. */
  readyTimeoutMs: number;
  /** Called once the process has exited (any reason), before `exited` resolves: reap what it left behind. */
  onExit?: () => void;
}

const READY_LINE = /gastown-container listening on (\S+) instance (\S+)/;

/** Spawn a container process and wait for its ready line. */
export async function spawnContainerProcess(options: SpawnContainerOptions): Promise<ContainerProcess> {
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new GastownError('container_unavailable', 'container process failed to spawn');

  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      try {
        options.onExit?.();
      } finally {
        resolve({ code, signal });
      }
    });
  });
  pipeLines(child, options.logger);

  const ready = await new Promise<{ url: string; instanceId: string }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new GastownError('container_unavailable', `container did not become ready in ${options.readyTimeoutMs} ms`)),
      options.readyTimeoutMs,
    );
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const match = READY_LINE.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve({ url: match[1]!, instanceId: match[2]! });
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new GastownError('container_unavailable', `container exited before ready (code ${code}, signal ${signal})`));
    });
  }).catch(async (error: unknown) => {
    killGroup(pid, 'SIGKILL');
    await exited;
    throw error;
  });

  return {
    pid,
    url: ready.url,
    instanceId: ready.instanceId,
    exited,
    async stop(graceMs: number) {
      killGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      killGroup(pid, 'SIGKILL'); // anything left in the group
    },
    kill() {
      killGroup(pid, 'SIGKILL');
    },
  };
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function pipeLines(child: ChildProcess, logger: Logger): void {
  // The container logs JSON lines itself (with redaction); forward them verbatim to our stderr
  // so one terminal shows the whole stack. Lines are never parsed for secrets here.
  child.stdout?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  child.once('error', (error) => logger.error('container process error', { error: error.message }));
}
