/**
 * The places a leak can hide, each read as bytes and handed to the matcher: files and
 * directories (recursively, symlinks never followed), /proc environ and cmdline, git config.
 */
import { execFile } from 'node:child_process';
import { lstat, open, readFile, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { Match, Matcher } from './matcher';
import type { ScanError } from './types';

const CHUNK_BYTES = 4 * 1024 * 1024;
/** gzip's magic bytes: a compressed file (a stored session snapshot) is scanned decompressed too. */
const GZIP_MAGIC = [0x1f, 0x8b] as const;
/** Largest decompressed gzip content the scan reads; past it the file is reported as an error, never skipped silently. */
const MAX_GUNZIP_BYTES = 512 * 1024 * 1024;
const gunzipAsync = promisify(gunzip);

/** Receives every match with the place it was found in; errors are reported, never skipped silently. */
export interface Sink {
  found(where: string, matches: readonly Match[]): void;
  error(error: ScanError): void;
  countFile(bytes: number): void;
  countProcess(): void;
  countRepo(): void;
}

/** Scan one file in chunks. */
export async function scanFile(path: string, label: string, matcher: Matcher, sink: Sink): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    sink.error({ where: `${label}:${path}`, code: errorCode(error) });
    return;
  }
  try {
    const buffer = Buffer.alloc(CHUNK_BYTES + matcher.overlapBytes);
    let carried = 0;
    let position = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, carried, CHUNK_BYTES, position);
      const final = bytesRead === 0 || bytesRead < CHUNK_BYTES;
      const length = carried + bytesRead;
      if (length > 0) sink.found(`${label}:${path}`, matcher.match(buffer.subarray(0, length), position - carried, carried, final));
      position += bytesRead;
      if (final) break;
      carried = Math.min(matcher.overlapBytes, length);
      buffer.copy(buffer, 0, length - carried, length);
    }
    sink.countFile(position);
    if (await startsWithGzipMagic(handle)) await scanGzipped(path, label, matcher, sink);
  } catch (error) {
    sink.error({ where: `${label}:${path}`, code: errorCode(error) });
  } finally {
    await handle.close();
  }
}

async function startsWithGzipMagic(handle: Awaited<ReturnType<typeof open>>): Promise<boolean> {
  const head = Buffer.alloc(2);
  const { bytesRead } = await handle.read(head, 0, 2, 0);
  return bytesRead === 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
}

/** The decompressed content of a gzip file, reported as `gzip:<label>:<path>`; a corrupt or oversized one is an error. */
async function scanGzipped(path: string, label: string, matcher: Matcher, sink: Sink): Promise<void> {
  const where = `gzip:${label}:${path}`;
  let content: Buffer;
  try {
    content = await gunzipAsync(await readFile(path), { maxOutputLength: MAX_GUNZIP_BYTES });
  } catch (error) {
    sink.error({ where, code: errorCode(error) });
    return;
  }
  for (let start = 0; start < content.length || start === 0; start += CHUNK_BYTES) {
    const from = Math.max(0, start - matcher.overlapBytes);
    const end = Math.min(content.length, start + CHUNK_BYTES);
    sink.found(where, matcher.match(content.subarray(from, end), from, start - from, end === content.length));
    if (end === content.length) break;
  }
}

/** Every regular file below `dir` (symlinks, sockets and devices are not followed or read). */
export async function scanDir(dir: string, label: string, matcher: Matcher, sink: Sink): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    sink.error({ where: `${label}:${dir}`, code: errorCode(error) });
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    sink.found(`filename:${path}`, matcher.matchText(entry.name));
    if (entry.isDirectory()) await scanDir(path, label, matcher, sink);
    else if (entry.isFile()) await scanFile(path, label, matcher, sink);
  }
}

export async function scanPath(path: string, label: string, matcher: Matcher, sink: Sink): Promise<void> {
  const absolute = resolve(path);
  try {
    const stat = await lstat(absolute);
    if (stat.isDirectory()) return scanDir(absolute, label, matcher, sink);
    if (stat.isFile()) return scanFile(absolute, label, matcher, sink);
    sink.error({ where: `${label}:${absolute}`, code: 'not_a_regular_file' });
  } catch (error) {
    sink.error({ where: `${label}:${absolute}`, code: errorCode(error) });
  }
}

