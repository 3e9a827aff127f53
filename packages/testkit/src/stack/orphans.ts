/**
 * Finds processes that belong to a stack after it stopped: every process the stack starts
 * (wrangler, workerd, the host, town containers, agent runtimes and their children) carries
 * the stack's state directory in its environment — as `GASTOWN_STACK_DIR`, or inside `HOME` /
 * `GASTOWN_DATA_DIR`, which live below it. Linux only (/proc); elsewhere it finds nothing.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface StackProcess {
  pid: number;
  command: string;
}

export function findStackProcesses(stateDir: string, exclude: ReadonlySet<number> = new Set([process.pid])): StackProcess[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const needle = Buffer.from(stateDir);
  const found: StackProcess[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (exclude.has(pid)) continue;
    let environ: Buffer;
    try {
      environ = readFileSync(`/proc/${pid}/environ`);
    } catch {
      continue; // gone, or not ours to read
    }
    if (environ.indexOf(needle) < 0 || !belongsTo(environ, stateDir)) continue;
    let command = '';
    try {
      command = readFileSync(`/proc/${pid}/cmdline`).toString('utf8').replaceAll('\0', ' ').trim().slice(0, 200);
    } catch {
      // gone
    }
    if (isZombie(pid)) continue;
    found.push({ pid, command });
  }
  return found;
}

/** An env value that is the state dir or a path below it (not merely a string that starts alike). */
export function belongsTo(environ: Buffer, stateDir: string): boolean {
  for (const entry of environ.toString('utf8').split('\0')) {
    const value = entry.slice(entry.indexOf('=') + 1);
    if (value === stateDir || value.startsWith(`${stateDir}/`)) return true;
  }
  return false;
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** SIGKILL every process of the stack that is still alive; returns what it killed. */
export function killStackProcesses(stateDir: string): StackProcess[] {
  const found = findStackProcesses(stateDir);
  for (const { pid } of found) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return found;
}
