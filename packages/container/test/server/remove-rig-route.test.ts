/**
 * `POST /rigs/:rigId/remove` (CONTAINER_API.removeRig) through the control app and the real
 * supervisor: a deleted rig's live runs end without a completion report (the control plane
 * stopped them already), then its workspaces are removed; other runs keep going; bad input is a
 * typed 400 and a missing key a 401 with the handler never run.
 */
import { CONTAINER_API, CONTAINER_KEY_HEADER, RemoveRigWorkspacesResponseSchema, routePath } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import type { GitWorkspace } from '../../src/git';
import type { AgentControl } from '../../src/supervisor';
import { createControlApp } from '../../src/server';
import { RIG, silentLogger, startRequest } from '../supervisor/fakes';
import { CONTAINER_KEY, errorCode, useControlApp } from './control-app-support';

const KEY = CONTAINER_KEY;
const POLECAT = 'ag_polecat01';
const REFINERY = 'ag_refinery1';
const MAYOR = 'ag_mayor001';
const PATH = routePath(CONTAINER_API.removeRig, { rigId: RIG.id });
/** What the workspace was asked to remove, in order. */
let removals: Array<{ rigId: string; agentIds: readonly string[] }> = [];
const ctl = useControlApp((h) => {
  removals = [];
  (h.git as GitWorkspace).removeRig = async (rigId, agentIds) => {
    h.log.push(`git.removeRig:${rigId}`);
    removals.push({ rigId, agentIds });
    return agentIds.length + 1;
  };
});
const { call } = ctl;

describe('POST /rigs/:rigId/remove', () => {
  it("ends the rig's live runs without a report, then removes its workspaces; the mayor runs on", async () => {
    for (const role of ['polecat', 'refinery', 'mayor'] as const) expect((await call('POST', '/agents', startRequest(role))).status).toBe(200);

    const res = await call('POST', PATH, { agentIds: [POLECAT, REFINERY] });
    expect(res.status).toBe(200);
    expect(RemoveRigWorkspacesResponseSchema.parse(await res.json())).toEqual({ removed: 3 });
    expect(removals).toEqual([{ rigId: RIG.id, agentIds: [POLECAT, REFINERY] }]);

    // both runs are over before the workspace goes, and neither reported a completion
    const removedAt = ctl.h.log.indexOf(`git.removeRig:${RIG.id}`);
    for (const agentId of [POLECAT, REFINERY]) {
      expect(ctl.h.log.indexOf(`${agentId}:runtime.stop`), `${agentId} stopped`).toBeGreaterThanOrEqual(0);
      expect(ctl.h.log.indexOf(`${agentId}:runtime.stop`)).toBeLessThan(removedAt);
      expect(ctl.h.latest(agentId).runtime.stopped).toBe(true);
      expect(ctl.h.latest(agentId).client.completions).toEqual([]);
      const status = await call('GET', `/agents/${agentId}`);
      expect(await status.json()).toMatchObject({ runtimeState: 'exited' });
    }
    expect(ctl.h.latest(MAYOR).runtime.stopped).toBe(false);
    expect(await (await call('GET', `/agents/${MAYOR}`)).json()).toMatchObject({ runtimeState: 'idle' });
    expect(ctl.h.supervisor.liveCount()).toBe(1);
  });

  it('agents that are not running here (or never ran) only have their workspaces removed', async () => {
    const res = await call('POST', PATH, { agentIds: [POLECAT, 'ag_gone00001'] });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ removed: 3 });
    expect(removals).toEqual([{ rigId: RIG.id, agentIds: [POLECAT, 'ag_gone00001'] }]);
    expect(ctl.h.runtimes).toEqual([]);
  });

  it('an empty list removes the mirror only; a workspace without removeRig removes nothing', async () => {
    expect(await (await call('POST', PATH, { agentIds: [] })).json()).toEqual({ removed: 1 });
    delete (ctl.h.git as GitWorkspace).removeRig;
    expect(await (await call('POST', PATH, { agentIds: [POLECAT] })).json()).toEqual({ removed: 0 });
  });

  it.each([
    { name: 'rig id with a path escape', path: '/rigs/..%2Fmirrors/remove', body: { agentIds: [] }, status: 400, code: 'validation_failed' },
    { name: 'rig id not an id', path: '/rigs/RIG-1/remove', body: { agentIds: [] }, status: 400, code: 'validation_failed' },
    { name: 'no body', path: PATH, body: undefined, status: 400, code: 'validation_failed' },
    { name: 'invalid JSON', path: PATH, body: '{"agentIds":', status: 400, code: 'bad_json' },
    { name: 'agentIds missing', path: PATH, body: {}, status: 400, code: 'validation_failed' },
    { name: 'agentIds not a list', path: PATH, body: { agentIds: POLECAT }, status: 400, code: 'validation_failed' },
    { name: 'agent id with a path escape', path: PATH, body: { agentIds: ['../worktrees'] }, status: 400, code: 'validation_failed' },
    { name: 'unknown field', path: PATH, body: { agentIds: [], all: true }, status: 400, code: 'validation_failed' },
    { name: 'too many agents', path: PATH, body: { agentIds: Array.from({ length: 1001 }, () => POLECAT) }, status: 400, code: 'validation_failed' },
  ])('bad request → typed error, nothing stopped or removed: $name', async ({ path, body, status, code }) => {
    await call('POST', '/agents', startRequest('polecat'));
    const res = await call('POST', path, body);
    expect(res.status).toBe(status);
    expect(await errorCode(res)).toBe(code);
    expect(removals).toEqual([]);
    expect(ctl.h.latest(POLECAT).runtime.stopped).toBe(false);
  });

  it.each([
    { name: 'no key', headers: {} as Record<string, string> },
    { name: 'wrong key', headers: { [CONTAINER_KEY_HEADER]: 'test-container-key-0123456789abcdeX' } },
    { name: 'key as bearer', headers: { authorization: `Bearer ${KEY}` } },
  ])('$name → 401 container_unauthorized, handler never runs', async ({ headers }) => {
    const calls: string[] = [];
    const spy = new Proxy({} as AgentControl, {
      get: (_t, prop) => () => {
        calls.push(String(prop));
        throw new Error('handler ran');
      },
    });
    const guarded = createControlApp({ control: spy, containerKey: KEY, instanceId: 'ci_x', startedAt: 0, logger: silentLogger });
    const res = await guarded.request(PATH, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ agentIds: [] }),
    });
    expect(res.status).toBe(401);
    expect(await errorCode(res)).toBe('container_unauthorized');
    expect(calls).toEqual([]);
  });
});
