import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // every package's unit/integration project, the production deploy dry run (worker-deploy), plus the end-to-end project (packages/testkit/e2e)
    projects: ['packages/*/vitest.config.ts', 'packages/worker/vitest.deploy.config.ts', 'packages/testkit/vitest.e2e.config.ts'],
  },
});
