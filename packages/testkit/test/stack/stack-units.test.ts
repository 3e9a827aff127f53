import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseJsonc } from '../../src/stack/frozen-worker';
import { WORKER_DIR } from '../../src/stack/commands';
import { formatEnvFile, generateStackKeys, parseEnvFile, secretValues, StackKeysSchema, workerSecrets } from '../../src/stack/keys';
import { branchContains, commitsOn, createRigRepo, filesOn } from '../../src/stack/git-fixture';
import { findStackProcesses } from '../../src/stack/orphans';

describe('stack keys', () => {
  it('generates one 48-byte key, an admin secret ≥ 32 chars and a container key, from the injected randomness', () => {
    let n = 0;
    const bytes = (size: number) => Uint8Array.from({ length: size }, () => n++ % 256);
    const keys = generateStackKeys(bytes, new Date('2026-04-26T00:00:00Z'));
    expect(StackKeysSchema.safeParse(keys).success).toBe(true);
    expect(Object.keys(keys.jwtKeys)).toEqual([keys.activeKid]);
    expect(keys.activeKid).toMatch(/^k20260426-[0-9a-f]{8}$/);
    expect(Buffer.from(keys.jwtKeys[keys.activeKid]!, 'base64url')).toHaveLength(48);
    expect(keys.adminSecret.length).toBeGreaterThanOrEqual(32);
    expect(secretValues(keys)).toHaveLength(3);
  });

  it('round-trips worker secrets through a .dev.vars / env file (JSON keyring survives quoting)', () => {
    const keys = generateStackKeys();
    const vars = workerSecrets(keys);
    expect(parseEnvFile(formatEnvFile(vars, 'header\nline two'))).toEqual(vars);
    expect(JSON.parse(vars.GASTOWN_JWT_KEYS!)).toEqual(keys.jwtKeys);
  });

  it('refuses values a dotenv file cannot hold', () => {
    expect(() => formatEnvFile({ A: "it's" })).toThrow(/quote/);
    expect(() => formatEnvFile({ 'BAD-NAME': 'x' })).toThrow(/name/);
  });
});

describe('git fixture', () => {
  it('creates a bare rig repository with one commit on main', () => {
    const repo = createRigRepo(mkdtempSync(join(tmpdir(), 'rig-')), 'r1');
    expect(commitsOn(repo.path, 'main').map((c) => c.sha)).toEqual([repo.initialCommit]);
    expect(filesOn(repo.path, 'main')).toEqual(['README.md']);
    expect(branchContains(repo.path, 'main', repo.initialCommit)).toBe(true);
    expect(branchContains(repo.path, 'main', 'f'.repeat(40))).toBe(false);
  });
});

describe('orphan finder', () => {
  it('finds a process by the state dir in its environment', async () => {
    const { spawn } = await import('node:child_process');
    const dir = mkdtempSync(join(tmpdir(), 'orphan-'));
    const child = spawn('sleep', ['30'], { env: { PATH: process.env.PATH, GASTOWN_STACK_DIR: dir }, stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 100));
      expect(findStackProcesses(dir).map((p) => p.pid)).toEqual([child.pid]);
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((r) => child.once('exit', r));
    expect(findStackProcesses(dir)).toEqual([]);
  });
});

describe('wrangler config (JSONC)', () => {
  it('drops comments and trailing commas, keeps strings with comment-like text', () => {
    const text = `{
      // a comment
      "main": "src/index.ts", /* block
      comment */ "url": "http://x//y", "s": "a \\"quoted\\" /* not a comment */",
      "list": [1, 2,],
    }`;
    expect(parseJsonc(text)).toEqual({ main: 'src/index.ts', url: 'http://x//y', s: 'a "quoted" /* not a comment */', list: [1, 2] });
  });

  it("reads the worker's own wrangler.jsonc (what the frozen worker copies)", () => {
    const config = parseJsonc(readFileSync(join(WORKER_DIR, 'wrangler.jsonc'), 'utf8')) as { main?: string; durable_objects?: { bindings?: unknown[] } };
    expect(config.main).toBe('src/index.ts');
    expect(config.durable_objects?.bindings?.length).toBeGreaterThanOrEqual(2);
  });
});
