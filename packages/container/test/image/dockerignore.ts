/**
 * The subset of Docker's .dockerignore matching (moby/patternmatcher) the contract test needs:
 * patterns relative to the context root, `*` and `?` within one path segment, `**` across
 * segments, `!` re-includes, last matching pattern wins, and a path is excluded when it or any
 * of its parent directories matches. Character classes are refused rather than guessed.
 */

interface Rule {
  regex: RegExp;
  exclude: boolean;
}

function toRegex(pattern: string): RegExp {
  if (/[[\]\\]/.test(pattern)) throw new SyntaxError(`.dockerignore pattern "${pattern}" uses syntax this reader does not support`);
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*' && pattern[i + 1] === '*') {
      // `**/` = zero or more directories; a trailing `**` = anything.
      if (pattern[i + 2] === '/') {
        source += '(?:.*/)?';
        i += 2;
      } else {
        source += '.*';
        i += 1;
      }
    } else if (ch === '*') source += '[^/]*';
    else if (ch === '?') source += '[^/]';
    else source += ch.replace(/[.+^${}()|]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** Normalise a path or pattern the way Docker does: no leading `/` or `./`, no trailing `/`. */
function clean(path: string): string {
  return path.replace(/^(?:\.?\/)+/, '').replace(/\/+$/, '');
}

export function parseDockerignore(text: string): Rule[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const exclude = !line.startsWith('!');
      return { regex: toRegex(clean(exclude ? line : line.slice(1).trim())), exclude };
    });
}

/** Whether `path` (relative to the context root) is left out of the build context. */
export function isIgnored(rules: readonly Rule[], path: string): boolean {
  const segments = clean(path).split('/');
  const prefixes = segments.map((_, i) => segments.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const rule of rules) {
    if (prefixes.some((prefix) => rule.regex.test(prefix))) ignored = rule.exclude;
  }
  return ignored;
}
