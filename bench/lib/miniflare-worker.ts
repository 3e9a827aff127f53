/**
 * The bench worker under Miniflare (the workerd that `wrangler dev` runs, without wrangler's
 * Node proxy in front): same snapshot bundle, same bindings, vars and secrets as the worker's
 * wrangler.jsonc + the stack's keys, Durable Objects on SQLite on disk. Used where wrangler's
 * dev proxy gets in the way of long setup requests (the alarm benchmark).
 */
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Miniflare } from 'miniflare';
import { generateStackKeys, workerSecrets } from '@gastown/testkit/stack/keys';
import { WORKER_DIR } from '@gastown/testkit/stack/commands';
import { bundleEntry, stripJsonComments, type BenchWorker } from './wrangler-dev';

interface WranglerConfig {
  compatibility_date: string;
  compatibility_flags?: string[];
  durable_objects: { bindings: Array<{ name: string; class_name: string }> };
  vars?: Record<string, string>;
}

export async function startMiniflareWorker(options: { entry: string; vars?: Record<string, string> }): Promise<BenchWorker> {
  const stateDir = mkdtempSync(join(tmpdir(), 'gt-bench-mf-'));
  const logFile = join(tmpdir(), 'gastown-bench-miniflare.last.log');
  writeFileSync(logFile, '');
  const keys = generateStackKeys();
  const config = JSON.parse(stripJsonComments(readFileSync(join(WORKER_DIR, 'wrangler.jsonc'), 'utf8'))) as WranglerConfig;
  const scriptPath = await bundleEntry(options.entry, join(stateDir, 'bundle'));
  const mf = new Miniflare({
    modules: [{ type: 'ESModule', path: scriptPath }],
    modulesRoot: join(stateDir, 'bundle'),
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags ?? [],
    durableObjects: Object.fromEntries(config.durable_objects.bindings.map((b) => [b.name, { className: b.class_name, useSQLite: true }])),
    durableObjectsPersist: join(stateDir, 'do'),
    bindings: { ...(config.vars ?? {}), ...workerSecrets(keys), ...(options.vars ?? {}) },
    host: '127.0.0.1',
    port: 0,
    // the worker's console lines and workerd's own output go to a log file, not the bench table
    handleRuntimeStdio(stdout: Readable, stderr: Readable) {
      const log = createWriteStream(logFile, { flags: 'a' });
      stdout.pipe(log, { end: false });
      stderr.pipe(log, { end: false });
    },
  });
  const url = (await mf.ready).href.replace(/\/$/, '');
  return {
    url,
    keys,
    adminSecret: keys.adminSecret,
    logFile,
    pid: process.pid,
    async stop() {
      await mf.dispose();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
