/**
 * Checks a rig remote needs beyond GitUrlSchema (which stays as it is): things that are
 * well-formed URLs but must never be stored as a rig or handed to git.
 */

/** Invisible and bidirectional format characters (U+202E, U+200B, …): the URL is not what it shows. */
const FORMAT_CHARACTERS = /\p{Cf}/u;
const SCHEME_URL = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)/;
const SCP_URL = /^[^@/:]+@([^:/]+):/;

/**
 * Why `url` (already valid per GitUrlSchema) must not be a rig remote, or null when it may be:
 * - credentials in the URL (any userinfo on http(s), a password anywhere): git would persist them
 *   in the repository config, and the control plane would store and show them;
 * - a host that starts with a dash (`ssh://-oProxyCommand=…`): read by ssh as an option;
 * - invisible or bidirectional format characters.
 * The reason names the rule, never the URL.
 */
export function gitUrlProblem(url: string): string | null {
  if (FORMAT_CHARACTERS.test(url)) return 'must not contain invisible or bidirectional format characters';
  const schemed = SCHEME_URL.exec(url);
  if (schemed) {
    const scheme = (schemed[1] ?? '').toLowerCase();
    const authority = schemed[2] ?? '';
    const at = authority.lastIndexOf('@');
    const userinfo = at >= 0 ? authority.slice(0, at) : null;
    const host = authority.slice(at + 1);
    if (userinfo !== null && (scheme === 'http' || scheme === 'https')) return 'must not carry credentials (a user or token) in the URL';
    if (userinfo?.includes(':')) return 'must not carry a password in the URL';
    if (host.startsWith('-')) return 'must not name a host that starts with a dash';
    return null;
  }
  const scp = SCP_URL.exec(url);
  if (scp?.[1]?.startsWith('-')) return 'must not name a host that starts with a dash';
  return null;
}
