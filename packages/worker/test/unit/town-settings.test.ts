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

  it('the rig access check is on unless GASTOWN_RIG_ACCESS_CHECK=off; any other value is refused', () => {
    expect(loadTownSettings({}).rigAccessCheck).toBe(true);
    expect(loadTownSettings({ GASTOWN_RIG_ACCESS_CHECK: 'off' }).rigAccessCheck).toBe(false);
    expect(loadTownSettings({ GASTOWN_RIG_ACCESS_CHECK: 'on' }).rigAccessCheck).toBe(true);
    expect(() => loadTownSettings({ GASTOWN_RIG_ACCESS_CHECK: 'no' })).toThrow(/GASTOWN_RIG_ACCESS_CHECK must be on or off/);
  });

  it('reads the env; a trailing slash of GASTOWN_PUBLIC_URL is dropped', () => {
    const s = loadTownSettings({
      GASTOWN_PUBLIC_URL: 'https://gastown.example.com/',
      GASTOWN_HEARTBEAT_INTERVAL_SECONDS: '5',
      GASTOWN_DISPATCH_BACKOFF_SECONDS: '2',
      GASTOWN_MAX_POLECATS: '8',
    });
    expect(s).toMatchObject({ publicUrl: 'https://gastown.example.com', heartbeatIntervalMs: 5000, backoffBaseMs: 2000, maxPolecats: 8 });
  });

  it.each([
    { name: 'heartbeat interval not a number', env: { GASTOWN_HEARTBEAT_INTERVAL_SECONDS: 'soon' }, variable: 'GASTOWN_HEARTBEAT_INTERVAL_SECONDS' },
    { name: 'heartbeat interval zero', env: { GASTOWN_HEARTBEAT_INTERVAL_SECONDS: '0' }, variable: 'GASTOWN_HEARTBEAT_INTERVAL_SECONDS' },
    { name: 'max polecats too high', env: { GASTOWN_MAX_POLECATS: '1000' }, variable: 'GASTOWN_MAX_POLECATS' },
    { name: 'public URL not http(s)', env: { GASTOWN_PUBLIC_URL: 'ftp://x' }, variable: 'GASTOWN_PUBLIC_URL' },
  ])('$name → config_invalid naming the variable', ({ env, variable }) => {
    let caught: unknown = null;
    try {
      loadTownSettings(env);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(GastownError);
    expect((caught as GastownError).code).toBe('config_invalid');
    expect((caught as GastownError).message).toContain(variable);
  });

  // The zod parser keeps the hand-rolled one's rules: ≤ 9 digits after trimming, in range; blank → default.
  it.each([
    { name: 'surrounding spaces and leading zeros', env: { GASTOWN_MAX_POLECATS: ' 0030 ' }, expected: { maxPolecats: 30 } },
    { name: 'a number (not a string)', env: { GASTOWN_MAX_POLECATS: 5 }, expected: { maxPolecats: 5 } },
    {
      name: 'blank and null → defaults',
      env: { GASTOWN_MAX_POLECATS: null, GASTOWN_HEARTBEAT_INTERVAL_SECONDS: '   ' },
      expected: { maxPolecats: 4, heartbeatIntervalMs: 30_000 },
    },
    {
      name: 'bounds included',
      env: { GASTOWN_HEARTBEAT_INTERVAL_SECONDS: '3600', GASTOWN_DISPATCH_BACKOFF_SECONDS: '1', GASTOWN_MAX_POLECATS: '100' },
      expected: { heartbeatIntervalMs: 3_600_000, backoffBaseMs: 1000, maxPolecats: 100 },
    },
    { name: 'a longer heartbeat lengthens the start grace', env: { GASTOWN_HEARTBEAT_INTERVAL_SECONDS: '100' }, expected: { startGraceMs: 300_000 } },
    { name: 'a non-string public URL counts as unset', env: { GASTOWN_PUBLIC_URL: 42 }, expected: { publicUrl: null } },
    {
      name: 'a public URL is trimmed and normalised',
      env: { GASTOWN_PUBLIC_URL: ' HTTPS://Gastown.Example.com/base// ' },
      expected: { publicUrl: 'https://gastown.example.com/base' },
    },
  ])('accepts: $name', ({ env, expected }) => {
    expect(loadTownSettings(env)).toMatchObject(expected);
  });

  it.each([
    { name: 'a fraction', env: { GASTOWN_MAX_POLECATS: '5.5' } },
    { name: 'a negative number', env: { GASTOWN_MAX_POLECATS: '-1' } },
    { name: 'ten digits', env: { GASTOWN_HEARTBEAT_INTERVAL_SECONDS: '1234567890' } },
    { name: 'above the maximum', env: { GASTOWN_DISPATCH_BACKOFF_SECONDS: '3601' } },
    { name: 'a boolean', env: { GASTOWN_MAX_POLECATS: true } },
    { name: 'a URL that does not parse', env: { GASTOWN_PUBLIC_URL: 'not a url' } },
  ])('refuses: $name, naming the variable but never the value', ({ env }) => {
    const [[variable, value]] = Object.entries(env) as [[string, unknown]];
    const caught = (() => {
      try {
        loadTownSettings(env);
        return null;
      } catch (err) {
        return err;
      }
    })();
    expect((caught as GastownError).code).toBe('config_invalid');
    expect((caught as GastownError).message).toContain(variable);
    expect((caught as GastownError).message).not.toContain(String(value));
  });
});
