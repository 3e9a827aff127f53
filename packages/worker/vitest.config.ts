import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

// Test bindings: a two-key ring (active "k2") and a short default TTL.
export const TEST_BINDINGS = {
  GASTOWN_JWT_KEYS: JSON.stringify({ k1: 'test-secret-one-0123456789abcdef0123456789', k2: 'test-secret-two-0123456789abcdef0123456789' }),
  GASTOWN_JWT_ACTIVE_KID: 'k2',
  GASTOWN_ADMIN_SECRET: 'test-admin-secret-0123456789abcdef',
  GASTOWN_CONTAINER_KEY: 'test-container-key-0123456789abcdef',
  AGENT_TOKEN_TTL: '3600',
};

export default defineConfig({
  // `main`: the real worker with its TownDO built with test seams (test/worker-entry.ts).
  plugins: [cloudflareTest({ main: './test/worker-entry.ts', wrangler: { configPath: './wrangler.jsonc' }, miniflare: { bindings: TEST_BINDINGS } })],
  // Structured logs of passing tests are noise; a failing test still shows its output.
  // The pool slows down as a file makes many requests (see docs/DEVELOPMENT.md); generous timeouts keep
  // table-driven files from timing out on a loaded 2-core machine.
  test: { name: 'worker', include: ['test/**/*.test.ts', 'src/**/*.test.ts'], silent: 'passed-only', testTimeout: 60_000, hookTimeout: 60_000 },
});
