/**
 * An e2e file's stack state directory (`/tmp/gastown-stack-*`: the worker and host logs, the
 * events dump) is what a failure is read from (docs/DEVELOPMENT.md, "Reading an e2e failure").
 * `keepStateOfFailedRuns()`, called at module level, notes whether any test of the file failed;
 * `dispose(stateDir)` in the file's afterAll (after the stack stopped) removes the directory when
 * every test passed and prints where it is kept otherwise.
 */
import { rmSync } from 'node:fs';
import { beforeEach } from 'vitest';

export interface StackStateKeeper {
  dispose(stateDir: string | undefined): void;
}

export function keepStateOfFailedRuns(): StackStateKeeper {
  let anyFailed = false;
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      anyFailed = true;
    });
  });
  return {
    dispose(stateDir) {
      if (stateDir === undefined) return;
      if (anyFailed) console.log(`e2e stack state kept for inspection: ${stateDir}`);
      else rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
