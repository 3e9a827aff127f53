/** Command lines of the stack's processes. Pure, apart from resolving installed paths. */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (packages/testkit/src/stack → ../../../..). */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const WORKER_DIR = join(REPO_ROOT, 'packages', 'worker');
export const HOST_MAIN = join(REPO_ROOT, 'packages', 'container', 'src', 'host', 'main.ts');

/** Quiet, offline wrangler (TOOLCHAIN.md). */
export const QUIET_WRANGLER_ENV: Readonly<Record<string, string>> = {
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_SEND_ERROR_REPORTS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_HIDE_BANNER: 'true',
  // never read .env files or the process env into worker bindings, only what we pass
  CLOUDFLARE_INCLUDE_PROCESS_ENV: 'false',
};

export interface Command {
  command: string;
  args: string[];
}

export function wranglerBinPath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('wrangler/package.json')), 'bin', 'wrangler.js');
}

export interface WranglerDevOptions {
  /** Default: packages/worker/wrangler.jsonc (live sources, reloaded on every edit). */
  configPath?: string;
  port: number;
  inspectorPort: number;
  persistTo: string;
  /** `--env-file`: secrets for this stack only (wrangler then skips `.dev.vars`). Null: `.dev.vars`. */
  envFile: string | null;
  vars: Record<string, string>;
}

export function wranglerCommand(options: WranglerDevOptions): Command {
  const args = [
    wranglerBinPath(),
    'dev',
    '--config',
    options.configPath ?? join(WORKER_DIR, 'wrangler.jsonc'),
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--inspector-port',
    String(options.inspectorPort),
    '--persist-to',
    options.persistTo,
    '--show-interactive-dev-session=false',
  ];
  if (options.envFile) args.push('--env-file', options.envFile);
  for (const [name, value] of Object.entries(options.vars)) args.push('--var', `${name}:${value}`);
  return { command: process.execPath, args };
}

/** `node --import tsx packages/container/src/host/main.ts` */
export function hostCommand(): Command {
  return { command: process.execPath, args: ['--import', 'tsx', HOST_MAIN] };
}
