import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CONTAINER_KEY_HEADER } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const KEY = 'process-test-container-key-0123456789';
const TOWN_SECRET = 'sk-process-test-secret-0123456789';

describe('main.ts as a process', () => {
  it('prints the ready line, serves /health, and exits 0 on SIGTERM', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'gastown-main-test-'));
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      cwd: fileURLToPath(new URL('../../', import.meta.url)),
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        CONTAINER_PORT: '0',
        GASTOWN_BIND_LOOPBACK: '1',
        GASTOWN_CONTAINER_KEY: KEY,
        GASTOWN_DATA_DIR: dataDir,
        GASTOWN_INSTANCE_ID: 'ci_proc',
        TOWN_ENV_OPENAI_API_KEY: TOWN_SECRET,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ready line; output: ${output}`)), 20_000);
        createInterface({ input: child.stdout }).on('line', (line) => {
          output += `${line}\n`;
          const m = /^gastown-container listening on (\S+) instance ci_proc$/.exec(line);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
        void exited.then((code) => reject(new Error(`exited early (${code}): ${output}`)));
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await (await fetch(`${url}/health`)).json()).toMatchObject({ ok: true, instanceId: 'ci_proc', agents: 0 });
      expect((await fetch(`${url}/agents`)).status).toBe(401);
      expect((await fetch(`${url}/agents`, { headers: { [CONTAINER_KEY_HEADER]: KEY } })).status).toBe(200);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(output).toContain('container.stopped');
      expect(output).not.toContain(TOWN_SECRET);
      expect(output).not.toContain(KEY);
    } finally {
      child.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 30_000);

  it('fails fast with exit 1 and names the bad variable', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', CONTAINER_PORT: 'nope' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code).toBe(1);
    expect(stderr).toContain('config_invalid');
    expect(stderr).toContain('GASTOWN_CONTAINER_KEY');
    expect(stderr).toContain('CONTAINER_PORT');
  }, 30_000);
});
