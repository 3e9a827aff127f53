/**
 * The event sink redacts before buffering: what it sends the control plane holds no registered
 * secret and no token-shaped string, whatever the agent wrote (issue 11, point 5).
 */
import { ManualClock, ManualTimers } from '@gastown/testkit/fake-control-plane/index';
import { describe, expect, it } from 'vitest';
import { BatchingEventSink } from '../../src/consumers';
import { fingerprint, SecretRegistry, silentLogger } from '../../src/log';
import { recordFor } from '../../src/supervisor';
import { EventsStub } from './support';

const BROKER_KEY = 'gtb_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0MTIzNDU2Nzg5MA';
const SERVER_PASSWORD = 'Xq3vR9pLm2TzW8yKc4NbHs7D';
const JWT = 'eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhZ18xMjM0NTY3OCIsImV4cCI6MTcwMDAwMDAwMH0.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU';
const REFRESH = 'gtr_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0MTIzNDU2Nzg5MA';
const OPENAI = 'sk-proj-AbCdEf0123456789GhIjKl0123456789MnOp';
const ALL = [BROKER_KEY, SERVER_PASSWORD, JWT, REFRESH, OPENAI];

function setup(withRegistry = true) {
  const clock = new ManualClock();
  const timers = new ManualTimers(clock);
  const stub = new EventsStub();
  const secrets = new SecretRegistry();
  secrets.add(BROKER_KEY);
  secrets.add(SERVER_PASSWORD);
  const sink = new BatchingEventSink({
    client: stub,
    clock,
    random: () => 0.5,
    timers,
    logger: silentLogger,
    flushIntervalMs: 1000,
    ...(withRegistry ? { secrets } : {}),
  });
  return { timers, stub, sink, secrets };
}

describe('BatchingEventSink redaction', () => {
  it('an `env` run: the tool output reaches the control plane without the broker key, server password or any token', async () => {
    const s = setup();
    const env = `GASTOWN_BROKER_KEY=${BROKER_KEY}\nOPENCODE_SERVER_PASSWORD=${SERVER_PASSWORD}\nTOKEN=${JWT}\nREFRESH=${REFRESH}\nOPENAI_API_KEY=${OPENAI}`;
    const emitted = s.sink.emit('agent.tool', { tool: 'bash', state: 'completed', input: '{"command":"env"}', output: env });
    s.sink.push({ id: 'ev_pushed_0001', type: 'agent.text', at: 1, data: { parts: [{ text: `pw: ${SERVER_PASSWORD}` }] } });
    s.sink.emit('agent.error', { message: `bad key ${BROKER_KEY}` });
    await s.timers.advance(1000);
    const sent = JSON.stringify(s.stub.batches);
    expect(s.stub.batches.flat()).toHaveLength(3);
    for (const secret of ALL) expect(sent, `secret ${fingerprint(secret)} sent`).not.toContain(secret);
    expect(sent).toContain(`GASTOWN_BROKER_KEY=[redacted:${fingerprint(BROKER_KEY)}]`);
    expect(sent).toContain(`OPENCODE_SERVER_PASSWORD=[redacted:${fingerprint(SERVER_PASSWORD)}]`);
    // what emit returns is what was queued
    expect(JSON.stringify(emitted)).not.toContain(BROKER_KEY);
    expect(s.stub.batches[0]![0]).toEqual(emitted);
    // the pushed event keeps its id (dedup downstream)
    expect(s.stub.batches[0]!.map((e) => e.id)).toContain('ev_pushed_0001');
  });

  it('without the registry an opaque server password goes out as is (the registry is what makes it secret); token shapes still do not', async () => {
    const s = setup(false);
    s.sink.emit('agent.text', { text: `${SERVER_PASSWORD} ${BROKER_KEY}` });
    await s.timers.advance(1000);
    const sent = JSON.stringify(s.stub.batches);
    expect(sent).toContain(SERVER_PASSWORD);
    expect(sent).not.toContain(BROKER_KEY);
  });
});

describe('recordFor redacts before it truncates', () => {
  it('a registered secret across the 4000-character cut leaves no prefix behind', () => {
    const text = `${'a'.repeat(3990)}${SERVER_PASSWORD} and more`;
    const cut = recordFor({ type: 'text', sessionId: 's', messageId: 'm', text, final: true }, [SERVER_PASSWORD])!;
    expect(String(cut.data['text'])).not.toContain(SERVER_PASSWORD.slice(0, 8));
    // without the registry values the cut would leave the first 10 characters of the password
    const leaky = recordFor({ type: 'text', sessionId: 's', messageId: 'm', text, final: true })!;
    expect(String(leaky.data['text'])).toContain(SERVER_PASSWORD.slice(0, 10));
  });

  it('a JWT across the 2000-character tool-output cut is redacted whole', () => {
    const output = `${'b '.repeat(995)}${JWT}`;
    const record = recordFor({ type: 'tool', sessionId: 's', callId: 'c', tool: 'bash', state: 'completed', output })!;
    expect(String(record.data['output'])).not.toContain(JWT.slice(0, 10));
  });

  it('redacts tool input and error messages too', () => {
    const tool = recordFor({ type: 'tool', sessionId: 's', callId: 'c', tool: 'bash', state: 'running', input: { command: `echo ${SERVER_PASSWORD}` } }, [
      SERVER_PASSWORD,
    ])!;
    const error = recordFor({ type: 'error', sessionId: 's', message: `provider said: bad key ${OPENAI}` })!;
    expect(JSON.stringify([tool, error])).not.toMatch(new RegExp(`${SERVER_PASSWORD}|${OPENAI}`));
  });
});
