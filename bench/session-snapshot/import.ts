/**
 * What restoring a conversation costs the runtime: a real `opencode import <file>` process,
 * each in a fresh agent state dir with the env and config the container gives its runtimes
 * (runtimePaths + prepareStateDir seed files, buildRuntimeConfig, buildRuntimeEnv; the import
 * file in the agent's TMPDIR, cwd = its workdir), timed from spawn to exit. Once per size the
 * imported session is exported again and its messages counted, so a fast import that dropped
 * messages would show.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GastownError, type AgentIdentity, type SessionSnapshot } from '@gastown/protocol';
import { buildRuntimeConfig, buildRuntimeEnv, FLAVORS, prepareStateDir, resolveRuntimeBinary, runtimePaths } from '@gastown/container/runtime/index';
import { toImportFile } from '@gastown/container/session/index';
import { REPO_ROOT, requirePluginBundle } from '../lib/paths';

export interface ImportSample {
  turns: number;
  /** Size of the import file. */
  fileBytes: number;
  /** Spawn → exit of `opencode import`, per round. */
  importMs: number[];
  /** Messages the runtime exports after the first import (should equal the snapshot's). */
  messagesAfterImport: number;
}

export interface ImportRun {
  binary: string;
  /** Spawn → exit of `opencode --version` in a fresh state dir: the process start alone. */
  versionMs: number[];
  samples: ImportSample[];
}

const FLAVOR = FLAVORS.opencode;
const IMPORT_TIMEOUT_MS = 300_000;

interface ProcessResult {
  ms: number;
  code: number | null;
  stdout: string;
}

function run(binary: string, args: string[], cwd: string, env: Record<string, string>): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(binary, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.resume();
    const timer = setTimeout(() => child.kill('SIGKILL'), IMPORT_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ ms: performance.now() - started, code, stdout: Buffer.concat(out).toString('utf8') });
    });
  });
}

/** A fresh agent state dir and the env the container would start the runtime with. */
async function freshAgent(root: string, name: string, pluginPath: string): Promise<{ env: Record<string, string>; workdir: string; tmpDir: string }> {
  const dir = join(root, name);
  const workdir = join(dir, 'work');
  mkdirSync(workdir, { recursive: true });
  const paths = runtimePaths(join(dir, 'state'), FLAVOR);
  await prepareStateDir(paths, FLAVOR, 'You are the mayor of a benchmark town.');
  const agent: AgentIdentity = {
    id: `ag_${name.replace(/[^a-z0-9]/g, '')}`,
    townId: 'town_bench',
    rigId: null,
    userId: 'user-bench',
    role: 'mayor',
    name: 'mayor',
    gen: 1,
  };
  const brokerKey = randomBytes(24).toString('base64url');
  const config = buildRuntimeConfig({
    brokerUrl: 'http://127.0.0.1:9',
    brokerKey,
    providerKind: 'openai-compatible',
    model: 'fake-model',
    smallModel: 'fake-model',
    pluginPath,
    instructionFiles: [paths.instructionsFile],
  });
  const env = buildRuntimeEnv({
    flavor: FLAVOR,
    agent,
    paths,
    brokerUrl: 'http://127.0.0.1:9',
    brokerKey,
    serverPassword: randomBytes(24).toString('base64url'),
    config,
    baseEnv: process.env,
  });
  return { env, workdir, tmpDir: paths.tmpDir };
}

/**
 * Message count of a session as `opencode export <id>` writes it (JSON on stdout, after a status
 * line). Its stdout goes to a file: through a pipe the runtime exits before a large export is
 * flushed (seen at ~430 KB).
 */
async function exportedMessages(binary: string, agent: { env: Record<string, string>; workdir: string; tmpDir: string }, sessionId: string): Promise<number> {
  const file = join(agent.tmpDir, 'export.json');
  const fd = openSync(file, 'w', 0o600);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(binary, ['export', sessionId], { cwd: agent.workdir, env: agent.env, stdio: ['ignore', fd, 'ignore'] });
      child.once('error', reject);
      child.once('close', resolve);
    });
    if (code !== 0) throw new GastownError('internal', `opencode export exited with ${code}`);
  } finally {
    closeSync(fd);
  }
  const text = readFileSync(file, 'utf8');
  const parsed = JSON.parse(text.slice(text.indexOf('{'))) as { messages?: unknown[] };
  return parsed.messages?.length ?? -1;
}

export async function measureImport(snapshots: Map<number, SessionSnapshot>, rounds: number): Promise<ImportRun> {
  const pluginPath = requirePluginBundle();
  const binary = resolveRuntimeBinary(FLAVOR, { resolveFrom: `${REPO_ROOT}packages/container/src/runtime` });
  const root = mkdtempSync(join(tmpdir(), 'gt-bench-import-'));
  try {
    const versionMs: number[] = [];
    const samples = new Map<number, ImportSample>();
    const sizes = [...snapshots.keys()];
    for (let round = 0; round < rounds; round += 1) {
      const baseline = await freshAgent(root, `version-${round}`, pluginPath);
      const version = await run(binary, ['--version'], baseline.workdir, baseline.env);
      if (version.code !== 0) throw new GastownError('internal', `opencode --version exited with ${version.code}`);
      versionMs.push(version.ms);
      // rotate the order of the sizes each round
      for (const turns of sizes.map((_, i) => sizes[(i + round) % sizes.length]!)) {
        const snapshot = snapshots.get(turns)!;
        const content = toImportFile(snapshot);
        const agent = await freshAgent(root, `import-${turns}-${round}`, pluginPath);
        const file = join(agent.tmpDir, 'gastown-restore-bench.json');
        writeFileSync(file, content, { mode: 0o600 });
        const result = await run(binary, ['import', file], agent.workdir, agent.env);
        if (result.code !== 0 || !result.stdout.includes(snapshot.sessionId)) {
          throw new GastownError('internal', `opencode import of ${turns} turns exited with ${result.code}`);
        }
        let sample = samples.get(turns);
        if (!sample) {
          sample = {
            turns,
            fileBytes: Buffer.byteLength(content),
            importMs: [],
            messagesAfterImport: await exportedMessages(binary, agent, snapshot.sessionId),
          };
          samples.set(turns, sample);
        }
        sample.importMs.push(result.ms);
      }
    }
    return { binary, versionMs, samples: sizes.map((turns) => samples.get(turns)!) };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
