import { GastownError } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { loadTownSettings } from '../../src/town/town-settings';

describe('loadTownSettings (dispatch and reconciler settings from env)', () => {
  it('defaults: 30 s heartbeats, 3 missed = lost, 2-minute start grace, 30 s backoff base, 4 polecats, 3 attempts', () => {
    expect(loadTownSettings({})).toMatchObject({
      publicUrl: null,
      heartbeatIntervalMs: 30_000,
      missedHeartbeats: 3,
      startGraceMs: 120_000,
      backoffBaseMs: 30_000,
      maxPolecats: 4,
      maxAttempts: 3,
      backstopLifeFraction: 0.75,
      backstopHeardWithinIntervals: 2,
    });
  });

  it('reads the env; a trailing slash of GASTOWN_PUBLIC_URL is dropped', () => {
    const s = loadTownSettings({ GASTOWN_PUBLIC_URL: 'https://gastown.example.com/', GASTOWN_HEARTBEAT_INTERVAL_SECONDS: '5', GASTOWN_DISPATCH_BACKOFF_SECONDS: '2', GASTOWN_MAX_POLECATS: '8' });
    expect(s).toMatchObject({ publicUrl: 'https://gastown.example.com', heartbeatIntervalMs: 5000, backoffBaseMs: 2000, maxPolecats: 8 });
  });

  it.each([
    { name: 'heartbeat interval not a number', env: { GASTOWN_HEARTBEAT_INTERVAL_SECONDS: 'soon' }, variable: 'GASTOWN_HEARTBEAT_INTERVAL_SECONDS' },
    { name: 'heartbeat interval zero', env: { GASTOWN_HEARTBEAT_INTERVAL_SECONDS: '0' }, variable: 'GASTOWN_HEARTBEAT_INTERVAL_SECONDS' },
    { name: 'max polecats too high', env: { GASTOWN_MAX_POLECATS: '1000' }, variable: 'GASTOWN_MAX_POLECATS' },
    { name: 'public URL not http(s)', env: { GASTOWN_PUBLIC_URL: 'ftp://x' }, variable: 'GASTOWN_PUBLIC_URL' },
  ])('$name → internal config error naming the variable', ({ env, variable }) => {
    let caught: unknown = null;
    try {
      loadTownSettings(env);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(GastownError);
    expect((caught as GastownError).code).toBe('internal');
    expect((caught as GastownError).message).toContain(variable);
  });
});
