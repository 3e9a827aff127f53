import type { Agent, SessionSnapshotSummary } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { formatBytes } from '../../src/output/bytes';
import { describeReset, describeSession, mayorSessionLine } from '../../src/views/mayor-session';

const NOW = 1_800_000_000_000;
const SESSION: SessionSnapshotSummary = {
  savedAt: NOW - 5_000,
  storedAt: NOW - 4_000,
  bytes: 900,
  rawBytes: 4_000,
  turns: 2,
  droppedTurns: 0,
  reason: 'message',
};

describe('formatBytes', () => {
  const cases: { name: string; bytes: number; text: string }[] = [
    { name: 'zero', bytes: 0, text: '0 B' },
    { name: 'bytes', bytes: 1023, text: '1023 B' },
    { name: 'one KiB', bytes: 1024, text: '1 KiB' },
    { name: 'a decimal below 10', bytes: 4300, text: '4.2 KiB' },
    { name: 'whole above 10', bytes: 48 * 1024 + 300, text: '48 KiB' },
    { name: 'rounds up into the next unit', bytes: 1024 * 1024 - 1, text: '1 MiB' },
    { name: 'MiB', bytes: 1.5 * 1024 * 1024, text: '1.5 MiB' },
    { name: 'GiB', bytes: 3 * 1024 ** 3, text: '3 GiB' },
  ];
  for (const c of cases) it(c.name, () => expect(formatBytes(c.bytes)).toBe(c.text));
});

describe('mayor session line', () => {
  const mayor = (session: SessionSnapshotSummary | null) => ({ role: 'mayor', session }) as Agent;

  it('describes a saved session by its stored time (control-plane clock), turns and compressed size', () => {
    expect(describeSession(SESSION, NOW)).toBe('saved 4s ago · 2 turns · 900 B');
    expect(describeSession({ ...SESSION, turns: 1, droppedTurns: 1 }, NOW)).toBe('saved 4s ago · 1 turn · 900 B · 1 older turn dropped');
  });

  it('picks the newest saved session among mayors; null without a mayor', () => {
    const older = { ...SESSION, storedAt: NOW - 3_600_000, turns: 9 };
    expect(mayorSessionLine([mayor(null), mayor(older), mayor(SESSION)], NOW)).toBe('mayor session: saved 4s ago · 2 turns · 900 B');
    expect(mayorSessionLine([mayor(null)], NOW)).toBe('mayor session: none saved yet');
    expect(mayorSessionLine([{ role: 'polecat', session: null } as unknown as Agent], NOW)).toBe(null);
  });

  it('says what the reset did', () => {
    expect(describeReset({ deleted: true, stopped: false })).toBe('started a new conversation (previous one deleted)');
    expect(describeReset({ deleted: false, stopped: false })).toBe('started a new conversation (none was saved)');
    expect(describeReset({ deleted: true, stopped: true })).toBe(
      'started a new conversation (previous one deleted; the running mayor was stopped and starts afresh with the next message)',
    );
  });
});
