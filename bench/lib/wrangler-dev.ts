/**
 * `wrangler dev` for a benchmark, started the way the stack launcher starts it (its own
 * process group, quiet offline env, secrets in an env file, state in a temp dir), but with
 * a bench entry module: the worker's own wrangler.jsonc with `main` swapped for `entry`.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { build } from 'esbuild';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { generateStackKeys, workerSecrets, formatEnvFile, type StackKeys } from '@gastown/testkit/stack/keys';
import { signalGroup, spawnManaged, type ManagedProcess } from '@gastown/testkit/stack/managed-process';
import { freePort, waitForHttpOk } from '@gastown/testkit/stack/net';
import { QUIET_WRANGLER_ENV, WORKER_DIR } from '@gastown/testkit/stack/commands';

export interface BenchWorker {
  url: string;
  keys: StackKeys;
  adminSecret: string;
  logFile: string;
  pid: number;
  stop(): Promise<void>;
}

/** JSONC → JSON: drops // and /* *\/ comments outside strings, and trailing commas. */
export function stripJsonComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i]!;
    const next = text[i + 1];
    if (inString) {
      out += c;
      if (c === '\\') {
        out += next ?? '';
        i += 1;
      } else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && next === '/') {
      while (i < text.length && text[i] !== '\n') i += 1;
      out += '\n';
    } else if (c === '/' && next === '*') {
      i += 2;
      while (i < text.length && !(text[i] === '*' && text[i + 1] === '/')) i += 1;
      i += 1;
    } else out += c;
  }
  return out.replace(/,(\s*[}\]])/g, '$1');
}

/** esbuild, configured as wrangler bundles a worker (workerd conditions, ESM, platform built-ins external). */
export async function bundleEntry(entry: string, outdir: string): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['browser', 'module', 'main'],
    external: ['cloudflare:*', 'node:*'],
    entryNames: 'index',
    logLevel: 'error',
    metafile: true,
  });
  const out = Object.keys(result.metafile.outputs).find((f) => f.endsWith('index.js'));
  if (!out) throw new Error('esbuild produced no index.js');
  return resolve(out);
}

function wranglerBin(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('wrangler/package.json')), 'bin', 'wrangler.js');
}

export interface BenchWorkerOptions {
  /** Absolute path of the entry module (the real worker plus bench-only routes). */
  entry: string;
  vars?: Record<string, string>;
  /** Bench-only path patterns that must reach the worker before the static assets. */
  workerFirst?: string[];
  readyTimeoutMs?: number;
}

export async function startBenchWorker(options: BenchWorkerOptions): Promise<BenchWorker> {
  const stateDir = mkdtempSync(join(tmpdir(), 'gt-bench-worker-'));
  mkdirSync(join(stateDir, 'logs'), { recursive: true });
  const keys = generateStackKeys();
  const envFile = join(stateDir, 'worker.env');
  writeFileSync(envFile, formatEnvFile(workerSecrets(keys), 'Secrets of this benchmark worker (generated).'), { mode: 0o600 });
  // A snapshot bundle: wrangler dev would otherwise watch packages/worker/src and restart the
  // worker mid-run whenever someone edits it; --no-bundle on our own bundle pins the code.
  const bundled = await bundleEntry(options.entry, join(stateDir, 'bundle'));
  const config = JSON.parse(stripJsonComments(readFileSync(join(WORKER_DIR, 'wrangler.jsonc'), 'utf8'))) as Record<string, unknown>;
  delete config['$schema'];
  config['main'] = bundled;
  config['no_bundle'] = true;
  config['rules'] = [{ type: 'ESModule', globs: ['**/*.js'] }];
  // the config is written elsewhere: paths in it are relative to the worker's folder
  const assets = config['assets'] as { directory?: string; run_worker_first?: unknown } | undefined;
  if (assets?.directory) {
    // a snapshot here too: wrangler watches the assets folder and restarts the worker when a
    // build elsewhere rewrites it
    const snapshot = join(stateDir, 'assets');
    const source = resolve(WORKER_DIR, assets.directory);
    if (existsSync(source)) cpSync(source, snapshot, { recursive: true });
    else mkdirSync(snapshot, { recursive: true });
    assets.directory = snapshot;
  }
  if (assets && Array.isArray(assets.run_worker_first)) assets.run_worker_first = [...(assets.run_worker_first as string[]), ...(options.workerFirst ?? [])];
  const configFile = join(stateDir, 'wrangler.bench.json');
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
  const port = await freePort();
  const inspectorPort = await freePort();
  const args = [
    wranglerBin(),
    'dev',
    '--config',
    configFile,
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--inspector-port',
    String(inspectorPort),
    '--persist-to',
    join(stateDir, 'wrangler'),
    '--show-interactive-dev-session=false',
    '--env-file',
    envFile,
    '--log-level',
    process.env.GASTOWN_BENCH_WRANGLER_LOG ?? 'warn',
  ];
  for (const [name, value] of Object.entries(options.vars ?? {})) args.push('--var', `${name}:${value}`);
  const logFile = join(stateDir, 'logs', 'worker.log');
  const proc: ManagedProcess = spawnManaged({
    name: 'bench-worker',
    command: process.execPath,
    args,
    cwd: stateDir,
    env: { ...(process.env as Record<string, string>), ...QUIET_WRANGLER_ENV, GASTOWN_STACK_DIR: stateDir },
    logFile,
    echo: null,
  });
  // an interrupted run must not leave workerd holding a port: kill the group on exit
  const killOnExit = () => signalGroup(proc.pid, 'SIGKILL');
  process.once('exit', killOnExit);
  const url = `http://127.0.0.1:${port}`;
  let exited: string | null = null;
  void proc.exited.then(({ code, signal }) => {
    exited = `wrangler exited (code ${code}, signal ${signal}); log: ${logFile}`;
  });
  const stop = async () => {
    await proc.stop(10_000);
    process.removeListener('exit', killOnExit);
    // keep the last worker log for a post-mortem; the rest of the state goes
    try {
      cpSync(logFile, join(tmpdir(), 'gastown-bench-worker.last.log'));
    } catch {
      // no log
    }
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    await waitForHttpOk(`${url}/health`, { timeoutMs: options.readyTimeoutMs ?? 120_000, what: 'bench worker', gaveUp: () => exited });
  } catch (error) {
    const tail = readFileSync(logFile, 'utf8').slice(-2000);
    await proc.stop(5_000);
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${tail}`);
  }
  return { url, keys, adminSecret: keys.adminSecret, logFile, pid: proc.pid, stop };
}
