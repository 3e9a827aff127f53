/** The leak-scan command: real processes for the entry point, runCli in-process for the rest. */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, runCli } from '../../src/leak-scan/cli-core';
import { fingerprint } from '../../src/leak-scan/patterns';
import { CREDENTIAL_KINDS, mintCredentials, ORDINARY_TEXT, tempDir, type Credentials } from './support';

const CLI = fileURLToPath(new URL('../../src/leak-scan/cli.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

let c: Credentials;
const cleanups: Array<() => Promise<void>> = [];
beforeAll(async () => {
  c = await mintCredentials();
});
afterEach(async () => {
  for (const fn of cleanups.splice(0)) await fn();
});

/** `<root>/secrets.txt` and, to scan, `<root>/scan/{leaky,clean}.log`. */
async function fixture(): Promise<{ root: string; scanDir: string; secretsFile: string; leaky: string; clean: string }> {
  const d = await tempDir('cli');
  cleanups.push(d.cleanup);
  const scanDir = join(d.path, 'scan');
  await mkdir(scanDir);
  const secretsFile = join(d.path, 'secrets.txt');
  await writeFile(secretsFile, `# credentials of this run\n\n${CREDENTIAL_KINDS.map((k) => c[k]).join('\n')}\n`);
  const leaky = join(scanDir, 'leaky.log');
  await writeFile(leaky, `${ORDINARY_TEXT}\nrefreshing with ${c.refreshCredential}\n`);
  const clean = join(scanDir, 'clean.log');
  await writeFile(clean, ORDINARY_TEXT);
  return { root: d.path, scanDir, secretsFile, leaky, clean };
}

function runProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: REPO_ROOT, env: { PATH: process.env.PATH, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function inProcess(args: string[], env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { env, out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err, all: [...out, ...err].join('\n') };
}

function expectNoSecret(text: string): void {
  for (const k of CREDENTIAL_KINDS) expect(text.includes(c[k]), `output holds the ${k}`).toBe(false);
}

describe('leak-scan CLI (process)', () => {
  it('a planted secret: exit 1, one line per hit with kind, fingerprint and place, never the value', async () => {
    const f = await fixture();
    const res = await runProcess(['--secrets-file', f.secretsFile, '--file', f.leaky]);
    expect(res.code).toBe(EXIT.hits);
    expect(res.stdout.trim().split('\n').sort()).toEqual(
      [
        `LEAK refresh_credential ${fingerprint(c.refreshCredential)} file:${f.leaky} @${ORDINARY_TEXT.length + 17} x1`,
        `LEAK secret ${fingerprint(c.refreshCredential)} file:${f.leaky} @${ORDINARY_TEXT.length + 17} x1`,
      ].sort(),
    );
    expectNoSecret(res.stdout + res.stderr);
  }, 30_000);

  it('a clean directory: exit 0 and no hit lines', async () => {
    const f = await fixture();
    const res = await runProcess(['--secrets-file', f.secretsFile, '--file', f.clean, '--json']);
    expect(res.code).toBe(EXIT.clean);
    expect(JSON.parse(res.stdout)).toMatchObject({ hits: [], errors: [], scanned: { files: 1 } });
  }, 30_000);
});

describe('leak-scan CLI (runCli)', () => {
  it('--secret-env reads a secret from the environment; --dir recurses', async () => {
    const f = await fixture();
    const res = await inProcess(['--secret-env', 'PROVIDER_KEY', '--dir', f.scanDir, '--no-default-patterns'], { PROVIDER_KEY: c.refreshCredential });
    expect(res.code).toBe(EXIT.hits);
    expect(res.out).toHaveLength(1);
    expect(res.out[0]).toContain(`LEAK secret ${fingerprint(c.refreshCredential)} file:${f.leaky}`);
    expectNoSecret(res.all);
  });

  it('--pattern adds the broker-key shape', async () => {
    const f = await fixture();
    const key = `gtb_${'k'.repeat(43)}`;
    await writeFile(f.clean, `agent env GASTOWN_AGENT_KEY=${key}`);
    const res = await inProcess(['--pattern', 'broker_key', '--file', f.clean]);
    expect(res.code).toBe(EXIT.hits);
    expect(res.out).toEqual([`LEAK broker_key ${fingerprint(key)} file:${f.clean} @28 x1`]);
  });

  it.each([
    { name: 'no arguments', args: [] as string[] },
    { name: 'an unknown option', args: ['--frobnicate'] },
    { name: 'nowhere to look', args: ['--pattern', 'jwt'] },
    { name: 'an unknown pattern', args: ['--pattern', 'nope', '--dir', '.'] },
    { name: 'a pid that is not a number', args: ['--pattern', 'jwt', '--pid', '12x'] },
    { name: 'a missing secret env var', args: ['--secret-env', 'NOT_SET_ANYWHERE', '--dir', '.'] },
  ])('usage error ($name): exit 2 with a usage message', async ({ args }) => {
    const res = await inProcess(args);
    expect(res.code).toBe(EXIT.usage);
    expect(res.err.join('\n')).not.toBe('');
  });

  it('a secret too short to search for: exit 2, the message names its line, never its value', async () => {
    const f = await fixture();
    await writeFile(f.secretsFile, `${c.containerKey}\nshort1\n`);
    const res = await inProcess(['--secrets-file', f.secretsFile, '--file', f.clean]);
    expect(res.code).toBe(EXIT.usage);
    expect(res.err).toEqual(['secret #2 is shorter than 8 characters']);
  });

  it('a place that cannot be read: exit 3 and an UNSCANNED line', async () => {
    const f = await fixture();
    const res = await inProcess(['--secrets-file', f.secretsFile, '--dir', join(f.root, 'missing')]);
    expect(res.code).toBe(EXIT.incomplete);
    expect(res.err[0]).toBe(`UNSCANNED ENOENT file:${join(f.root, 'missing')}`);
  });
});
