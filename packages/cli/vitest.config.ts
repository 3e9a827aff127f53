import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'cli',
    environment: 'node',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    // the stack tests start wrangler dev + the container host once per file
    hookTimeout: 180_000,
  },
});
