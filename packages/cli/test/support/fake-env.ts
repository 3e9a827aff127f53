/** A CliEnvironment for in-process runs of `runCli`: captured output, no config file, a fixed home. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliEnvironment } from '../../src/context';

export interface CapturedEnv {
  sys: CliEnvironment;
  stdout: () => string;
  stderr: () => string;
  interrupt: AbortController;
  /** Remove the temporary home/cwd. */
  remove(): void;
}

export function capturedEnv(env: Record<string, string>, overrides: Partial<CliEnvironment> = {}): CapturedEnv {
  const dir = mkdtempSync(join(tmpdir(), 'gastown-cli-unit-'));
  let out = '';
  let err = '';
  const interrupt = new AbortController();
  return {
    interrupt,
    remove: () => rmSync(dir, { recursive: true, force: true }),
    stdout: () => out,
    stderr: () => err,
    sys: {
      env,
      cwd: dir,
      home: dir,
      stdout: { write: (c: string) => (out += c), isTTY: false },
      stderr: { write: (c: string) => (err += c), isTTY: false },
      readStdin: async () => '',
      clock: { now: () => Date.now() },
      signal: interrupt.signal,
      runDev: async () => 0,
      ...overrides,
    },
  };
}