/** `/proc/<pid>/environ` (per variable) and `/proc/<pid>/cmdline` (per argument). */
export async function scanProcess(pid: number, matcher: Matcher, sink: Sink): Promise<void> {
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    sink.error({ where: `env:${String(pid)}`, code: 'invalid_pid' });
    return;
  }
  let environ: Buffer;
  let cmdline: Buffer;
  try {
    [environ, cmdline] = await Promise.all([readFile(`/proc/${pid}/environ`), readFile(`/proc/${pid}/cmdline`)]);
  } catch (error) {
    sink.error({ where: `env:${pid}`, code: errorCode(error) });
    return;
  }
  sink.countProcess();
  for (const entry of splitNul(environ)) {
    const eq = entry.indexOf('=');
    const name = eq > 0 ? entry.slice(0, eq) : '(unnamed)';
    sink.found(`env:${pid}:${safeLabel(name)}`, matcher.matchText(entry));
  }
  splitNul(cmdline).forEach((arg, index) => sink.found(`cmdline:${pid}:${index}`, matcher.matchText(arg)));
}

/** `pid` and every descendant (from /proc/<pid>/task/<tid>/children). */
export async function processTree(pid: number): Promise<number[]> {
  const seen = new Set<number>();
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift() as number;
    if (seen.has(next)) continue;
    seen.add(next);
    let tasks: string[] = [];
    try {
      tasks = await readdir(`/proc/${next}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      const children = await readFile(`/proc/${next}/task/${tid}/children`, 'utf8').catch(() => '');
      for (const child of children.split(/\s+/).filter(Boolean)) queue.push(Number(child));
    }
  }
  return [...seen];
}

/**
 * A repository (or worktree): every config entry git sees, with its origin, plus the
 * repository's own config, config.worktree and FETCH_HEAD files read directly.
 */
export async function scanGitRepo(repo: string, matcher: Matcher, sink: Sink, env: NodeJS.ProcessEnv): Promise<void> {
  const root = resolve(repo);
  const dirs = await git(['-C', root, 'rev-parse', '--absolute-git-dir', '--git-common-dir'], env);
  if (dirs === null) {
    sink.error({ where: `git:${root}`, code: 'not_a_repository' });
    return;
  }
  sink.countRepo();
  const [gitDir = '', commonRaw = ''] = dirs.trim().split('\n');
  // --git-common-dir is relative to the working directory git ran in (root), or absolute
  const commonDir = resolve(root, commonRaw);
  const listing = await git(['-C', root, 'config', '--list', '--show-origin'], env);
  if (listing === null) sink.error({ where: `git:${root}`, code: 'config_unreadable' });
  for (const line of (listing ?? '').split('\n')) {
    const tab = line.indexOf('\t');
    if (tab < 0) continue;
    const origin = line.slice(0, tab);
    const entry = line.slice(tab + 1);
    const key = entry.slice(0, Math.max(0, entry.indexOf('='))) || entry;
    sink.found(`git:${root}:${safeLabel(origin)}:${safeLabel(key)}`, matcher.matchText(entry));
  }
  const files = new Set([join(commonDir, 'config'), join(gitDir, 'config.worktree'), join(gitDir, 'FETCH_HEAD'), join(commonDir, 'FETCH_HEAD')]);
  for (const file of files) {
    const exists = await lstat(file)
      .then((s) => s.isFile())
      .catch(() => false);
    if (exists) await scanFile(file, `git:${root}`, matcher, sink);
  }
}

function git(args: string[], env: NodeJS.ProcessEnv): Promise<string | null> {
  return new Promise((done) => {
    // repositories of sandboxed agents belong to other uids: read them anyway (git's ownership check)
    execFile('git', ['-c', 'safe.directory=*', ...args], { env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, timeout: 30_000 }, (error, stdout) =>
      done(error ? null : stdout),
    );
  });
}

function splitNul(bytes: Buffer): string[] {
  return bytes
    .toString('utf8')
    .split('\0')
    .filter((s) => s.length > 0);
}

/** A name that is safe to print: a config key or env var name cannot smuggle a secret into a report. */
function safeLabel(name: string): string {
  return /^[\w.:/ -]{1,200}$/.test(name) ? name : '(unprintable)';
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : 'unreadable';
}
