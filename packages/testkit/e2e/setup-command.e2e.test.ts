/**
 * A rig's setup command, end to end (issue 16 point 5): real workerd, container host, container and
 * `opencode serve`, the scripted town on the fake LLM.
 *
 * The rig's setup command fails: each polecat's start fails before its agent runs, the bead's
 * events carry the command's (redacted) output, its attempts are spent and it fails with the
 * output in its reason. The setup command never sees the agent's broker key. The user fixes the
 * command (PATCH rig) and requeues the bead (reopen): the next polecat runs the fixed command in
 * its worktree, then works the bead, which is merged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routePath, USER_API, type Bead, type TownEvent } from '@gastown/protocol';
import { describeAgents, startHarness, waitFor, type Harness } from './support/harness';
import { keepStateOfFailedRuns } from './support/stack-state-keeper';

let h: Harness;
const stackState = keepStateOfFailedRuns();

const BROKEN = [
  'echo "installing dependencies"',
  'echo "broker key: ${GASTOWN_AGENT_KEY:-absent}"',
  'echo "E_SETUP_BROKEN: lockfile out of date" >&2',
  'exit 7',
].join('; ');
const FIXED = 'test -e .git && echo "SETUP_OK in $(basename "$PWD")"';

beforeAll(async () => {
  // failed attempts retry after 1 s, 2 s: the bead uses up its attempts in seconds
  h = await startHarness({ workerVars: { GASTOWN_DISPATCH_BACKOFF_SECONDS: '1' } });
});
afterAll(async () => {
  await h?.stop();
  stackState.dispose(h?.stack.stateDir);
});

describe('rig setup command', () => {
  it('a failing setup command fails the attempts with its output visible; fixed and requeued, the bead completes', async () => {
    const { town, rig } = await h.createTown('setup', { sleepAfterSeconds: 900 });
    const townId = town.id;
    const patchRig = async (body: Record<string, unknown>) => {
      const res = await h.api.request('PATCH', routePath(USER_API.rig, { townId, rigId: rig!.id }), body);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    };
    await patchRig({ setupCommand: BROKEN, setupTimeoutSeconds: 60 });
    const created = await h.api.request('POST', routePath(USER_API.beads, { townId }), {
      rigId: rig!.id,
      title: 'Add a note about the setup',
      body: 'Add a short note file to the repository and commit it.',
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const beadId = (created.body as { bead: Bead }).bead.id;
    const beadOf = async () => (await h.api.beads(townId)).find((b) => b.id === beadId)!;
    const eventsOf = async (type: string): Promise<TownEvent[]> => (await h.api.allEvents(townId)).filter((e) => e.type === type && e.beadId === beadId);
    const snapshot = async () => `${describeAgents(await h.agentsOf(townId))} | bead ${JSON.stringify(await beadOf())}`;

    const failed = await waitFor(async () => ((await beadOf()).status === 'failed' ? beadOf() : null), {
      timeoutMs: 90_000,
      intervalMs: 1_000,
      what: 'the bead to use up its attempts on the failing setup command',
      describe: snapshot,
    });
    expect(failed.attempts).toBe(3);
    // the output is on the bead's events: setup.failed per attempt, and the failure reason names it
    const setupFailures = await eventsOf('setup.failed');
    expect(setupFailures).toHaveLength(3);
    for (const event of setupFailures) {
      expect(event.data).toMatchObject({ exitCode: 7, timedOut: false });
      expect(String(event.data.output)).toContain('installing dependencies');
      expect(String(event.data.output)).toContain('E_SETUP_BROKEN: lockfile out of date');
      // the setup command runs without the agent's broker key
      expect(String(event.data.output)).toContain('broker key: absent');
    }
    const reasons = (await eventsOf('bead.status_changed')).map((e) => String(e.data.reason ?? ''));
    expect(reasons.some((r) => r.includes('setup command exited with code 7') && r.includes('E_SETUP_BROKEN'))).toBe(true);
    // no agent ever ran: no model call was made for the bead
    expect((await eventsOf('setup.output')).length).toBe(0);

    // the user fixes the command and requeues the bead
    await patchRig({ setupCommand: FIXED });
    const reopened = await h.api.request('POST', routePath(USER_API.reopenBead, { townId, beadId }), {});
    expect(reopened.status, JSON.stringify(reopened.body)).toBe(200);
    const closed = await waitFor(async () => ((await beadOf()).status === 'closed' ? beadOf() : null), {
      timeoutMs: 120_000,
      intervalMs: 2_000,
      what: 'the requeued bead to be worked and merged',
      describe: snapshot,
    });
    expect(closed.status).toBe('closed');
    const ok = await eventsOf('setup.output');
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(ok[0]!.data).toMatchObject({ exitCode: 0 });
    // it ran in the polecat's own worktree (a git checkout)
    expect(String(ok[0]!.data.output)).toMatch(/SETUP_OK in /);
  }, 170_000);
});
