import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'plugin',
    environment: 'node',
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
  },
});
