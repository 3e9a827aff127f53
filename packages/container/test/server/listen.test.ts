import { CONTAINER_KEY_HEADER } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { createControlApp, listen } from '../../src/server';
import type { AgentControl } from '../../src/supervisor';
import { silentLogger } from '../supervisor/fakes';

describe('listen (real HTTP on loopback)', () => {
  it('serves the control app and closes cleanly', async () => {
    const control = { liveCount: () => 0, list: () => [] } as unknown as AgentControl;
    const app = createControlApp({ control, containerKey: 'k'.repeat(32), instanceId: 'ci_real', startedAt: 5, logger: silentLogger });
    const server = await listen(app, { port: 0, hostname: '127.0.0.1' });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const health = await fetch(`${server.url}/health`);
      expect(await health.json()).toEqual({ ok: true, instanceId: 'ci_real', startedAt: 5, agents: 0 });
      const denied = await fetch(`${server.url}/agents`);
      expect(denied.status).toBe(401);
      const allowed = await fetch(`${server.url}/agents`, { headers: { [CONTAINER_KEY_HEADER]: 'k'.repeat(32) } });
      expect(await allowed.json()).toEqual({ agents: [] });
    } finally {
      await server.close();
    }
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
  });
});
