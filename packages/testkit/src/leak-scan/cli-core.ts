/**
 * The leak-scan command line, as functions (cli.ts is only the process entry):
 *
 *   tsx packages/testkit/src/leak-scan/cli.ts --secrets-file secrets.txt --dir .wrangler/state \
 *     [--file f] [--sqlite-dir d] [--pid n] [--process-tree n] [--git-repo r] [--secret-env NAME] \
 *     [--pattern jwt|refresh_credential|broker_key] [--no-default-patterns] [--json]
 *
 * A secrets file holds one secret per line (blank lines and `#` comments ignored). Output names
 * where, kind and fingerprint of each hit, never a value. Exit: 0 clean, 1 hits, 2 usage, 3 some
 * place could not be scanned (and no hits).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { DEFAULT_PATTERNS, NAMED_PATTERNS } from './patterns';
import { scanForSecrets } from './scan';
import type { LeakHit, NamedPattern, ScanOptions, ScanResult } from './types';

export const EXIT = { clean: 0, hits: 1, usage: 2, incomplete: 3 } as const;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface CliIo {
  env: NodeJS.ProcessEnv;
  out(line: string): void;
  err(line: string): void;
}

const USAGE =
  'usage: leak-scan --secrets-file FILE [--secret-env NAME] [--file F] [--dir D] [--sqlite-dir D] [--pid N] [--process-tree N] [--git-repo R] [--pattern NAME] [--no-default-patterns] [--json]';

/** Parse argv (without node and script) into scan options; reads the secrets files. */
export async function parseCliArgs(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<{ options: ScanOptions; json: boolean }> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        'secrets-file': { type: 'string', multiple: true },
        'secret-env': { type: 'string', multiple: true },
        file: { type: 'string', multiple: true },
        dir: { type: 'string', multiple: true },
        'sqlite-dir': { type: 'string', multiple: true },
        pid: { type: 'string', multiple: true },
        'process-tree': { type: 'string', multiple: true },
        'git-repo': { type: 'string', multiple: true },
        pattern: { type: 'string', multiple: true },
        'no-default-patterns': { type: 'boolean' },
        json: { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new UsageError(`${error instanceof Error ? error.message : 'bad arguments'}\n${USAGE}`);
  }
  const v = parsed.values;
  const secrets: string[] = [];
  for (const file of v['secrets-file'] ?? []) {
    const text = await readFile(file, 'utf8').catch(() => {
      throw new UsageError(`cannot read secrets file ${file}`);
    });
    secrets.push(...text.split(/\r?\n/).filter((line) => line.trim() !== '' && !line.startsWith('#')));
  }
  for (const name of v['secret-env'] ?? []) {
    const value = env[name];
    if (!value) throw new UsageError(`environment variable ${name} is not set`);
    secrets.push(value);
  }
  const patterns: NamedPattern[] = v['no-default-patterns'] ? [] : [...DEFAULT_PATTERNS];
  for (const name of v.pattern ?? []) {
    const pattern = NAMED_PATTERNS[name];
    if (!pattern) throw new UsageError(`unknown pattern ${name} (known: ${Object.keys(NAMED_PATTERNS).join(', ')})`);
    if (!patterns.includes(pattern)) patterns.push(pattern);
  }
  const pids = (list: string[] | undefined) =>
    (list ?? []).map((p) => {
      if (!/^\d+$/.test(p)) throw new UsageError(`not a pid: ${p}`);
      return Number(p);
    });
  const roots = {
    files: v.file ?? [],
    dirs: v.dir ?? [],
    sqliteDirs: v['sqlite-dir'] ?? [],
    processEnvPids: pids(v.pid),
    processTrees: pids(v['process-tree']),
    gitRepos: v['git-repo'] ?? [],
  };
  if (secrets.length === 0 && patterns.length === 0) throw new UsageError(`nothing to look for: give --secrets-file, --secret-env or a pattern\n${USAGE}`);
  if (Object.values(roots).every((list) => list.length === 0))
    throw new UsageError(`nowhere to look: give --file, --dir, --sqlite-dir, --pid, --process-tree or --git-repo\n${USAGE}`);
  return { options: { secrets, patterns, roots }, json: v.json === true };
}

export function formatHit(hit: LeakHit): string {
  const offset = hit.offset === undefined ? '' : ` @${hit.offset}`;
  const encoding = hit.encoding && hit.encoding !== 'utf8' ? ` (${hit.encoding})` : '';
  return `LEAK ${hit.kind} ${hit.fingerprint} ${hit.where}${offset}${encoding} x${hit.count}`;
}

export function exitCodeOf(result: ScanResult): number {
  if (result.hits.length > 0) return EXIT.hits;
  return result.errors.length > 0 ? EXIT.incomplete : EXIT.clean;
}

/** Run the command; returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = await parseCliArgs(argv, io.env);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(error.message);
      return EXIT.usage;
    }
    throw error;
  }
  let result: ScanResult;
  try {
    result = await scanForSecrets(parsed.options);
  } catch (error) {
    // e.g. a secret shorter than the minimum: the message names its index, never its value
    io.err(error instanceof Error ? error.message : 'scan failed');
    return EXIT.usage;
  }
  if (parsed.json) {
    io.out(JSON.stringify(result));
  } else {
    for (const hit of result.hits) io.out(formatHit(hit));
    for (const e of result.errors) io.err(`UNSCANNED ${e.code} ${e.where}`);
  }
  const s = result.scanned;
  io.err(
    `leak-scan: ${s.files} files (${s.bytes} bytes), ${s.processes} processes, ${s.repos} repos: ${result.hits.length} hits, ${result.errors.length} unscanned`,
  );
  return exitCodeOf(result);
}
