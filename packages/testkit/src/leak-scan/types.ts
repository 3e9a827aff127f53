/** Public types of the leak scanner. */

/** Where to look. Every path is scanned as bytes; nothing is followed through a symlink. */
export interface ScanRoots {
  /** Single files (text or binary). */
  files?: string[];
  /** Directories, recursively. */
  dirs?: string[];
  /** `/proc/<pid>/environ` and `/proc/<pid>/cmdline` of each pid. */
  processEnvPids?: number[];
  /** Like processEnvPids, for each pid and all its descendants. */
  processTrees?: number[];
  /** `git config --list --show-origin` plus the config and FETCH_HEAD files of each repository (or worktree). */
  gitRepos?: string[];
  /** Directories of SQLite state (wrangler dev / miniflare Durable Object storage, -wal and -shm included), as bytes. */
  sqliteDirs?: string[];
}

/** A pattern that recognises a credential by its shape (a JWT, a `gtr_` refresh credential). */
export interface NamedPattern {
  name: string;
  pattern: RegExp;
}

export interface ScanOptions {
  /** Exact values that must appear nowhere: tokens, refresh credentials, signing secrets, provider keys, the container key. At least 8 characters each. */
  secrets: readonly string[];
  /** Credential shapes. Default: DEFAULT_PATTERNS (JWT shape, `gtr_` refresh credential). Pass [] for exact secrets only. */
  patterns?: ReadonlyArray<RegExp | NamedPattern>;
  roots: ScanRoots;
  /** Environment for the `git` processes (e.g. the HOME / GIT_CONFIG_GLOBAL an agent used). Default: this process's env. */
  gitEnv?: NodeJS.ProcessEnv;
}

/**
 * One finding. It never holds the secret: `fingerprint` is the first 8 hex of the SHA-256 of
 * the matched value (for an exact secret: of that secret, so callers can tell which one leaked).
 */
export interface LeakHit {
  /** `file:<path>`, `sqlite:<path>`, `env:<pid>:<NAME>`, `cmdline:<pid>:<argIndex>`, `git:<repo>:<origin>:<key>` or `git:<repo>:<file>`. */
  where: string;
  /** `secret` for an exact value, otherwise the pattern's name (`jwt`, `refresh_credential`, …). */
  kind: string;
  fingerprint: string;
  /** Byte offset of the first occurrence within `where` (files), when meaningful. */
  offset?: number;
  /** How many occurrences `where` holds. */
  count: number;
  /** For exact secrets: the encoding it was found in. */
  encoding?: 'utf8' | 'utf16le';
}

/** Something that could not be scanned (never silently skipped). */
export interface ScanError {
  where: string;
  code: string;
}

export interface ScanResult {
  hits: LeakHit[];
  errors: ScanError[];
  scanned: { files: number; bytes: number; processes: number; repos: number };
}
