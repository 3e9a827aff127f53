import { describe, expect, it } from 'vitest';
import { paint, shouldUseColour, stripAnsi } from '../../src/output/colour';
import { Output } from '../../src/output/output';
import { fingerprint, maskSecret, redactUrlCredentials } from '../../src/output/redact';
import { renderTable } from '../../src/output/table';
import { formatAge, formatDuration, formatUntil } from '../../src/output/time';

describe('colour', () => {
  const cases: { name: string; isTTY: boolean; env: Record<string, string>; expected: boolean }[] = [
    { name: 'a terminal', isTTY: true, env: {}, expected: true },
    { name: 'a pipe', isTTY: false, env: {}, expected: false },
    { name: 'NO_COLOR on a terminal', isTTY: true, env: { NO_COLOR: '1' }, expected: false },
    { name: 'FORCE_COLOR on a pipe', isTTY: false, env: { FORCE_COLOR: '1' }, expected: true },
    { name: 'FORCE_COLOR=0 on a terminal', isTTY: true, env: { FORCE_COLOR: '0' }, expected: false },
    { name: 'TERM=dumb', isTTY: true, env: { TERM: 'dumb' }, expected: false },
  ];
  for (const c of cases) it(c.name, () => expect(shouldUseColour(c.isTTY, c.env)).toBe(c.expected));

  it('paints only when enabled', () => {
    expect(paint('x', 'red', true)).toBe('\u001b[31mx\u001b[39m');
    expect(paint('x', 'red', false)).toBe('x');
    expect(paint('x', null, true)).toBe('x');
  });

  it('Output colours by the stream it writes to', () => {
    const chunks: string[] = [];
    const out = new Output({ write: (c: string) => chunks.push(c), isTTY: true }, { write: () => true }, {});
    expect(out.colour).toBe(true);
    expect(new Output({ write: () => true, isTTY: false }, { write: () => true }, {}).colour).toBe(false);
    out.jsonLine({ a: 1 });
    expect(chunks).toEqual(['{"a":1}\n']);
  });
});

describe('renderTable', () => {
  it('aligns on visible width, even with colours and wide symbols', () => {
    const rows = [
      ['mayor', { text: 'failed', colour: 'red' as const }, '3'],
      ['polecat-12', 'working', '12'],
    ];
    const columns = [{ header: 'NAME' }, { header: 'STATUS' }, { header: 'N', align: 'right' as const }];
    const plain = renderTable(columns, rows, false);
    expect(plain.split('\n')).toEqual(['NAME        STATUS    N', 'mayor       failed    3', 'polecat-12  working  12']);
    const coloured = renderTable(columns, rows, true);
    expect(coloured).toContain('\u001b[31mfailed \u001b[39m');
    expect(stripAnsi(coloured)).toBe(plain);
  });

  it('does not pad the last column', () => {
    expect(
      renderTable(
        [{ header: 'A' }, { header: 'TITLE' }],
        [
          ['x', 'a long title'],
          ['y', '→ z'],
        ],
        false,
      ),
    ).toBe('A  TITLE\nx  a long title\ny  → z');
  });
});

describe('time', () => {
  const cases: [number, string][] = [
    [0, '0s'],
    [59_999, '59s'],
    [60_000, '1m'],
    [3_599_000, '59m'],
    [3_600_000, '1h'],
    [3_900_000, '1h 5m'],
    [86_400_000, '1d'],
    [97_200_000, '1d 3h'],
  ];
  for (const [ms, text] of cases) it(`${ms} ms → ${text}`, () => expect(formatDuration(ms)).toBe(text));

  it('ages and deadlines', () => {
    const now = 1_000_000_000;
    expect(formatAge(null, now)).toBe('-');
    expect(formatAge(now - 125_000, now)).toBe('2m ago');
    expect(formatUntil(now + 3_540_000, now)).toBe('59m');
    expect(formatUntil(now - 180_000, now)).toBe('expired 3m ago');
    expect(formatUntil(null, now)).toBe('-');
  });
});

describe('redaction', () => {
  it('hides a password in a git URL', () => {
    expect(redactUrlCredentials('https://bob:ghp_secret@github.com/a/b.git')).toBe('https://bob:***@github.com/a/b.git');
    expect(redactUrlCredentials('https://github.com/a/b.git')).toBe('https://github.com/a/b.git');
    expect(redactUrlCredentials('git@github.com:a/b.git')).toBe('git@github.com:a/b.git');
  });

  it('masks a secret as a fingerprint', () => {
    const token = 'eyJhbGciOiJIUzI1NiJ9.payload.signature';
    const masked = maskSecret(token);
    expect(masked).toBe(`**** (fingerprint ${fingerprint(token)})`);
    expect(masked).toMatch(/^\*\*\*\* \(fingerprint [0-9a-f]{8}\)$/);
    expect(masked).not.toContain('signature');
    expect(maskSecret(null)).toBe('(not set)');
  });
});
