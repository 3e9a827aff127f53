import { describe, expect, it } from 'vitest';
import { decideIsolation, type SandboxProbe } from '@gastown/container/sandbox/isolation';
import { isolationNotice } from '../../src/dev/isolation-notice';

const ok = { ok: true } as const;
const refused = { ok: false, reason: 'user namespaces are disabled' } as const;

describe('isolationNotice', () => {
  const cases: Array<{ name: string; probe: SandboxProbe; expect: RegExp | null }> = [
    { name: 'root with bubblewrap: silent', probe: { isRoot: true, bwrapPath: '/usr/bin/bwrap', namespacesAsPoolUid: ok, namespacesAsSelf: ok }, expect: null },
    {
      name: 'root without bubblewrap: partly isolated (uid)',
      probe: { isRoot: true, bwrapPath: null, namespacesAsPoolUid: null, namespacesAsSelf: null },
      expect: /partly isolated \(uid\).*bubblewrap/,
    },
    {
      name: 'a user with user namespaces: partly isolated (namespaces)',
      probe: { isRoot: false, bwrapPath: '/usr/bin/bwrap', namespacesAsPoolUid: null, namespacesAsSelf: ok },
      expect: /partly isolated \(namespaces\).*root/,
    },
    {
      name: 'a user without user namespaces: loud',
      probe: { isRoot: false, bwrapPath: '/usr/bin/bwrap', namespacesAsPoolUid: null, namespacesAsSelf: refused },
      expect: /WARNING — agents are NOT isolated[\s\S]*signing keys[\s\S]*apt-get install bubblewrap/,
    },
    {
      name: 'a user without bubblewrap: loud',
      probe: { isRoot: false, bwrapPath: null, namespacesAsPoolUid: null, namespacesAsSelf: null },
      expect: /NOT isolated/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const notice = isolationNotice(decideIsolation('auto', c.probe));
      if (c.expect === null) expect(notice).toBeNull();
      else expect(notice).toMatch(c.expect);
    });
  }
});
