/**
 * The town allows and handles exactly the tools the plugin offers each role: ROLE_TOOLS (a view of
 * the protocol's TOOLS table). Every offered tool reaches its handler; every other tool is 403.
 */
import { AgentRoleSchema, ROLE_TOOLS, TOOL_NAMES, type AgentRole, type Bead, type ToolName } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { callTool, expectError, ownBranch, setupTown, type TownFixture } from '../helpers';

type World = TownFixture & { mergeRequest: Bead | null };

/** Valid arguments, and the answer that proves the handler ran, per tool and calling role. */
const CALLS: Record<ToolName, (w: World, role: AgentRole) => { args: unknown; status: number; code?: string }> = {
  sling: (w) => ({ args: { rigId: w.rig.id, title: 'more work' }, status: 200 }),
  list_rigs: () => ({ args: {}, status: 200 }),
  list_beads: () => ({ args: { status: 'open' }, status: 200 }),
  list_agents: () => ({ args: {}, status: 200 }),
  mail_send: (w, role) => ({ args: { to: role === 'mayor' ? w.polecat.agent.id : 'mayor', subject: 'hello' }, status: 200 }),
  mail_check: () => ({ args: {}, status: 200 }),
  // a refinery approving an issue bead reaches the review handler, which refuses it (no merge is started)
  done: (w, role) =>
    role === 'refinery'
      ? { args: { branch: ownBranch(w.polecat), mergeRequestBeadId: w.bead.id, commit: 'a'.repeat(40) }, status: 409, code: 'conflict' }
      : { args: { branch: ownBranch(w.polecat) }, status: 200 },
  request_changes: (w) => ({ args: { mergeRequestBeadId: w.mergeRequest?.id ?? w.bead.id, feedback: 'add tests' }, status: 200 }),
  escalate: () => ({ args: { title: 'stuck' }, status: 200 }),
  status: () => ({ args: { text: 'working' }, status: 200 }),
  prime: () => ({ args: {}, status: 200 }),
  bead_status: (w) => ({ args: { beadId: w.bead.id }, status: 200 }),
  bead_update: (w) => ({ args: { beadId: w.bead.id, priority: 1 }, status: 200 }),
  sling_batch: (w) => ({ args: { name: 'a convoy', beads: [{ rigId: w.rig.id, title: 'batch work' }] }, status: 200 }),
  list_convoys: () => ({ args: {}, status: 200 }),
  // an unknown convoy reaches the handler, which answers 404
  convoy_status: () => ({ args: { convoyId: 'cv_missing01' }, status: 404, code: 'not_found' }),
  // the handler runs and asks the container, which has no live run of the polecat here: 409
  nudge: (w) => ({ args: { agentId: w.polecat.agent.id, text: 'look at the failing test first' }, status: 409, code: 'conflict' }),
};

/** A town; for a refinery, its polecat has already opened a merge request to review. */
async function world(role: AgentRole): Promise<World> {
  const f = await setupTown();
  if (role !== 'refinery') return { ...f, mergeRequest: null };
  const done = await callTool(f.polecat, 'done', { branch: ownBranch(f.polecat), summary: 'did it' });
  expect(done.status, JSON.stringify(done.body)).toBe(200);
  return { ...f, mergeRequest: done.body.mergeRequest as Bead };
}

describe('the town allows exactly the tools offered to each role', () => {
  it.each(AgentRoleSchema.options.map((role) => ({ name: role, role })))(
    '$name: every offered tool is handled, every other one is role_forbidden',
    async ({ role }) => {
      const w = await world(role);
      for (const tool of ROLE_TOOLS[role]) {
        const expected = CALLS[tool](w, role);
        const res = await callTool(w[role], tool, expected.args);
        expect({ tool, status: res.status, code: res.body?.error?.code }, JSON.stringify(res.body)).toEqual({
          tool,
          status: expected.status,
          code: expected.code,
        });
      }
      for (const tool of TOOL_NAMES.filter((t) => !ROLE_TOOLS[role].includes(t))) {
        expectError(await callTool(w[role], tool, CALLS[tool](w, role).args), 403, 'role_forbidden');
      }
    },
  );
});
