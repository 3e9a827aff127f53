/**
 * A small Dockerfile reader for the image contract test: enough of the syntax this repository's
 * Dockerfile uses (line continuations, comments, JSON or shell form, `ENV k=v …`, `COPY [--flag] src… dest`).
 * Not a general parser: an instruction it cannot read fails the test rather than being skipped.
 */

export interface Instruction {
  /** Upper-cased keyword: FROM, RUN, COPY … */
  keyword: string;
  /** Everything after the keyword, continuation lines joined with a space. */
  args: string;
  /** 1-based line the instruction starts on, for failure messages. */
  line: number;
}

export interface Copy {
  flags: string[];
  sources: string[];
  dest: string;
  line: number;
}

/** Instructions in order; comments and blank lines dropped, `\` continuations joined. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending: { parts: string[]; line: number } | null = null;
  text.split('\n').forEach((raw, index) => {
    const trimmed = raw.trim();
    if (trimmed.startsWith('#')) return; // comments may sit between continuation lines, too
    if (!pending && trimmed === '') return;
    const continues = trimmed.endsWith('\\');
    const part = continues ? trimmed.slice(0, -1).trim() : trimmed;
    pending ??= { parts: [], line: index + 1 };
    if (part) pending.parts.push(part);
    if (continues) return;
    const joined = pending.parts.join(' ');
    const match = /^([A-Za-z]+)\s+([\s\S]*)$/.exec(joined);
    if (!match) throw new SyntaxError(`Dockerfile line ${pending.line}: cannot read "${joined}"`);
    out.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim(), line: pending.line });
    pending = null;
  });
  if (pending) throw new SyntaxError('Dockerfile ends inside a line continuation');
  return out;
}

/** Exec form (`["a", "b"]`) → its array; shell form → whitespace-split words. */
export function commandWords(args: string): string[] {
  if (args.startsWith('[')) return JSON.parse(args) as string[];
  return args.split(/\s+/).filter(Boolean);
}

/** `ENV A=1 B=2` (and the legacy `ENV A 1`) → entries; values unquoted. */
export function envEntries(args: string): Array<[string, string]> {
  if (!args.includes('=')) {
    const [name, ...rest] = args.split(/\s+/);
    return [[name!, rest.join(' ')]];
  }
  const entries: Array<[string, string]> = [];
  for (const match of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g)) {
    const value = match[2]!;
    entries.push([match[1]!, /^["']/.test(value) ? value.slice(1, -1) : value]);
  }
  return entries;
}

/** `COPY [--chown=…] src… dest` (shell or JSON form). */
export function copyOf(instruction: Instruction): Copy {
  const words = commandWords(instruction.args);
  const flags = words.filter((w) => w.startsWith('--'));
  const paths = words.filter((w) => !w.startsWith('--'));
  if (paths.length < 2) throw new SyntaxError(`Dockerfile line ${instruction.line}: COPY needs a source and a destination`);
  return { flags, sources: paths.slice(0, -1), dest: paths[paths.length - 1]!, line: instruction.line };
}
