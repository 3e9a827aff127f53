import { describe, expect, it } from 'vitest';
import { errorFromResponse, networkErrorCode, unreachableError } from '../../src/client/http-errors';

const CTX = { baseUrl: 'http://127.0.0.1:8787', what: 'GET /api/towns', credential: 'token' as const };
const body = (code: string, message: string) => ({ error: { code, message } });

describe('errorFromResponse', () => {
  const cases: { status: number; body: unknown; code: string; exit: number; message: RegExp }[] = [
    {
      status: 401,
      body: body('token_expired', 'token expired'),
      code: 'unauthorized',
      exit: 4,
      message: /^your token was rejected: token_expired \(token expired\)$/,
    },
    { status: 403, body: body('token_scope', 'wrong town'), code: 'forbidden', exit: 4, message: /may not do this: token_scope/ },
    { status: 404, body: body('not_found', 'town not found'), code: 'not_found', exit: 5, message: /not found/ },
    {
      status: 400,
      body: body('validation_failed', 'body.name: must be lower-case'),
      code: 'invalid_input',
      exit: 2,
      message: /^the server refused the input: body\.name: must be lower-case$/,
    },
    { status: 409, body: body('conflict', 'a town named x exists'), code: 'conflict', exit: 6, message: /^a town named x exists$/ },
    { status: 413, body: body('payload_too_large', 'too big'), code: 'invalid_input', exit: 2, message: /too big/ },
    { status: 502, body: body('upstream_failed', 'container said 500'), code: 'server_error', exit: 1, message: /upstream_failed: container said 500/ },
    { status: 503, body: body('container_unavailable', 'no container'), code: 'server_error', exit: 1, message: /container_unavailable/ },
    { status: 502, body: null, code: 'server_error', exit: 1, message: /without a Gastown error body/ },
    { status: 404, body: '<html>', code: 'bad_response', exit: 1, message: /is http:\/\/127\.0\.0\.1:8787 a Gastown server/ },
  ];
  for (const c of cases) {
    it(`${c.status} ${JSON.stringify(c.body).slice(0, 40)} → ${c.code}`, () => {
      const err = errorFromResponse(c.status, c.body, CTX);
      expect(err.code).toBe(c.code);
      expect(err.exitCode).toBe(c.exit);
      expect(err.message).toMatch(c.message);
      expect(err.details.status).toBe(c.status);
    });
  }

  it('uses the caller message for a 404', () => {
    expect(errorFromResponse(404, body('not_found', 'nope'), { ...CTX, notFound: 'town town_x not found' }).message).toBe('town town_x not found');
  });

  it('names the admin secret for the admin endpoint', () => {
    expect(errorFromResponse(401, body('admin_unauthorized', 'bad'), { ...CTX, credential: 'admin secret' }).message).toMatch(
      /^your admin secret was rejected: admin_unauthorized/,
    );
  });
});

describe('network errors', () => {
  it('finds the system code behind fetch failed', () => {
    const err = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) });
    expect(networkErrorCode(err)).toBe('ECONNREFUSED');
    const agg = new TypeError('fetch failed', { cause: Object.assign(new AggregateError([Object.assign(new Error('x'), { code: 'EHOSTUNREACH' })]), {}) });
    expect(networkErrorCode(agg)).toBe('EHOSTUNREACH');
    const e = unreachableError('http://127.0.0.1:1', err);
    expect(e.code).toBe('unreachable');
    expect(e.exitCode).toBe(3);
    expect(e.message).toBe('cannot reach http://127.0.0.1:1: is `npm start` running? (ECONNREFUSED)');
  });
});
