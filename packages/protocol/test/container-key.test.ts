import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deriveTownContainerKey, TOWN_CONTAINER_KEY_CONTEXT } from '../src/container-key';
import { GastownError } from '../src/gastown-error';

const DEPLOYMENT_KEY = 'deployment-container-key-0123456789abcdef';

describe('deriveTownContainerKey', () => {
  it('is HMAC-SHA256(deployment key, "gastown-container-key:v1:" + townId) in hex (an independent computation agrees)', async () => {
    const expected = createHmac('sha256', DEPLOYMENT_KEY).update(`gastown-container-key:v1:town_aaaaaaaa`).digest('hex');
    expect(TOWN_CONTAINER_KEY_CONTEXT).toBe('gastown-container-key:v1:');
    expect(await deriveTownContainerKey(DEPLOYMENT_KEY, 'town_aaaaaaaa')).toBe(expected);
  });

  it('is deterministic: the same inputs give the same key', async () => {
    const keys = await Promise.all([1, 2, 3].map(() => deriveTownContainerKey(DEPLOYMENT_KEY, 'town_aaaaaaaa')));
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    { name: 'another town', a: ['town_aaaaaaaa', DEPLOYMENT_KEY], b: ['town_bbbbbbbb', DEPLOYMENT_KEY] },
    { name: 'a town id that only differs in case', a: ['town_aaaaaaaa', DEPLOYMENT_KEY], b: ['town_AAAAAAAA', DEPLOYMENT_KEY] },
    { name: 'another deployment key', a: ['town_aaaaaaaa', DEPLOYMENT_KEY], b: ['town_aaaaaaaa', `${DEPLOYMENT_KEY}x`] },
  ])('differs for $name', async ({ a, b }) => {
    expect(await deriveTownContainerKey(a[1]!, a[0]!)).not.toBe(await deriveTownContainerKey(b[1]!, b[0]!));
  });

  it('contains neither the deployment key nor any 8-character piece of it', async () => {
    const key = await deriveTownContainerKey(DEPLOYMENT_KEY, 'town_aaaaaaaa');
    expect(key).not.toBe(DEPLOYMENT_KEY);
    for (let i = 0; i + 8 <= DEPLOYMENT_KEY.length; i++) expect(key).not.toContain(DEPLOYMENT_KEY.slice(i, i + 8));
    expect(key).not.toContain(Buffer.from(DEPLOYMENT_KEY).toString('hex').slice(0, 16));
  });

  it.each([
    { name: 'a deployment key under 16 characters', key: 'short-key-12345', town: 'town_aaaaaaaa', code: 'config_invalid' },
    { name: 'no town id', key: DEPLOYMENT_KEY, town: '', code: 'validation_failed' },
  ])('refuses $name ($code), never naming the key', async ({ key, town, code }) => {
    const caught = await deriveTownContainerKey(key, town).catch((err: unknown) => err);
    expect(caught).toBeInstanceOf(GastownError);
    expect((caught as GastownError).code).toBe(code);
    expect((caught as GastownError).message).not.toContain(key);
  });
});
