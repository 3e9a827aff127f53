/**
 * A frozen copy of the worker for test stacks: `wrangler deploy --dry-run --outdir` bundles
 * packages/worker once, and `wrangler dev` then serves that bundle (`no_bundle`) from a config in
 * the stack's state dir. `wrangler dev` watches its sources and reloads the Worker on every edit —
 * useful for `gastown dev`, but in a shared checkout an edit mid-test restarts the Durable Objects
 * under a running test. A frozen stack runs exactly the code it started with.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { StackError } from './errors';
import { QUIET_WRANGLER_ENV, WORKER_DIR, wranglerBinPath } from './commands';

const run = promisify(execFile);

/** Strip `//` and `/* *\/` comments and trailing commas from JSONC (strings are left alone). */
export function parseJsonc(text: string): unknown {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const next = text[i + 1];
    if (inString) {
      out += c;
      if (c === '\\') {
        out += next ?? '';
        i++;
      } else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && next === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && next === '*') {
      i += 2;
      while (i < text.length && !(text[i] === '*' && text[i + 1] === '/')) i++;
      i++;
    } else out += c;
  }
  return JSON.parse(out.replace(/,(\s*[}\]])/g, '$1'));
}

/** Bundle the worker into `<dir>/out` and write `<dir>/wrangler.json` serving it. Returns the config path. */
export async function freezeWorker(dir: string, logFile: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const outdir = join(dir, 'out');
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [wranglerBinPath(), 'deploy', '--dry-run', '--outdir', outdir, '--config', join(WORKER_DIR, 'wrangler.jsonc')],
      {
        cwd: WORKER_DIR,
        env: { ...process.env, ...QUIET_WRANGLER_ENV, WRANGLER_LOG_PATH: join(dir, 'wrangler-logs') },
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    writeFileSync(logFile, `${stdout}${stderr}`, { flag: 'a' });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    writeFileSync(logFile, `${e.stdout ?? ''}${e.stderr ?? ''}`, { flag: 'a' });
    throw new StackError('stack_start_failed', `bundling the worker failed; log: ${logFile}`, { cause: error });
  }
  const config = parseJsonc(readFileSync(join(WORKER_DIR, 'wrangler.jsonc'), 'utf8')) as Record<string, unknown>;
  delete config.$schema;
  config.main = join(outdir, 'index.js');
  config.no_bundle = true;
  const assets = config.assets as { directory?: string } | undefined;
  if (assets?.directory) {
    const source = isAbsolute(assets.directory) ? assets.directory : resolve(WORKER_DIR, assets.directory);
    const copy = join(dir, 'assets');
    if (existsSync(source)) cpSync(source, copy, { recursive: true });
    else mkdirSync(copy, { recursive: true });
    config.assets = { ...assets, directory: copy };
  }
  const path = join(dir, 'wrangler.json');
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
  return path;
}
