/**
 * The leak scan of the end-to-end run: where a credential could end up in a running town, and
 * the roots handed to scanForSecrets (packages/testkit/src/leak-scan) for each.
 *
 * - live agent processes: `/proc/<pid>/environ` and `cmdline` of every agent runtime (a process
 *   whose environment names a GASTOWN_AGENT_ID) and its children;
 * - the stack's state dir after stop: process and agent logs, the control plane's Durable Object
 *   storage (SQLite, -wal and -shm: stored events, agents, refresh records), the container host's
 *   data (agent homes, runtime state, workspaces), the rig repositories, and a dump of every
 *   town's events as the API serves them;
 * - git: `git config --list --show-origin`, config and FETCH_HEAD of every repository and
 *   worktree found below the state dir.
 *
 * Left out on purpose: `keys.json` and `worker.env`, the operator's secret store of the local
 * stack (what `wrangler secret put` holds in production) — they are where the secrets belong.
 * Likewise a town's env vars (the provider key) are stored in its Durable Object's
 * `town_env_vars` table, by design: the storage bytes are scanned without the provider key, and
 * every other table's rows (read with the sqlite3 CLI) with it.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { findStackProcesses } from '../../src/stack/index';
import type { ScanRoots } from '../../src/leak-scan/types';

/** Files of the local stack that hold its secrets by design (the operator's secret store). */
export const OPERATOR_SECRET_FILES: ReadonlySet<string> = new Set(['keys.json', 'worker.env']);
/** Subdirectory of the state dir holding wrangler's Durable Object storage. */
export const WRANGLER_STATE = 'wrangler';
/** Tables that hold a secret by design: a town's env vars (its provider key), write-only on the API. */
export const SECRET_STORE_TABLES: ReadonlySet<string> = new Set(['town_env_vars', 'rig_secrets']);

/** Pids of the live agent runtimes of a stack (their environment names the agent). */
export function agentProcessPids(stateDir: string): number[] {
  return findStackProcesses(stateDir)
    .map((p) => p.pid)
    .filter((pid) => {
      try {
        return `\0${readFileSync(`/proc/${pid}/environ`).toString('latin1')}`.includes('\0GASTOWN_AGENT_ID=');
      } catch {
        return false;
      }
    });
}

/** Every git repository (bare or not) and worktree below `root`, without following symlinks. */
export function findGitRepos(root: string, out: string[] = [], depth = 0): string[] {
  if (depth > 12) return out;
  let entries;
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch {
    return out;
  }
  const names = new Set(entries.map((e) => e.name));
  if (names.has('.git'))
    out.push(root); // a checkout, or a worktree (.git is a file there)
  else if (names.has('HEAD') && names.has('objects') && names.has('config') && names.has('refs')) {
    out.push(root); // a bare repository: nothing to descend into
    return out;
  }
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name === '.git' || entry.name === 'node_modules') continue;
    findGitRepos(join(root, entry.name), out, depth + 1);
  }
  return out;
}

/** The roots to scan in a stopped stack's state dir (see the file comment). */
export function stateDirScanRoots(stateDir: string): ScanRoots {
  const files: string[] = [];
  const dirs: string[] = [];
  const sqliteDirs: string[] = [];
  for (const name of readdirSync(stateDir)) {
    if (OPERATOR_SECRET_FILES.has(name)) continue;
    const path = join(stateDir, name);
    if (name === WRANGLER_STATE) sqliteDirs.push(path);
    else if (statSync(path).isDirectory()) dirs.push(path);
    else files.push(path);
  }
  if (!existsSync(join(stateDir, WRANGLER_STATE))) throw new Error(`no Durable Object storage in ${stateDir}: the scan would miss the stored events`);
  return { files, dirs, sqliteDirs, gitRepos: findGitRepos(stateDir) };
}

/** Every `*.sqlite` database below `dir` (wrangler's Durable Object storage). */
function sqliteFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) sqliteFiles(path, out);
    else if (entry.isFile() && entry.name.endsWith('.sqlite')) out.push(path);
  }
  return out;
}

/**
 * Write every row of every table of every Durable Object (WAL included) to `outFile` as JSON
 * lines, except the tables in SECRET_STORE_TABLES. Returns what it read, so a caller can tell an
 * empty dump from a broken one.
 */
export function dumpStoredRows(wranglerDir: string, outFile: string): { databases: number; tables: number; rows: number } {
  const sqlite = (db: string, sql: string) => execFileSync('sqlite3', ['-readonly', '-json', db, sql], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const counts = { databases: 0, tables: 0, rows: 0 };
  for (const db of sqliteFiles(wranglerDir)) {
    counts.databases += 1;
    const tables = JSON.parse(sqlite(db, "SELECT name FROM sqlite_master WHERE type = 'table'") || '[]') as Array<{ name: string }>;
    for (const { name } of tables) {
      if (SECRET_STORE_TABLES.has(name)) continue;
      const rows = JSON.parse(sqlite(db, `SELECT * FROM "${name.replaceAll('"', '""')}"`) || '[]') as unknown[];
      counts.tables += 1;
      counts.rows += rows.length;
      for (const row of rows) appendFileSync(outFile, `${JSON.stringify({ db, table: name, row })}\n`);
    }
  }
  return counts;
}
