/**
 * A refused user token in words a person can act on (the sign-in form, and the reason shown
 * after a sign-out): what is wrong with the token and where to get a good one. The server's code
 * stays at the end, in parentheses, for a bug report. Pure; no DOM.
 */

/** Where a good token comes from (the sign-in page's hint says the same). */
const GET_ANOTHER = 'Use the one `npm start` printed under "User token" (also in .gastown/cli.json), or ask an admin for a new one.';

const SENTENCES: Readonly<Record<string, string>> = {
  token_missing: 'Paste your user token to sign in.',
  token_malformed: `That is not a Gastown user token: it could not be read. Paste the whole token (it starts with eyJ and has two dots). ${GET_ANOTHER}`,
  token_bad_signature: `This server did not sign that token: it is from another Gastown server, or from a local stack whose .gastown/ was reset. ${GET_ANOTHER}`,
  token_unknown_key: `That token was signed with a key this server no longer has (its keys were rotated). ${GET_ANOTHER}`,
  token_expired: `That token has expired. ${GET_ANOTHER}`,
  token_revoked: `That token has been revoked. ${GET_ANOTHER}`,
  token_scope: 'That is not a user token (an agent or admin credential, perhaps). Paste a user token.',
};

/** The sentence for a refused token: `…sentence… (token_malformed)`; an unknown code keeps the server's message. */
export function authFailureText(code: string, message: string): string {
  const sentence = SENTENCES[code];
  if (sentence !== undefined) return `${sentence} (${code})`;
  if (code === 'network_error') return `The server could not be reached: ${message}`;
  return `Sign-in failed: ${message} (${code})`;
}
