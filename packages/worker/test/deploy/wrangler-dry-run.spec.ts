/**
 * `wrangler deploy --dry-run` of the production config (wrangler.production.jsonc), as docs/DEPLOYMENT.md
 * tells operators to run it, and a check that what it would deploy is what the docs say: the bindings
 * table ("What a deploy contains") row for row, the container application, and the bundle (--outdir):
 * the Durable Object classes exported, no test seam, no test secret, no import outside the Workers runtime.
 *
 * Plain Node (it spawns wrangler): project `worker-deploy` (vitest.deploy.config.ts), not the workers pool.
 * Needs the dashboard built (`npm run build`, which `npm test` runs first): the config's `assets` entry.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const WORKER = fileURLToPath(new URL('../../', import.meta.url));
const REPO = join(WORKER, '../..');
const WRANGLER = join(REPO, 'node_modules/wrangler/bin/wrangler.js');
const QUIET = {
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_SEND_ERROR_REPORTS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_HIDE_BANNER: 'true',
  NO_COLOR: '1',
  CI: '1',
};

interface Row {
  binding: string;
  type: string;
  resource: string;
}

/** The "What a deploy contains" table of docs/DEPLOYMENT.md: `| binding | type | resource |` rows, backticks dropped. */
function documentedBindings(): Row[] {
  const doc = readFileSync(join(REPO, 'docs/DEPLOYMENT.md'), 'utf8');
  const section = /## What a deploy contains\n([\s\S]*?)(?=\n## )/.exec(doc)?.[1];
  if (!section) throw new SyntaxError('docs/DEPLOYMENT.md has no "## What a deploy contains" section');
  const cells = (line: string) =>
    line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim().replace(/`/g, ''));
  const lines = section.split('\n').filter((l) => l.startsWith('|'));
  const header = cells(lines[0] ?? '');
  if (header.join(',') !== 'binding,type,resource') throw new SyntaxError(`unexpected table header: ${header.join(', ')}`);
  return lines.slice(2).map((l) => {
    const [binding, type, resource] = cells(l);
    return { binding: binding!, type: type!, resource: resource! };
  });
}

/** Containers the doc names: "container application `<name>` (image …)". */
function documentedContainers(): string[] {
  const doc = readFileSync(join(REPO, 'docs/DEPLOYMENT.md'), 'utf8');
  return [...doc.matchAll(/container application `([a-z0-9-]+)`/g)].map((m) => m[1]!);
}

/** Wrangler's bindings table: `env.NAME (resource)   Type` rows. */
function printedBindings(stdout: string): Row[] {
  return stdout
    .split('\n')
    .map((line) => /^env\.([A-Z0-9_]+) \((.*)\)\s{2,}(\S.*?)\s*$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ binding: m[1]!, type: m[3]!, resource: m[2]! }));
}

describe('wrangler deploy --dry-run of wrangler.production.jsonc', () => {
  let outdir: string;
  let result: ReturnType<typeof spawnSync>;
  let stdout = '';

  beforeAll(() => {
    expect(existsSync(join(WORKER, 'dashboard/dist/index.html')), 'the dashboard is not built: run `npm run build` first').toBe(true);
    outdir = mkdtempSync(join(tmpdir(), 'gastown-deploy-'));
    result = spawnSync(process.execPath, [WRANGLER, 'deploy', '--dry-run', '--outdir', outdir, '-c', 'wrangler.production.jsonc'], {
      cwd: WORKER,
      env: { ...process.env, ...QUIET },
      encoding: 'utf8',
      timeout: 120_000,
    });
    stdout = String(result.stdout ?? '');
  }, 150_000);
  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  it('succeeds without a Cloudflare login or Docker', () => {
    expect(result.status, `${stdout}\n${String(result.stderr ?? '')}`).toBe(0);
    expect(stdout).toContain('--dry-run: exiting now.');
  });

  it('binds exactly what docs/DEPLOYMENT.md lists ("What a deploy contains")', () => {
    const sort = (rows: Row[]) => [...rows].sort((a, b) => a.binding.localeCompare(b.binding));
    expect(sort(printedBindings(stdout))).toEqual(sort(documentedBindings()));
  });

  it('declares the container application the docs name, on a registry image', () => {
    const printed = [...stdout.matchAll(/^- ([a-z0-9-]+) \((\S+)\)$/gm)];
    expect(printed.map((m) => m[1])).toEqual(documentedContainers());
    for (const m of printed) expect(m[2]).toMatch(/^registry\.cloudflare\.com\//);
  });

  it('bundles the Worker: the Durable Object classes of the config exported, no test seam, no test secret, only Workers-runtime imports', () => {
    const bundle = readFileSync(join(outdir, 'index.js'), 'utf8');
    const exported = /export \{([^}]*)\};?\s*(?:\/\/# sourceMappingURL=.*)?\s*$/.exec(bundle)?.[1] ?? '';
    const names = exported.split(',').map((s) =>
      s
        .trim()
        .split(/\s+as\s+/)
        .pop()!,
    );
    expect(names.sort()).toEqual(['RegistryDO', 'TownContainerDO', 'TownDO', 'default']);
    const imports = [...bundle.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]!);
    expect(imports.filter((s) => !s.startsWith('cloudflare:') && !s.startsWith('node:'))).toEqual([]);
    expect(bundle).not.toMatch(/cloudflare:test|worker-entry|vitest/);
    // The test bindings (vitest.config.ts) must never end up in what is deployed.
    expect(bundle).not.toMatch(/test-secret-one|test-admin-secret|test-container-key/);
  });
});
