import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { AgentRoleSchema, ROLE_TOOLS } from '@gastown/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const buildScript = fileURLToPath(new URL('../build.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'gt-plugin-bundle-'));
const outfile = join(dir, 'gastown-plugin.js');

beforeAll(async () => {
  await run(process.execPath, [buildScript, '--outfile', outfile]);
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Load the bundle in a fresh Node process with only the given env (no module cache, no inherited env). */
async function loadIn(env: Record<string, string>): Promise<{ exports: string[]; tools: string[] } | { error: string }> {
  const code = `import(${JSON.stringify(pathToFileURL(outfile).href)}).then(async (m) => {
    try { const p = await m.GastownPlugin({}); console.log(JSON.stringify({ exports: Object.keys(m), tools: Object.keys(p.tool) })); }
    catch (e) { console.log(JSON.stringify({ error: e.code })); }
  })`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], { env: { PATH: process.env.PATH ?? '', ...env } });
  return JSON.parse(stdout);
}

describe('bundle', () => {
  it('is one ESM file that imports nothing but node: builtins', () => {
    const text = readFileSync(outfile, 'utf8');
    const imports = [...text.matchAll(/^import .* from ["']([^"']+)["'];?$/gm)].map((m) => m[1]);
    expect(imports.filter((spec) => !spec!.startsWith('node:'))).toEqual([]);
    expect(text).not.toMatch(/\brequire\(["'](zod|@gastown)/);
  });

  it.each(AgentRoleSchema.options.map((role) => ({ name: role, role })))(
    '$name: exports only the plugin function and registers exactly the tools the protocol allows the role',
    async ({ role }) => {
      expect(await loadIn({ GASTOWN_AGENT_ROLE: role })).toEqual({ exports: ['GastownPlugin'], tools: ROLE_TOOLS[role].map((tool) => `gt_${tool}`) });
    },
  );

  it('fails to load with a typed error when the role is missing', async () => {
    expect(await loadIn({})).toEqual({ error: 'validation_failed' });
  });
});
