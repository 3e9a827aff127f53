import { describe, expect, it } from 'vitest';
import { REDACTED, redactEventBatch, redactJson, redactText } from '../../src/town/redact-event';

const JWT = 'eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhZ18xMjM0NTY3OCIsImV4cCI6MTcwMDAwMDAwMH0.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU';
const REFRESH = 'gtr_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0MTIzNDU2Nzg5MA';

describe('redactText', () => {
  it.each([
    { name: 'JWT', text: `Bearer-less ${JWT} end`, want: `Bearer-less ${REDACTED} end` },
    { name: 'refresh credential', text: `refresh=${REFRESH}`, want: `refresh=${REDACTED}` },
    { name: 'broker key', text: 'GASTOWN_BROKER_KEY=gtb_Zm9vYmFyYmF6cXV4cXV1eGNvcmdl', want: `GASTOWN_BROKER_KEY=${REDACTED}` },
    { name: 'OpenAI key', text: 'key sk-proj-AbCdEf0123456789GhIjKl0123456789MnOp.', want: `key ${REDACTED}.` },
    { name: 'Anthropic key', text: 'sk-ant-api03-AbCdEf0123456789GhIjKl', want: REDACTED },
    { name: 'GitHub tokens', text: 'ghp_AbCdEf0123456789GhIjKl0123456789MnOp github_pat_11ABCDEFG0123456789_abcdefghijkl', want: `${REDACTED} ${REDACTED}` },
    {
      name: 'AWS keys',
      text: 'AKIAIOSFODNN7EXAMPLE aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      want: `${REDACTED} aws_secret_access_key = ${REDACTED}`,
    },
    { name: 'PEM block', text: 'x\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----\ny', want: `x\n${REDACTED}\ny` },
    { name: 'PEM cut short', text: 'x -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB', want: `x ${REDACTED}` },
    { name: 'bearer value', text: 'authorization: Bearer opaque.bearer-token_0123456789', want: `authorization: Bearer ${REDACTED}` },
    { name: 'container marker left alone', text: 'key [redacted:0a1b2c3d]', want: 'key [redacted:0a1b2c3d]' },
    {
      name: 'ordinary text left alone',
      text: 'commit 0123456789abcdef0123456789abcdef01234567 v20.20.0 ag_1234abcd task-assessment',
      want: 'commit 0123456789abcdef0123456789abcdef01234567 v20.20.0 ag_1234abcd task-assessment',
    },
  ])('$name', ({ text, want }) => {
    expect(redactText(text)).toBe(want);
  });
});

describe('redactJson / redactEventBatch', () => {
  it('redacts strings and keys at any depth, keeps other values, does not change its input', () => {
    const data = { n: 1, ok: true, none: null, list: [{ deep: [`t ${JWT}`] }], [REFRESH]: 'k' };
    const before = structuredClone(data);
    expect(redactJson(data)).toEqual({ n: 1, ok: true, none: null, list: [{ deep: [`t ${REDACTED}`] }], [REDACTED]: 'k' });
    expect(data).toEqual(before);
  });

  it('flattens values nested past the depth bound into redacted JSON text', () => {
    let deep: unknown = { token: JWT };
    for (let i = 0; i < 40; i += 1) deep = [deep];
    expect(JSON.stringify(redactJson(deep))).not.toContain(JWT);
  });

  it('redacts every event of a batch, id and type included', () => {
    const batch = { events: [{ id: REFRESH.slice(0, 40), type: 'agent.text', at: 5, data: { text: JWT } }] };
    expect(redactEventBatch(batch)).toEqual({ events: [{ id: REDACTED, type: 'agent.text', at: 5, data: { text: REDACTED } }] });
  });
});
