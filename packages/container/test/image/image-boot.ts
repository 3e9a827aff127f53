/**
 * Boots a staged image (image-stage.ts) the way Cloudflare would: ENTRYPOINT + CMD from WORKDIR, as
 * the image's USER, with the image's ENV plus the boot env TownContainerDO hands over — in a network
 * namespace of its own when this machine allows it (root with `unshare` and `ip`), so the image's
 * fixed port never collides with anything on the test machine. Then it probes what the Worker and the
 * agents rely on, and stops it with SIGTERM as the platform does.
 *
 * Each failed probe is a `BootFinding` with a stable `probe` name; an empty list is a pass.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { FLAVORS } from '../../src/runtime/flavor';
import { resolveRuntimeBinary } from '../../src/runtime/binary';
import { hostPath, type Stage } from './image-stage';

export type BootProbe = 'entry' | 'ready' | 'port' | 'health' | 'plugin' | 'runtime_opencode' | 'runtime_kilo' | 'assets' | 'sigterm' | 'user';

export interface BootFinding {
  probe: BootProbe;
  message: string;
}

export interface BootOptions {
  image: Stage;
  /** The port the Worker talks to (TownContainerDO.defaultPort). */
  expectedPort: number;
  /** Env TownContainerDO hands over at boot (container key, passthrough vars, TOWN_ENV_*). */
  bootEnv: Record<string, string>;
  /** uid the agents run as (first uid of the sandbox pool): probes binaries and plugin as it. */
  agentUid: number;
  /** Pinned runtime versions, checked against `--version`. */
  runtimeVersions: { opencode: string; kilo: string };
  readyTimeoutMs?: number;
  stopTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface BootResult {
  findings: BootFinding[];
  /** What ran for real and what was approximated, for the report. */
  notes: string[];
  seconds: { ready: number | null; stop: number | null };
}

const isRoot = process.getuid?.() === 0;
const has = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;

/** `USER` → uid/gid. Numeric ids or root only: the base image's /etc/passwd is not staged. */
function userIds(user: string): { uid: number; gid: number } | null {
  const [u, g] = user.split(':');
  if (u === 'root' || u === '0') return { uid: 0, gid: Number(g ?? 0) || 0 };
  if (/^\d+$/.test(u ?? '')) return { uid: Number(u), gid: Number(g ?? u) };
  return null;
}

