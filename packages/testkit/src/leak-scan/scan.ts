/**
 * scanForSecrets: look for exact secrets and credential shapes in files, directories, SQLite
 * state, process environments and git config. Returns where, what kind and a fingerprint —
 * never the value — and prints nothing.
 */
import { Matcher, type Match } from './matcher';
import { DEFAULT_PATTERNS, normalizePatterns } from './patterns';
import { processTree, scanGitRepo, scanPath, scanProcess, type Sink } from './sources';
import type { LeakHit, ScanError, ScanOptions, ScanResult } from './types';

export async function scanForSecrets(options: ScanOptions): Promise<ScanResult> {
  const matcher = new Matcher(options.secrets, normalizePatterns(options.patterns ?? DEFAULT_PATTERNS));
  const collector = new HitCollector(matcher);
  const { roots } = options;
  for (const file of roots.files ?? []) await scanPath(file, 'file', matcher, collector);
  for (const dir of roots.dirs ?? []) await scanPath(dir, 'file', matcher, collector);
  for (const dir of roots.sqliteDirs ?? []) await scanPath(dir, 'sqlite', matcher, collector);
  const pids = new Set(roots.processEnvPids ?? []);
  for (const root of roots.processTrees ?? []) for (const pid of await processTree(root)) pids.add(pid);
  for (const pid of pids) await scanProcess(pid, matcher, collector);
  for (const repo of roots.gitRepos ?? []) await scanGitRepo(repo, matcher, collector, options.gitEnv ?? process.env);
  return collector.result();
}

/** Folds matches into one hit per (where, kind, fingerprint, encoding), with a count and the first offset. */
class HitCollector implements Sink {
  private readonly hits = new Map<string, LeakHit>();
  private readonly errors: ScanError[] = [];
  private readonly scanned = { files: 0, bytes: 0, processes: 0, repos: 0 };

  constructor(private readonly matcher: Matcher) {}

  found(where: string, matches: readonly Match[]): void {
    if (matches.length === 0) return;
    // a label (file name, env var name, config key) must not carry a secret into the report
    const label = this.matcher.redact(where);
    for (const m of matches) {
      const key = `${label}\0${m.kind}\0${m.fingerprint}\0${m.encoding ?? ''}`;
      const hit = this.hits.get(key);
      if (hit) {
        hit.count += 1;
        continue;
      }
      const fresh: LeakHit = { where: label, kind: m.kind, fingerprint: m.fingerprint, count: 1 };
      if (label.startsWith('file:') || label.startsWith('sqlite:') || label.startsWith('git:')) fresh.offset = m.offset;
      if (m.encoding) fresh.encoding = m.encoding;
      this.hits.set(key, fresh);
    }
  }

  error(error: ScanError): void {
    this.errors.push({ where: this.matcher.redact(error.where), code: error.code });
  }

  countFile(bytes: number): void {
    this.scanned.files += 1;
    this.scanned.bytes += bytes;
  }

  countProcess(): void {
    this.scanned.processes += 1;
  }

  countRepo(): void {
    this.scanned.repos += 1;
  }

  result(): ScanResult {
    return { hits: [...this.hits.values()], errors: [...this.errors], scanned: { ...this.scanned } };
  }
}
