/** The machine a run happened on: every published figure carries this. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, release } from 'node:os';

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  node: string;
  os: string;
  memoryGiB: number;
  loadAverage: [number, number, number];
  gitCommit: string | null;
  /** Paths with uncommitted changes when the run started (the run measures the working tree). */
  gitUncommitted: string[];
  wrangler: string | null;
}

function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match?.[1]) return match[1].trim();
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? 'unknown';
}

function tryRun(cmd: string, args: string[]): string | null {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 20_000 }).trim();
  } catch {
    return null;
  }
}

/** `git status --porcelain` paths (each line is `XY path`; the leading status column may be a space). */
function uncommittedPaths(): string[] {
  try {
    const out = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 20_000,
    });
    return out
      .split('\n')
      .filter((l) => l.length > 3)
      .map((l) => l.slice(3));
  } catch {
    return [];
  }
}

export function currentLoad(): [number, number, number] {
  const [a, b, c] = loadavg();
  return [Math.round(a! * 100) / 100, Math.round(b! * 100) / 100, Math.round(c! * 100) / 100];
}

export function machineInfo(): MachineInfo {
  const wranglerPkg = tryRun(process.execPath, ['-p', "require('wrangler/package.json').version"]);
  return {
    nproc: cpus().length,
    cpuModel: cpuModel(),
    node: process.version,
    os: `${process.platform} ${release()}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverage: currentLoad(),
    gitCommit: tryRun('git', ['rev-parse', '--short', 'HEAD']),
    gitUncommitted: uncommittedPaths(),
    wrangler: wranglerPkg,
  };
}

export function describeMachine(m: MachineInfo): string {
  return `${m.nproc} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.os}, load average ${m.loadAverage.join(' / ')} (1/5/15 min)`;
}
