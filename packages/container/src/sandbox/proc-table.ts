/**
 * Processes by uid, read from /proc: the sweep that decides when a uid may return to the pool,
 * and the kill of whatever an agent left behind. Linux only; elsewhere every list is empty.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Real, effective, saved and filesystem uid from a /proc/<pid>/status text; [] when absent. */
export function parseStatusUids(status: string): number[] {
  const match = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$/m.exec(status);
  return match ? match.slice(1, 5).map(Number) : [];
}

/** Resident set size in bytes from a /proc/<pid>/status text, or 0 (kernel threads, zombies). */
export function parseStatusRssBytes(status: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match?.[1] ? Number(match[1]) * 1024 : 0;
}

/** True for a zombie (exited, not yet reaped: it runs nothing and holds no memory) or a dead task. */
export function parseStatusExited(status: string): boolean {
  return /^State:\s+[ZX]/m.test(status);
}

export interface ProcStatus {
  pid: number;
  uids: number[];
  rssBytes: number;
}

/**
 * Every live process other than this one, with its uids. Processes that vanish mid-scan are
 * skipped, and so are zombies: a sandbox's init can wait seconds for a slow pid-1 reaper.
 */
export function listProcesses(procRoot = '/proc'): ProcStatus[] {
  let names: string[];
  try {
    names = readdirSync(procRoot);
  } catch {
    return [];
  }
  const out: ProcStatus[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    try {
      const status = readFileSync(`${procRoot}/${name}/status`, 'utf8');
      if (parseStatusExited(status)) continue;
      out.push({ pid, uids: parseStatusUids(status), rssBytes: parseStatusRssBytes(status) });
    } catch {
      // gone
    }
  }
  return out;
}

/** Pids with `uid` as any of their uids (a setuid program keeps the agent's real uid). */
export function pidsOfUid(uid: number, processes: ProcStatus[] = listProcesses()): number[] {
  return processes.filter((p) => p.uids.includes(uid)).map((p) => p.pid);
}

/** The uids in `[base, base+count)` that have at least one process. */
export function uidsWithProcesses(base: number, count: number, processes: ProcStatus[] = listProcesses()): Set<number> {
  const busy = new Set<number>();
  for (const p of processes) for (const uid of p.uids) if (uid >= base && uid < base + count) busy.add(uid);
  return busy;
}

/** Summed resident memory of every process of `uid`, in bytes. */
export function rssBytesOfUid(uid: number, processes: ProcStatus[] = listProcesses()): number {
  return processes.filter((p) => p.uids.includes(uid)).reduce((sum, p) => sum + p.rssBytes, 0);
}

/** The executable a process runs (root reads any), or null. */
export function exeOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return null;
  }
}

export function signalPids(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** True when the process's environment has HOME below `root` (an agent of that data dir); false when unreadable. */
export function homeIsBelow(pid: number, root: string): boolean {
  try {
    const prefix = `HOME=${root.endsWith('/') ? root : `${root}/`}`;
    return readFileSync(`/proc/${pid}/environ`, 'latin1')
      .split('\0')
      .some((kv) => kv.startsWith(prefix));
  } catch {
    return false;
  }
}
