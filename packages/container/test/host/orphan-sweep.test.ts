import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sweepTownProcesses } from '../../src/host/orphan-sweep';

const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

function sleeper(home: string): number {
  // its own process group, as an agent runtime is: killing a parent's group does not reach it
  const child = spawn('sleep', ['60'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home }, detached: true, stdio: 'ignore' });
  child.unref();
  started.push(child.pid!);
  return child.pid!;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
  return !alive(pid);
}

describe('sweepTownProcesses', () => {
  it.skipIf(process.platform !== 'linux')('kills the processes whose HOME is inside the town dir, and only those', async () => {
    const root = mkdtempSync(join(tmpdir(), 'gt-sweep-'));
    const town = join(root, 'towns', 'town_aaaaaaaa');
    const inside = sleeper(join(town, 'agent-state', 'ag_1', 'home'));
    const sibling = sleeper(join(root, 'towns', 'town_aaaaaaaab', 'home')); // same prefix text, other town
    const outside = sleeper(join(root, 'elsewhere'));
    await new Promise((r) => setTimeout(r, 100)); // let exec replace the environment

    const killed = sweepTownProcesses(town);
    expect(killed).toContain(inside);
    expect(killed).not.toContain(sibling);
    expect(killed).not.toContain(outside);
    expect(await waitGone(inside)).toBe(true);
    expect(alive(sibling)).toBe(true);
    expect(alive(outside)).toBe(true);
  });
});
