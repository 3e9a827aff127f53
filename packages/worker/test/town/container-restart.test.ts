/**
 * POST /api/towns/:townId/container/restart: the owner's restart of the town's container. The
 * current settings (env vars, sleepAfter) reach the container runtime first, then the container is
 * stopped gracefully; a town event records it; the answer is 202 `{ wasRunning }`. A refusal of
 * either step is a typed error, and nothing is stopped when the settings did not get through.
 */
import { ContainerRestartResponseSchema, GastownError, USER_API, routePath } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { call, createUserToken, expectError } from '../helpers';
import { dispatchTown, TEST_API_KEY, townEvents } from '../support/agent-calls';

const restartPath = (townId: string) => routePath(USER_API.restartContainer, { townId });

describe('POST /api/towns/:townId/container/restart', () => {
  it.each([
    { name: 'an awake container', wasRunning: true },
    { name: 'a sleeping town (nothing is started)', wasRunning: false },
  ])('$name: settings pushed, then the restart → 202 { wasRunning }, and a town event', async ({ wasRunning }) => {
    const f = await dispatchTown();
    f.fake.behaviour.restart = { wasRunning };
    f.fake.calls.length = 0;
    const res = await call('POST', restartPath(f.town.id), { token: f.userToken });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(ContainerRestartResponseSchema.parse(res.body)).toEqual({ wasRunning });
    // settings first (the next boot must take the current key), then the stop; nothing else reaches the container
    expect(f.fake.calls.map((c) => c.method)).toEqual(['configure', 'restart']);
    expect(f.fake.of('configure')[0]!.settings.envVars).toEqual({ LLM_API_KEY: TEST_API_KEY });
    const events = (await townEvents(f)).filter((e) => e.type === 'container.restart_requested');
    expect(events.map((e) => e.data)).toEqual([{ wasRunning }]);
    // the event names no secret
    expect(JSON.stringify(events)).not.toContain(TEST_API_KEY);
  });

  it('a changed env var is what the restart pushes', async () => {
    const f = await dispatchTown();
    const patched = await call('PATCH', `/api/towns/${f.town.id}/config`, {
      token: f.userToken,
      body: { envVars: { LLM_API_KEY: 'sk-the-new-key-0123456789' } },
    });
    expect(patched.status).toBe(200);
    f.fake.calls.length = 0;
    expect((await call('POST', restartPath(f.town.id), { token: f.userToken })).status).toBe(202);
    expect(f.fake.of('configure').map((c) => c.settings.envVars.LLM_API_KEY)).toEqual(['sk-the-new-key-0123456789']);
    expect(f.fake.of('restart')).toHaveLength(1);
  });

  it.each([
    { name: 'the runtime cannot be reached → 503 container_unavailable', error: new GastownError('container_unavailable', 'host down'), status: 503 },
    { name: 'the runtime refuses the stop → 502 upstream_failed', error: new GastownError('upstream_failed', 'refused'), status: 502 },
  ])('$name, and no event', async ({ error, status }) => {
    const f = await dispatchTown();
    f.fake.behaviour.restart = error;
    expectError(await call('POST', restartPath(f.town.id), { token: f.userToken }), status, error.code);
    expect((await townEvents(f)).some((e) => e.type === 'container.restart_requested')).toBe(false);
  });

  it('settings that do not get through stop nothing: the typed error, no restart', async () => {
    const f = await dispatchTown();
    f.fake.calls.length = 0;
    f.fake.configure = async () => {
      throw new GastownError('container_unavailable', 'host down');
    };
    expectError(await call('POST', restartPath(f.town.id), { token: f.userToken }), 503, 'container_unavailable');
    expect(f.fake.of('restart')).toHaveLength(0);
  });

  it("another user's town, an unknown town → 404 not_found; no token → 401; nothing is restarted", async () => {
    const f = await dispatchTown();
    const stranger = await createUserToken();
    f.fake.calls.length = 0;
    expectError(await call('POST', restartPath(f.town.id), { token: stranger }), 404, 'not_found');
    expectError(await call('POST', restartPath('town_neverexisted'), { token: stranger }), 404, 'not_found');
    expectError(await call('POST', restartPath(f.town.id)), 401, 'token_missing');
    expect(f.fake.calls).toHaveLength(0);
  });
});
