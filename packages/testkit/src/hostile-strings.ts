/**
 * Hostile strings for names, ids, branch names, env var names and git URLs. Every one must be
 * refused with a typed 4xx wherever the protocol expects one of those, and never reach git, a
 * shell or a file path.
 */
export interface Hostile {
  name: string;
  value: string;
}

export const HOSTILE_STRINGS: readonly Hostile[] = [
  { name: 'path traversal', value: '../../etc' },
  { name: 'encoded traversal', value: '..%2F..%2Fetc%2Fpasswd' },
  { name: 'shell command list', value: 'a;rm -rf /' },
  { name: 'command substitution', value: '$(id)' },
  { name: 'backticks', value: '`id`' },
  { name: 'git --upload-pack', value: '--upload-pack=touch /tmp/pwned' },
  { name: 'git -c option', value: '-c core.sshCommand=touch /tmp/pwned' },
  { name: 'NUL byte', value: 'main\u0000evil' },
  { name: 'newline', value: 'main\nevil' },
  { name: 'very long', value: 'a'.repeat(10_000) },
  { name: 'RTL override', value: 'main\u202Elave' },
  { name: 'zero-width space', value: 'ma\u200Bin' },
];

/** Git remotes that must never be stored as a rig or handed to git. */
export const HOSTILE_GIT_URLS: readonly Hostile[] = [
  { name: 'ext transport', value: 'ext::sh -c touch% /tmp/pwned' },
  { name: 'option as URL', value: '--upload-pack=touch%20/tmp/pwned' },
  { name: 'ssh host that is an option', value: 'ssh://-oProxyCommand=touch%20/tmp/pwned/repo' },
  { name: 'ssh user@host that is an option', value: 'ssh://git@-oProxyCommand=x/repo' },
  { name: 'scp-style host that is an option', value: 'git@-oProxyCommand:repo.git' },
  { name: 'password in an https URL', value: 'https://user:ghp_0123456789abcdef@github.com/o/r.git' },
  { name: 'token as the https user', value: 'https://ghp_0123456789abcdef@github.com/o/r.git' },
  { name: 'password in an ssh URL', value: 'ssh://git:hunter2-password@example.com/r.git' },
  { name: 'file URL escaping with ..', value: 'file:///srv/git/../../etc/passwd' },
  { name: 'relative path', value: 'repos/r.git' },
  { name: 'RTL override inside an https URL', value: 'https://example.com/r\u202Etig.exe' },
  { name: 'zero-width space in the host', value: 'https://git\u200Bhub.com/o/r.git' },
  { name: 'tab inside an https URL', value: 'https://example.com/r.git\t--upload-pack=x' },
  { name: 'URL over 1000 chars', value: `https://example.com/${'r'.repeat(1000)}.git` },
];
