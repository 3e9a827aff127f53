import { readdirSync, readFileSync } from 'node:fs';

/**
 * Kill every process whose HOME lies under `homePrefix` (a town's data dir).
 *
 * A town container starts each agent runtime in its own process group, so killing the container's
 * group does not reach them; in production the container's whole cgroup dies with it. Locally the
 * host restores that rule after a container exits (crash, kill or sleep): every process of the
 * town — they all run with a HOME inside the town's data dir — goes too. Linux only (/proc);
 * elsewhere it finds nothing. Returns the pids it signalled.
 */
export function sweepTownProcesses(homePrefix: string, ownPid: number = process.pid): number[] {
  const prefix = homePrefix.endsWith('/') ? homePrefix : `${homePrefix}/`;
  const killed: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return killed;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === ownPid) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      continue; // gone, or not ours to read
    }
    const home = environ.split('\0').find((kv) => kv.startsWith('HOME='));
    if (!home || !`${home.slice(5)}/`.startsWith(prefix)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // already gone
    }
  }
  return killed;
}
