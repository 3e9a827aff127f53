/**
 * Secrets never go on the command line: argv is visible to every user of the machine (`ps`) and
 * lands in shell history. A flag that would carry a key, token or webhook secret as its value is
 * refused before anything is parsed, and the refusal never repeats the value.
 */
import { CliError } from '../errors';

/** Flags someone might reach for, and the form to use instead. */
const REFUSED_FLAGS: Readonly<Record<string, string>> = {
  'private-key': '--private-key-file <path> (or --private-key-file - to read the key from stdin)',
  key: '--private-key-file <path> (or --private-key-file - to read the key from stdin)',
  'git-token': '--token-env <VAR> or --token-stdin',
  'access-token': '--token-env <VAR> or --token-stdin',
  'rig-token': '--token-env <VAR> or --token-stdin',
  pat: '--token-env <VAR> or --token-stdin',
  password: '--token-env <VAR> or --token-stdin',
  'webhook-secret': '--webhook-secret-env <VAR>',
};

/** Throws a usage error for the first flag in `argv` (before `--`) that would put a secret on the command line. */
export function refuseSecretsOnArgv(argv: readonly string[], usage: string): void {
  for (const token of argv) {
    if (token === '--') return;
    if (!token.startsWith('--')) continue;
    const name = token.slice(2).split('=', 1)[0] ?? '';
    const instead = REFUSED_FLAGS[name];
    if (instead !== undefined) {
      throw new CliError('usage', `--${name} would put a secret on the command line (visible in \`ps\` and your shell history): use ${instead}`, { usage });
    }
  }
}

/**
 * Positionals past `max`, refused without showing them (unlike other commands): on `rig add` an
 * extra word is most likely a token or key typed where a flag's file/env/stdin form belongs.
 */
export function refuseExtraPositionals(positionals: readonly string[], max: number, usage: string): void {
  if (positionals.length <= max) return;
  throw new CliError(
    'usage',
    `too many arguments (${positionals.length - max} extra, not shown: a token or key never goes on the command line — use --token-env, --token-stdin or --private-key-file)`,
    { usage },
  );
}
