import { defineConfig } from 'vitest/config';

// `wrangler deploy --dry-run` of the production config: plain Node (it spawns wrangler), apart from the
// workers-pool project. Files are *.spec.ts so the workers project (test/**/*.test.ts) never picks them up.
export default defineConfig({
  test: { name: 'worker-deploy', environment: 'node', include: ['test/deploy/**/*.spec.ts'], testTimeout: 60_000, hookTimeout: 150_000 },
});
