/**
 * The dashboard's words for a refused user token (sign-in form, sign-out reason): a sentence a
 * person can act on — what is wrong and where a good token comes from (`npm start` prints one) —
 * with the server's code kept at the end for a bug report.
 */
import { ERROR_STATUS } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { authFailureText } from '../../dashboard/src/model/auth-message';

describe('authFailureText', () => {
  it("token_malformed: a human sentence, not the verifier's message; the code stays; npm start named", () => {
    const text = authFailureText('token_malformed', 'user token header has no "kid"');
    expect(text).toMatch(/^That is not a Gastown user token/);
    expect(text).not.toContain('kid');
    expect(text).toContain('`npm start` printed');
    expect(text.endsWith('(token_malformed)')).toBe(true);
  });

  const tokenCodes = Object.entries(ERROR_STATUS)
    .filter(([code, status]) => code.startsWith('token_') && (status === 401 || status === 403))
    .map(([code]) => code);
  it.each(tokenCodes)('%s: its own sentence, ending in the code', (code) => {
    const text = authFailureText(code, 'verifier detail');
    expect(text).not.toContain('verifier detail');
    expect(text).toMatch(/^[A-Z].*\.\s\(token_[a-z_]+\)$/);
  });

  it('another code keeps the server message; a network failure says the server could not be reached', () => {
    expect(authFailureText('internal', 'boom')).toBe('Sign-in failed: boom (internal)');
    expect(authFailureText('network_error', 'the control plane could not be reached')).toBe(
      'The server could not be reached: the control plane could not be reached',
    );
  });
});