export async function bootImage(options: BootOptions): Promise<BootResult> {
  const { image } = options;
  const findings: BootFinding[] = [];
  const notes: string[] = [];
  const fail = (probe: BootProbe, message: string) => findings.push({ probe, message });
  const log = options.log ?? (() => undefined);

  // --- the command line: ENTRYPOINT + CMD; `node` is this machine's node, image paths mapped.
  let argv = [...image.entrypoint, ...image.cmd];
  if (argv[0] && posix.isAbsolute(argv[0]) && !(await exists(argv[0]))) {
    notes.push(`${argv[0]} (ENTRYPOINT) is not installed here: CMD ran without it`);
    argv = argv.slice(argv[1] === '--' ? 2 : 1);
  }
  argv = argv.map((word) => (word === 'node' ? process.execPath : word));
  const cwd = hostPath(image, image.workdir);
  const entry = argv.find((w) => /\.[cm]?js$|\.ts$/.test(w));
  if (!entry || !(await exists(join(cwd, entry)))) fail('entry', `CMD ${JSON.stringify(image.cmd)}: ${entry ?? 'no script'} is not in the image`);

  // Image paths the Dockerfile created (GASTOWN_DATA_DIR=/data) point into the staged root.
  const env: Record<string, string> = { PATH: `${dirname(process.execPath)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, HOME: '/root' };
  for (const [key, value] of Object.entries({ ...image.env, ...options.bootEnv })) {
    env[key] = image.createdDirs.includes(value) ? hostPath(image, value) : value;
  }
  const dataDir = env.GASTOWN_DATA_DIR;

  const ids = userIds(image.user);
  if (!ids) fail('user', `USER ${image.user}: the check knows root and numeric ids only`);
  const runAs = isRoot && ids ? ids : null;
  if (!runAs) notes.push(`not root here: ran as uid ${process.getuid?.()} instead of USER ${image.user}`);
  if (runAs && runAs.uid !== 0 && dataDir) spawnSync('chown', ['-R', `${runAs.uid}:${runAs.gid}`, dataDir]);
  if (runAs && runAs.uid !== 0) notes.push(`ran as uid ${runAs.uid}`);

  const netns = isRoot && has('unshare') && has('ip');
  if (!netns) notes.push('no network namespace (needs root, unshare and ip): the image port is bound on this machine');

  // With a network namespace, unshare starts as root and a non-root USER is applied by setpriv inside it.
  const asUser = netns && runAs && runAs.uid !== 0 ? ['setpriv', `--reuid=${runAs.uid}`, `--regid=${runAs.gid}`, '--clear-groups', '--'] : [];
  const readyStarted = performance.now();
  const child = spawn(
    netns ? 'unshare' : argv[0]!,
    netns ? ['--net', '--', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', ...asUser, ...argv] : argv.slice(1),
    {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(runAs && !netns ? { uid: runAs.uid, gid: runAs.gid } : {}),
    },
  );
  const output = collectLines(child);
  const exited = new Promise<number | null>((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : null))));

  let readySeconds: number | null = null;
  let stopSeconds: number | null = null;
  try {
    const ready = await Promise.race([
      output.waitFor((line) => line.startsWith('gastown-container listening on'), options.readyTimeoutMs ?? 30_000),
      exited.then((code) => `exited ${code}`),
    ]);
    if (!ready || ready.startsWith('exited')) {
      fail('ready', `the CMD did not print its ready line (${ready ?? 'timeout'}); output:\n${output.tail()}`);
      return { findings, notes, seconds: { ready: null, stop: null } };
    }
    readySeconds = round((performance.now() - readyStarted) / 1000);
    log(ready);

    // --- port: a LISTEN socket on 0.0.0.0:<the Worker's port>, read from the process's own netns.
    const listening = await listeningSockets(child.pid!);
    const want = `0.0.0.0:${options.expectedPort}`;
    if (!listening.includes(want)) fail('port', `expected a listener on ${want} (TownContainerDO.defaultPort); found ${listening.join(', ') || 'none'}`);
    if (!image.exposed.includes(String(options.expectedPort)))
      fail('port', `EXPOSE ${image.exposed.join(' ') || '(none)'} does not include ${options.expectedPort}`);

    // --- health over the network, from inside the namespace when there is one.
    const health = fetchInNamespace(netns ? child.pid! : null, `http://127.0.0.1:${options.expectedPort}/health`);
    if (!health.ok) fail('health', `GET /health on port ${options.expectedPort}: ${health.detail}`);

    // --- the plugin the container will hand to every agent: the path it logged, loadable by an agent uid.
    const started = output
      .lines()
      .map(parseJson)
      .find((l) => l?.msg === 'container.started');
    const pluginPath = typeof started?.pluginPath === 'string' ? started.pluginPath : null;
    if (!pluginPath) fail('plugin', 'container.started names no pluginPath');
    else {
      const loaded = runAsAgent(options.agentUid, process.execPath, [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(pluginPath)}); if (typeof m.default !== 'function' && !Object.values(m).some((v) => typeof v === 'function')) process.exit(3);`,
      ]);
      if (loaded.status !== 0) fail('plugin', `${pluginPath} does not load as uid ${options.agentUid}: ${loaded.detail}`);
      if (!pluginPath.startsWith(image.root)) fail('plugin', `${pluginPath} is outside the image`);
    }

    // --- the runtime binaries, found the way the runtime finds them (from the bundle's directory), run as an agent uid.
    const resolveFrom = entry ? dirname(join(cwd, entry)) : cwd;
    for (const kind of ['opencode', 'kilo'] as const) {
      const probe = kind === 'opencode' ? 'runtime_opencode' : 'runtime_kilo';
      let binary: string;
      try {
        binary = resolveRuntimeBinary(FLAVORS[kind], { resolveFrom });
      } catch (error) {
        fail(probe, (error as Error).message);
        continue;
      }
      if (!binary.startsWith(image.root)) fail(probe, `${binary} is outside the image`);
      const version = runAsAgent(options.agentUid, binary, ['--version']);
      if (version.status !== 0 || !version.stdout.includes(options.runtimeVersions[kind])) {
        fail(
          probe,
          `${kind} --version as uid ${options.agentUid}: status ${version.status}, "${version.stdout.trim()}" (want ${options.runtimeVersions[kind]}) ${version.detail}`,
        );
      }
    }

    // --- files the bundle finds next to itself (new URL('./x', import.meta.url)).
    if (entry) {
      const bundle = await readFile(join(cwd, entry), 'utf8').catch(() => '');
      for (const match of bundle.matchAll(/new URL\(\s*["'](\.{1,2}\/[^"']+)["']\s*,\s*import\.meta\.url\s*\)/g)) {
        const target = join(dirname(join(cwd, entry)), match[1]!);
        if (!(await exists(target))) fail('assets', `${entry} refers to ${match[1]} (new URL(…, import.meta.url)), missing from the image`);
      }
    }
  } finally {
    // --- SIGTERM, as on sleep, restart and rollout: a clean exit (0) after container.stopped.
    if (child.exitCode === null && child.signalCode === null) {
      const stopStarted = performance.now();
      child.kill('SIGTERM');
      const code = await Promise.race([exited, delay(options.stopTimeoutMs ?? 30_000).then(() => 'timeout' as const)]);
      stopSeconds = round((performance.now() - stopStarted) / 1000);
      if (code === 'timeout') {
        child.kill('SIGKILL');
        fail('sigterm', `still running ${options.stopTimeoutMs ?? 30_000} ms after SIGTERM`);
      } else if (code !== 0) fail('sigterm', `exit code ${code} after SIGTERM; output:\n${output.tail()}`);
      else if (!output.lines().some((l) => parseJson(l)?.msg === 'container.stopped')) fail('sigterm', 'exited without logging container.stopped');
    }
  }
  return { findings, notes, seconds: { ready: readySeconds, stop: stopSeconds } };
}

/** A temp HOME for the agent-uid probes, owned by that uid (binaries write caches there). */
let agentHome: string | null = null;
export async function prepareAgentHome(uid: number): Promise<string> {
  agentHome ??= await mkdtemp(join(tmpdir(), 'gastown-image-agent-'));
  await chmod(agentHome, 0o700);
  if (isRoot) spawnSync('chown', [`${uid}:${uid}`, agentHome]);
  return agentHome;
}
export async function disposeAgentHome(): Promise<void> {
  if (agentHome) await rm(agentHome, { recursive: true, force: true });
  agentHome = null;
}

function runAsAgent(uid: number, command: string, args: string[]): { status: number | null; stdout: string; detail: string } {
  const home = agentHome ?? tmpdir();
  const result = spawnSync(command, args, {
    cwd: home,
    env: {
      PATH: `${dirname(process.execPath)}:/usr/bin:/bin`,
      HOME: home,
      XDG_CONFIG_HOME: join(home, '.config'),
      XDG_DATA_HOME: join(home, '.local/share'),
      XDG_CACHE_HOME: join(home, '.cache'),
      XDG_STATE_HOME: join(home, '.local/state'),
      TMPDIR: home,
      OPENCODE_DISABLE_AUTOUPDATE: '1',
      KILO_TELEMETRY_LEVEL: 'off',
    },
    encoding: 'utf8',
    timeout: 30_000,
    ...(isRoot ? { uid, gid: uid } : {}),
  });
  return { status: result.status, stdout: result.stdout ?? '', detail: `${result.error?.message ?? ''} ${(result.stderr ?? '').slice(-400)}`.trim() };
}

function fetchInNamespace(pid: number | null, url: string): { ok: boolean; detail: string } {
  const script = `const r = await fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(5000) }); const b = await r.json(); console.log(r.status, JSON.stringify(b)); if (r.status !== 200 || b.ok !== true) process.exit(2);`;
  const args = ['--input-type=module', '-e', script];
  const result =
    pid === null
      ? spawnSync(process.execPath, args, { encoding: 'utf8' })
      : spawnSync('nsenter', [`--net=/proc/${pid}/ns/net`, '--', process.execPath, ...args], { encoding: 'utf8' });
  return { ok: result.status === 0, detail: `${result.stdout ?? ''} ${(result.stderr ?? '').slice(-400)}`.trim() };
}

/** `ip:port` of each LISTEN socket in the process's network namespace (/proc/<pid>/net/tcp, tcp6). */
async function listeningSockets(pid: number): Promise<string[]> {
  const out: string[] = [];
  for (const file of ['tcp', 'tcp6']) {
    const text = await readFile(`/proc/${pid}/net/${file}`, 'utf8').catch(() => '');
    for (const row of text.split('\n').slice(1)) {
      const cols = row.trim().split(/\s+/);
      if (cols[3] !== '0A') continue; // LISTEN
      const [hexIp, hexPort] = cols[1]!.split(':');
      const port = parseInt(hexPort!, 16);
      const ip =
        file === 'tcp'
          ? hexIp!
              .match(/../g)!
              .reverse()
              .map((b) => parseInt(b, 16))
              .join('.')
          : /^0+$/.test(hexIp!)
            ? '::'
            : hexIp!;
      out.push(`${ip}:${port}`);
    }
  }
  return out;
}

function collectLines(child: ChildProcess) {
  const lines: string[] = [];
  const waiters: Array<{ match: (line: string) => boolean; resolve: (line: string) => void }> = [];
  const feed = (stream: NodeJS.ReadableStream | null) => {
    let buffer = '';
    stream?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        lines.push(line);
        for (const waiter of waiters.splice(0)) waiter.match(line) ? waiter.resolve(line) : waiters.push(waiter);
      }
    });
  };
  feed(child.stdout);
  feed(child.stderr);
  return {
    lines: () => lines,
    tail: () => lines.slice(-30).join('\n'),
    waitFor: (match: (line: string) => boolean, timeoutMs: number) =>
      new Promise<string | null>((resolve) => {
        const found = lines.find(match);
        if (found) return resolve(found);
        waiters.push({ match, resolve });
        setTimeout(() => resolve(null), timeoutMs).unref();
      }),
  };
}

function parseJson(line: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(line);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );
const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const round = (n: number) => Math.round(n * 10) / 10;
