/**
 * Continue a saved conversation: `<runtime> import <file>` as the agent, before `serve` starts
 * (verified with opencode 1.18.33: the session keeps its id and its directory becomes the cwd;
 * ~1 s). The file goes into the agent's own TMPDIR, readable by the agent's uid only, and is
 * removed afterwards whatever happened.
 */
import { chown, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentCommandResult } from '../contracts';
import { RuntimeError } from './errors';

export interface SessionImportInput {
  /** The import file's content (`{info, messages}`). */
  content: string;
  /** The agent's TMPDIR (handed to its uid by the sandbox lease). */
  tmpDir: string;
  /** The agent's uid, or null when it runs as the container's. */
  uid: number | null;
  /** A fresh random token for the file name. */
  nonce: string;
  /** Runs `import <path>` as the agent (the runtime binary, the agent's env, cwd = workdir). */
  runImport: (path: string) => Promise<AgentCommandResult>;
}

export async function importSession(input: SessionImportInput): Promise<void> {
  const path = join(input.tmpDir, `gastown-restore-${input.nonce}.json`);
  try {
    // 'wx': never through a name the agent planted (a symlink) in its own TMPDIR
    await writeFile(path, input.content, { mode: 0o600, flag: 'wx' });
    if (input.uid !== null) await chown(path, input.uid, input.uid);
  } catch (error) {
    await rm(path, { force: true }).catch(() => undefined);
    throw new RuntimeError('runtime_restore_failed', `could not hand the session to the agent: ${(error as NodeJS.ErrnoException).code ?? 'write failed'}`, {
      cause: error,
    });
  }
  let result: AgentCommandResult;
  try {
    result = await input.runImport(path);
  } finally {
    await rm(path, { force: true }).catch(() => undefined);
  }
  // the output is not quoted: the runtime's errors quote the file's content
  if (result.code !== 0) {
    throw new RuntimeError(
      'runtime_restore_failed',
      result.code === null ? 'the session import was killed at its timeout' : `the session import exited with code ${result.code}`,
    );
  }
}
