import { describe, expect, it } from 'vitest';
import { GastownError } from '@gastown/protocol';
import { createLogger, fingerprint, SecretRegistry } from '../../src/log';

const JWT = 'eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhZ18xMjM0NTY3OCIsImV4cCI6MTcwMDAwMDAwMH0.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU';
const REFRESH = 'gtr_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0';
const OPAQUE = 'opaque-provider-key-0123456789';

function capture(level: 'debug' | 'info' | 'warn' | 'error' = 'debug') {
  const lines: string[] = [];
  const secrets = new SecretRegistry();
  const logger = createLogger({ stream: { write: (l: string) => lines.push(l) }, level, secrets, clock: { now: () => 0 } });
  return { lines, secrets, logger, text: () => lines.join('') };
}

describe('logger redaction', () => {
  it.each([
    { name: 'JWT in the message', emit: (l: ReturnType<typeof capture>['logger']) => l.info(`token is ${JWT}`), secret: JWT },
    { name: 'JWT in a nested field', emit: (l: ReturnType<typeof capture>['logger']) => l.info('x', { a: { b: [`Bearer ${JWT}`] } }), secret: JWT },
    { name: 'refresh credential in a field', emit: (l: ReturnType<typeof capture>['logger']) => l.warn('x', { header: `Bearer ${REFRESH}` }), secret: REFRESH },
    {
      name: 'registered secret in an error',
      emit: (l: ReturnType<typeof capture>['logger']) => l.error('boom', { err: new GastownError('internal', `bad key ${OPAQUE}`) }),
      secret: OPAQUE,
    },
    { name: 'registered secret as a key', emit: (l: ReturnType<typeof capture>['logger']) => l.info('x', { [OPAQUE]: 1 }), secret: OPAQUE },
    {
      name: 'registered secret in a child logger binding',
      emit: (l: ReturnType<typeof capture>['logger']) => l.child({ key: OPAQUE }).info('x'),
      secret: OPAQUE,
    },
  ])('$name never reaches the stream', ({ emit, secret }) => {
    const c = capture();
    c.secrets.add(OPAQUE);
    emit(c.logger);
    expect(c.lines).toHaveLength(1);
    expect(c.text()).not.toContain(secret);
    expect(c.text()).toContain(`[redacted:${fingerprint(secret)}]`);
    expect(() => JSON.parse(c.lines[0]!)).not.toThrow();
  });

  it('an unregistered opaque value is printed (the registry is what makes it secret), and stops being after add', () => {
    const c = capture();
    c.logger.info(OPAQUE);
    c.secrets.add(OPAQUE);
    c.logger.info(OPAQUE);
    c.secrets.remove(OPAQUE);
    c.logger.info(OPAQUE);
    expect(c.lines.map((l) => JSON.parse(l).msg)).toEqual([OPAQUE, `[redacted:${fingerprint(OPAQUE)}]`, OPAQUE]);
  });

  it('leaves ordinary text alone (versions, host names, ids)', () => {
    const c = capture();
    c.logger.info('ok', { version: '1.18.33', host: 'api.example.com', agentId: 'ag_1234abcd', fp: 'deadbeef' });
    expect(JSON.parse(c.lines[0]!)).toMatchObject({ version: '1.18.33', host: 'api.example.com', agentId: 'ag_1234abcd', fp: 'deadbeef' });
  });
});

describe('logger lines and levels', () => {
  it('writes one JSON line per call with time, level, msg and merged child fields', () => {
    const c = capture();
    c.logger.child({ component: 'broker' }).child({ agentId: 'ag_1234abcd' }).warn('credential.refresh_failed', { attempt: 2, level: 'spoof' });
    expect(c.lines[0]!.endsWith('\n')).toBe(true);
    expect(JSON.parse(c.lines[0]!)).toEqual({
      time: '1970-01-01T00:00:00.000Z',
      level: 'warn',
      msg: 'credential.refresh_failed',
      component: 'broker',
      agentId: 'ag_1234abcd',
      attempt: 2,
      field_level: 'spoof',
    });
  });

  it('drops lines below the configured level', () => {
    const c = capture('warn');
    c.logger.debug('a');
    c.logger.info('b');
    c.logger.warn('c');
    c.logger.error('d');
    expect(c.lines.map((l) => JSON.parse(l).msg)).toEqual(['c', 'd']);
  });

  it('survives cycles and odd values', () => {
    const c = capture();
    const cyclic: Record<string, unknown> = { n: 1n };
    cyclic['self'] = cyclic;
    c.logger.info('x', { cyclic, fn: () => 1, undef: undefined });
    expect(JSON.parse(c.lines[0]!).cyclic).toEqual({ n: '1', self: '[circular]' });
  });
});
