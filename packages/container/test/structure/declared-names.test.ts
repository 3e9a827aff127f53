/**
 * One name, one declaration: no interface, type or class name is declared twice in src/
 * (an interface lives beside the module that implements it, under a name nothing else uses).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
// a declaration is followed by its body, type parameters or heritage; `type X,` in an export list is a re-export
const DECLARATION = /^\s*(?:export\s+)?(?:declare\s+)?(?:abstract\s+)?(interface|type|class)\s+([A-Za-z_$][\w$]*)(?=\s*[=<{]|\s+(?:extends|implements)\b)/gm;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** name → where it is declared (`file: kind`). */
function declarations(files: readonly string[]): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const file of files) {
    for (const match of readFileSync(file, 'utf8').matchAll(DECLARATION)) {
      const [, kind, name] = match as unknown as [string, string, string];
      found.set(name, [...(found.get(name) ?? []), `${relative(SRC, file)}: ${kind}`]);
    }
  }
  return found;
}

describe('declared names in src/', () => {
  it('finds the declarations it checks', () => {
    const found = declarations(sourceFiles(SRC));
    expect(found.get('AgentSupervisor')).toEqual(['supervisor/agent-supervisor.ts: class']);
    expect(found.get('EventSink')).toEqual(['consumers/event-sink.ts: interface']);
  });

  it('declares no interface, type or class name twice', () => {
    const duplicates = [...declarations(sourceFiles(SRC))].filter(([, where]) => where.length > 1);
    expect(Object.fromEntries(duplicates)).toEqual({});
  });
});
