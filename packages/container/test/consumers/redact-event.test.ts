/**
 * redactEvent: every string of an event payload, at any depth, loses each registered secret and
 * each token-shaped substring before the event may leave the container (issue 11, point 5).
 */
import type { AgentEvent } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { NO_SECRETS, redactEvent } from '../../src/consumers';
import { fingerprint, SecretRegistry } from '../../src/log';

// Registered, opaque (no pattern would catch them): a run's server password, the container key,
// a provider key of an unusual shape.
const SERVER_PASSWORD = 'Xq3vR9pLm2TzW8yKc4NbHs7D';
const CONTAINER_KEY = 'container-key-0123456789abcdef';
const PROVIDER_KEY = 'prov-key-opaque-value-42424242';
// Token-shaped: caught by the patterns even when nobody registered them.
const BROKER_KEY = 'gtb_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0MTIzNDU2Nzg5MA';
const REFRESH = 'gtr_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0MTIzNDU2Nzg5MA';
const JWT = 'eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhZ18xMjM0NTY3OCIsImV4cCI6MTcwMDAwMDAwMH0.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU';
const OPENAI = 'sk-proj-AbCdEf0123456789GhIjKl0123456789MnOp';
const ANTHROPIC = 'sk-ant-api03-AbCdEf0123456789GhIjKl0123456789-MnOpQr';
const GITHUB_CLASSIC = 'ghp_AbCdEf0123456789GhIjKl0123456789MnOp';
const GITHUB_FINE = 'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ';
const AWS_ID = 'AKIAIOSFODNN7EXAMPLE';
const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const PEM = '-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF0qJ\nAbCdEf0123456789==\n-----END RSA PRIVATE KEY-----';
const PEM_CUT = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ';
const SLACK = 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx';
const GOOGLE = 'AIzaSyA-AbCdEf0123456789GhIjKl012345678';
const BEARER = 'opaque.bearer-token_0123456789';

function registry(): SecretRegistry {
  const r = new SecretRegistry();
  for (const secret of [SERVER_PASSWORD, CONTAINER_KEY, PROVIDER_KEY, BROKER_KEY]) r.add(secret);
  return r;
}

function event(data: Record<string, unknown>, type = 'agent.tool'): AgentEvent {
  return { id: 'ev_test_0001', type, at: 1_700_000_000_000, data };
}

const CASES: Array<{ name: string; data: Record<string, unknown>; secrets: string[] }> = [
  {
    name: 'env dump in a tool output (an `env` run)',
    data: { tool: 'bash', output: `GASTOWN_BROKER_KEY=${BROKER_KEY}\nOPENCODE_SERVER_PASSWORD=${SERVER_PASSWORD}\nHOME=/tmp/x` },
    secrets: [BROKER_KEY, SERVER_PASSWORD],
  },
  { name: 'container key in a text part', data: { text: `the key is ${CONTAINER_KEY}.` }, secrets: [CONTAINER_KEY] },
  {
    name: 'registered provider key in a tool input (compact JSON)',
    data: { input: JSON.stringify({ command: `curl -H "x-api-key: ${PROVIDER_KEY}" https://api.example.com` }) },
    secrets: [PROVIDER_KEY],
  },
  { name: 'JWT in an error message', data: { message: `401 for token ${JWT}` }, secrets: [JWT] },
  { name: 'refresh credential deep in arrays and objects', data: { a: [{ b: { c: [`x ${REFRESH} y`] } }] }, secrets: [REFRESH] },
  { name: 'unregistered OpenAI and Anthropic keys', data: { output: `OPENAI_API_KEY=${OPENAI} ANTHROPIC_API_KEY=${ANTHROPIC}` }, secrets: [OPENAI, ANTHROPIC] },
  { name: 'GitHub classic and fine-grained tokens', data: { output: `token ${GITHUB_CLASSIC} and ${GITHUB_FINE}` }, secrets: [GITHUB_CLASSIC, GITHUB_FINE] },
  {
    name: 'AWS access key id and secret access key',
    data: { output: `[default]\naws_access_key_id = ${AWS_ID}\naws_secret_access_key = ${AWS_SECRET}\n` },
    secrets: [AWS_ID, AWS_SECRET],
  },
  { name: 'PEM private key block', data: { output: `cat id_rsa\n${PEM}\n$ ` }, secrets: [PEM, 'MIIEpAIBAAKCAQEA0Z3VS5JJcds3xfn'] },
  { name: 'PEM private key cut short by truncation', data: { output: `${PEM_CUT}…[900 more]` }, secrets: ['b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ'] },
  { name: 'Slack and Google keys', data: { output: `${SLACK} ${GOOGLE}` }, secrets: [SLACK, GOOGLE] },
  { name: 'opaque bearer token in a curl command', data: { input: `curl -H 'Authorization: Bearer ${BEARER}' https://x` }, secrets: [BEARER] },
  { name: 'registered secret as an object key', data: { [SERVER_PASSWORD]: 'v' }, secrets: [SERVER_PASSWORD] },
];

describe('redactEvent', () => {
  it.each(CASES)('$name: no secret is left, each is replaced by its marker', ({ data, secrets }) => {
    const out = redactEvent(event(data), registry());
    const text = JSON.stringify(out);
    for (const secret of secrets) expect(text, `secret ${fingerprint(secret)} left`).not.toContain(secret);
    expect(text).toMatch(/\[redacted:[0-9a-f]{8}\]/);
  });

  it('keeps id, type, at and ordinary values; does not change its input', () => {
    const data = {
      sessionId: 'ses_abc123',
      callId: 'call_0001',
      tool: 'bash',
      state: 'completed',
      n: 3,
      ok: true,
      none: null,
      output: 'commit 0123456789abcdef0123456789abcdef01234567 on main; node v20.20.0; https://api.example.com/v1; task-assessment-framework; ag_1234abcd',
    };
    const input = event(structuredClone(data));
    const out = redactEvent(input, registry());
    expect(out).toEqual(event(data));
    expect(input).toEqual(event(data));
    expect(out).not.toBe(input);
  });

  it('uses the registry as it is at the call: a secret added later is redacted from then on', () => {
    const r = new SecretRegistry();
    const data = { text: `pw ${SERVER_PASSWORD}` };
    expect(redactEvent(event(data), r).data['text']).toBe(`pw ${SERVER_PASSWORD}`);
    r.add(SERVER_PASSWORD);
    expect(redactEvent(event(data), r).data['text']).toBe(`pw [redacted:${fingerprint(SERVER_PASSWORD)}]`);
  });

  it('without a registry the token patterns still apply', () => {
    const out = redactEvent(event({ text: `${BROKER_KEY} ${JWT} ${OPENAI}` }), NO_SECRETS);
    expect(out.data['text']).toBe(`[redacted:${fingerprint(BROKER_KEY)}] [redacted:${fingerprint(JWT)}] [redacted:${fingerprint(OPENAI)}]`);
  });
});
