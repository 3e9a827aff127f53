import { defineConfig } from 'vitest/config';

/**
 * End-to-end tests: real processes (wrangler dev/workerd, the container host, town containers,
 * `opencode serve`) and the scripted fake LLM. One file at a time (each file runs its own
 * stack); long timeouts because the tests wait in real time (token lifetimes, sleepAfter).
 */
export default defineConfig({
  test: {
    name: 'e2e',
    environment: 'node',
    include: ['e2e/**/*.e2e.test.ts'],
    fileParallelism: false,
    testTimeout: 20 * 60_000,
    hookTimeout: 5 * 60_000,
    teardownTimeout: 2 * 60_000,
    // real time matters here: never retry (a retry would hide a flaky credential path)
    retry: 0,
  },
});
