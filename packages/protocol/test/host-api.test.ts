import { describe, expect, it } from 'vitest';
import { HOST_API, hostContainerPath } from '../src/host-api';
import { routePath } from '../src/route-path';

describe('HOST_API', () => {
  it.each([
    { name: 'settings', path: routePath(HOST_API.settings, { townId: 'town_abc' }), expected: '/towns/town_abc/settings' },
    { name: 'state', path: routePath(HOST_API.state, { townId: 'town_abc' }), expected: '/towns/town_abc/state' },
    { name: 'keep-awake', path: routePath(HOST_API.keepAwake, { townId: 'town_abc' }), expected: '/towns/town_abc/keep-awake' },
    { name: 'container prefix', path: hostContainerPath('town_abc'), expected: '/towns/town_abc/container' },
    { name: 'forwarded path', path: hostContainerPath('town_abc', '/agents/a_1/messages'), expected: '/towns/town_abc/container/agents/a_1/messages' },
  ])('builds the $name path', ({ path, expected }) => {
    expect(path).toBe(expected);
  });

  it('forwards everything under the container prefix', () => {
    expect(HOST_API.forward).toBe(`${HOST_API.container}/*`);
  });
});
