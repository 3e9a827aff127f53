/** Every `*.log` file below a stack's state dir: process logs and the agents' own runtime logs. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

export function collectLogFiles(dir: string, out: string[] = []): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) collectLogFiles(path, out);
    else if (entry.isFile() && entry.name.endsWith('.log')) out.push(path);
  }
  return out;
}
