#!/usr/bin/env node
// Every error in source carries a code (GastownError with an ErrorCode, or a package's own typed
// error class): fails, listing file:line, when a bare `throw new Error(` appears in
//   packages/*/src/**, packages/worker/dashboard/src/**, packages/cli/bin/**
// (tests, node_modules and dist excluded). Run by `npm test` as `npm run lint`.
// Usage: node scripts/check-coded-errors.mjs [repo-root]   (no dependencies)
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(process.argv[2] ?? join(fileURLToPath(new URL('.', import.meta.url)), '..'));
const SOURCE = /\.(?:[cm]?[jt]s|tsx|jsx)$/;
const TEST_FILE = /\.(?:test|spec)\.[^.]+$/;
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'test', 'tests', '__tests__']);
const BARE_THROW = /\bthrow\s+new\s+Error\s*\(/;

function sourceRoots() {
  const roots = [join(root, 'packages', 'worker', 'dashboard', 'src'), join(root, 'packages', 'cli', 'bin')];
  const packages = join(root, 'packages');
  if (existsSync(packages)) for (const name of readdirSync(packages)) roots.push(join(packages, name, 'src'));
  return roots.filter((dir) => existsSync(dir) && statSync(dir).isDirectory());
}

function* sourceFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) yield* sourceFiles(path);
    } else if (entry.isFile() && SOURCE.test(entry.name) && !TEST_FILE.test(entry.name) && !entry.name.endsWith('.d.ts')) {
      yield path;
    }
  }
}

/** A line that is only a comment (`//`, `/*`, ` * `) documents, it does not throw. */
function isComment(line) {
  const text = line.trim();
  return text.startsWith('//') || text.startsWith('/*') || text.startsWith('*');
}

const found = [];
for (const dir of sourceRoots()) {
  for (const file of sourceFiles(dir)) {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, index) => {
      if (BARE_THROW.test(line) && !isComment(line)) found.push(`${relative(root, file)}:${index + 1}: ${line.trim()}`);
    });
  }
}

if (found.length > 0) {
  process.stderr.write(
    `check-coded-errors: ${found.length} bare \`throw new Error(\` in source; throw a typed error with a code (GastownError from @gastown/protocol, or the package's own error class):\n`,
  );
  for (const hit of found) process.stderr.write(`  ${hit}\n`);
  process.exit(1);
}
process.stdout.write('check-coded-errors: every thrown error in source has a code\n');
