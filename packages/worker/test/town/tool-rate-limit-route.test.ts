/**
 * A flooding agent is metered through the real agent API (the TownDO's tool path), not only in
 * the limiter's unit test: past its allowance a metered tool answers 429 `rate_limited`, the
 * handler does not run (no extra escalation is stored), other tools and other agents are unaffected.
 */
import { describe, expect, it } from 'vitest';
import { callTool, expectError, setupTown } from '../helpers';
import { TOOL_RATE_LIMITS } from '../../src/town/tool-rate-limit';

describe('tool rate limits through the agent API', () => {
  it('gt_escalate past its allowance: 429 rate_limited, nothing stored, other tools and agents still served', async () => {
    const f = await setupTown();
    const allowance = TOOL_RATE_LIMITS.escalate!.capacity;
    for (let i = 0; i < allowance; i += 1) {
      const res = await callTool(f.polecat, 'escalate', { title: `stuck ${i}` });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    const flooded = await callTool(f.polecat, 'escalate', { title: 'one too many' });
    expectError(flooded, 429, 'rate_limited');
    // the handler never ran: the mayor's mailbox / the town's escalations hold only the allowed ones
    const listed = await callTool(f.mayor, 'list_beads', {});
    expect(listed.status).toBe(200);
    const titles = JSON.stringify(listed.body);
    expect(titles).toContain('stuck 0');
    expect(titles).not.toContain('one too many');
    // an unmetered tool of the same agent, and the same tool of another agent, still work
    expect((await callTool(f.polecat, 'status', { text: 'still here' })).status).toBe(200);
    expect((await callTool(f.mayor, 'escalate', { title: 'mayor is fine' })).status).toBe(200);
  });
});
