/**
 * The container image's contract, checked without Docker: packages/container/Dockerfile must agree
 * with the container's own config, the worker's production container binding and the repository
 * (what it copies exists and is not dropped by .dockerignore), keep what the sandbox needs
 * (bubblewrap, root to hand each agent run a uid of its own — docs/SECURITY.md "Containment"),
 * and the build context must leave out node_modules, .git and every .dev.vars.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PLUGIN_PATH, loadConfig, loadSandboxConfig } from '../../src/config';
import { commandWords, copyOf, envEntries, parseDockerfile, type Instruction } from './dockerfile';
import { isIgnored, parseDockerignore } from './dockerignore';
import { parseJsonc } from './jsonc';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const read = (path: string) => readFileSync(join(REPO, path), 'utf8');

const instructions = parseDockerfile(read('packages/container/Dockerfile'));
const ignoreRules = parseDockerignore(read('.dockerignore'));
const all = (keyword: string) => instructions.filter((i) => i.keyword === keyword);
const last = (keyword: string): Instruction => {
  const found = all(keyword);
  expect(found, `the Dockerfile has no ${keyword}`).not.toHaveLength(0);
  return found[found.length - 1]!;
};

const imageEnv = Object.fromEntries(all('ENV').flatMap((i) => envEntries(i.args)));
const exposedPorts = all('EXPOSE').flatMap((i) => commandWords(i.args).map((p) => p.replace(/\/tcp$/, '')));
const workdir = last('WORKDIR').args;

/** Stage names (`FROM … AS name`), in order. */
const stageNames = all('FROM').map((i) => /\sAS\s+(\S+)/i.exec(i.args)?.[1] ?? null);

/** A COPY source with where it lands in the image (absolute). `from`: the stage it comes from (null: the build context). */
interface ImageCopy {
  source: string;
  target: string;
  isDir: boolean;
  flags: string[];
  line: number;
  from: string | null;
}

const copies = all('COPY').flatMap((instruction): ImageCopy[] => {
  const copy = copyOf(instruction);
  const from = copy.flags.find((f) => f.startsWith('--from='))?.slice('--from='.length) ?? null;
  if (from !== null) {
    return copy.sources.map((source) => ({
      source: posix.relative(workdir, posix.resolve(workdir, source)),
      target: posix.resolve(workdir, copy.dest),
      isDir: true,
      flags: copy.flags,
      line: copy.line,
      from,
    }));
  }
  return copy.sources.map((source) => {
    const isDir = existsSync(join(REPO, source)) && statSync(join(REPO, source)).isDirectory();
    const dest = posix.resolve(workdir, copy.dest);
    const target = !isDir && (copy.dest.endsWith('/') || copy.sources.length > 1) ? posix.join(dest, basename(source)) : dest;
    return { source, target, isDir, flags: copy.flags, line: copy.line, from };
  });
});

/** The repository file an image path comes from, through the COPY instructions (null: not copied). */
function repoPathOf(imagePath: string): string | null {
  for (const copy of copies) {
    if (imagePath === copy.target) return copy.source;
    if (copy.isDir && imagePath.startsWith(`${copy.target}/`)) return posix.join(copy.source, imagePath.slice(copy.target.length + 1));
  }
  return null;
}

/** Every file under a repository directory, minus what is never copied anyway (deps, build output). */
function filesUnder(dir: string): string[] {
  return readdirSync(join(REPO, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = posix.join(dir, entry.name);
    if (entry.isDirectory()) return ['node_modules', 'dist'].includes(entry.name) ? [] : filesUnder(path);
    return [path];
  });
}

/** CONTAINER_PORT of the worker's TownContainerDO, read from source (the module needs the Workers runtime). */
function townContainerDefaultPort(): number {
  const source = read('packages/worker/src/town/container/town-container-do.ts');
  expect(source, 'TownContainerDO must take its defaultPort from CONTAINER_PORT').toMatch(/\bdefaultPort\s*=\s*CONTAINER_PORT\b/);
  const port = /export const CONTAINER_PORT\s*=\s*(\d+)\s*;/.exec(source);
  expect(port, 'town-container-do.ts must export CONTAINER_PORT as a number literal').not.toBeNull();
  return Number(port![1]);
}

describe('container image: ports', () => {
  it('exposes exactly one port, the CONTAINER_PORT it sets', () => {
    expect(exposedPorts).toEqual([imageEnv.CONTAINER_PORT]);
  });

  it("the container's config, read from the image's ENV, listens on the exposed port", () => {
    const config = loadConfig({ ...imageEnv, GASTOWN_CONTAINER_KEY: 'k'.repeat(32) }, { randomInstanceId: () => 'contract' });
    expect(String(config.port)).toBe(exposedPorts[0]);
    expect(() => loadSandboxConfig(imageEnv)).not.toThrow();
  });

  it("the production Worker's TownContainerDO (the class the containers entry binds) talks to the exposed port", () => {
    const prod = parseJsonc(read('packages/worker/wrangler.production.jsonc')) as { containers?: Array<Record<string, unknown>> };
    const entry = prod.containers?.find((c) => c.class_name === 'TownContainerDO');
    expect(entry, 'wrangler.production.jsonc has no containers entry for TownContainerDO').toBeDefined();
    // Wrangler's containers entry has no port setting today; should one appear, it must agree too.
    for (const [key, value] of Object.entries(entry!)) if (/port/i.test(key)) expect(String(value), `containers[].${key}`).toBe(exposedPorts[0]);
    expect(String(townContainerDefaultPort())).toBe(exposedPorts[0]);
  });
});

describe('container image: files', () => {
  it('every COPY --from names an earlier build stage and keeps the path it was built at (the layout mirrors the repository)', () => {
    for (const copy of copies.filter((c) => c.from !== null)) {
      expect(stageNames, `line ${copy.line}: COPY --from=${copy.from}: no stage of that name`).toContain(copy.from);
      expect(copy.target, `line ${copy.line}: ${copy.source}`).toBe(posix.join(workdir, copy.source));
    }
  });

  it('every COPY source exists in the repository, is not excluded by .dockerignore, and lands at the same path under WORKDIR', () => {
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies.filter((c) => c.from === null)) {
      expect(existsSync(join(REPO, copy.source)), `line ${copy.line}: ${copy.source} does not exist`).toBe(true);
      expect(isIgnored(ignoreRules, copy.source), `line ${copy.line}: ${copy.source} is excluded by .dockerignore`).toBe(false);
      // src/config.ts finds the plugin bundle by a path relative to itself: the layout must mirror the repo.
      expect(copy.target, `line ${copy.line}: ${copy.source}`).toBe(posix.join(workdir, copy.source));
    }
  });

  it('no file inside a copied directory is dropped by .dockerignore', () => {
    const dropped = copies.filter((c) => c.isDir && c.from === null).flatMap((c) => filesUnder(c.source).filter((f) => isIgnored(ignoreRules, f)));
    expect(dropped).toEqual([]);
  });

  it("the CMD's entry is compiled JavaScript, built by its package's build script in the stage it is copied from", () => {
    const words = commandWords(last('CMD').args);
    const entry = words.find((w) => /\.[cm]?[jt]s$/.test(w));
    expect(entry, `CMD ${JSON.stringify(words)} names no script`).toBeDefined();
    expect(entry, 'the image runs JavaScript, not TypeScript through a loader').toMatch(/\.m?js$/);
    const image = posix.resolve(workdir, entry!);
    // The last COPY that covers the path wins, as in the image's final stage.
    const copy = copies.filter((c) => c.isDir && image.startsWith(`${c.target}/`)).pop();
    expect(copy?.from, `${entry} is not under a COPY --from a build stage`).toBeTruthy();
    const pkgDir = /^(packages\/[^/]+)\/dist$/.exec(copy!.source)?.[1];
    expect(pkgDir, `${copy!.source} is not a package's dist/`).toBeDefined();
    const pkg = JSON.parse(read(`${pkgDir}/package.json`)) as { name: string; scripts?: Record<string, string> };
    expect(pkg.scripts?.build, `${pkg.name} has no build script`).toBeDefined();
    const stageStart = instructions.findIndex((i) => i.keyword === 'FROM' && new RegExp(`\\sAS\\s+${copy!.from}$`, 'i').test(i.args));
    const stageEnd = instructions.findIndex((i, n) => n > stageStart && i.keyword === 'FROM');
    const stage = instructions.slice(stageStart, stageEnd < 0 ? undefined : stageEnd);
    expect(
      stage.some((i) => i.keyword === 'RUN' && i.args.includes(`npm run build -w ${pkg.name}`)),
      `stage ${copy!.from} never runs npm run build -w ${pkg.name}`,
    ).toBe(true);
    expect(
      stage.some((i) => i.keyword === 'COPY' && copyOf(i).sources.includes(pkgDir!)),
      `stage ${copy!.from} does not copy ${pkgDir}`,
    ).toBe(true);
  });

  it('every stage runs a supported Node LTS, the same one (Node 20 reached its end of life in April 2026)', () => {
    const bases = all('FROM').map((i) => i.args.split(/\s+/)[0]!);
    for (const base of bases) expect(base, 'FROM').toMatch(/^node:(?:22|24)-[a-z]+-slim$/);
    expect(new Set(bases).size, `stages use different bases: ${bases.join(', ')}`).toBe(1);
  });

  it('the --import loader of the CMD is installed: a root dependency, installed before NODE_ENV=production', () => {
    const words = commandWords(last('CMD').args);
    const loader = words[words.indexOf('--import') + 1];
    if (!words.includes('--import') || !loader) return;
    const root = JSON.parse(read('package.json')) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
    const isDevDependency = Boolean(root.devDependencies?.[loader]);
    expect(isDevDependency || Boolean(root.dependencies?.[loader]), `${loader} is not a root dependency`).toBe(true);
    const install = instructions.findIndex((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
    expect(install, 'no `npm ci` in the Dockerfile').toBeGreaterThanOrEqual(0);
    expect(instructions[install]!.args).toContain('--include-workspace-root');
    if (isDevDependency) {
      const production = instructions.findIndex((i) => i.keyword === 'ENV' && envEntries(i.args).some(([k, v]) => k === 'NODE_ENV' && v === 'production'));
      expect(production === -1 || production > install, 'NODE_ENV=production before `npm ci` would leave out the dev dependency ' + loader).toBe(true);
    }
  });

  it('the plugin bundle the container loads by default is built in the image', () => {
    const pluginPath = posix.join(workdir, relative(REPO, DEFAULT_PLUGIN_PATH).split('\\').join('/'));
    expect(pluginPath).toBe(posix.join(workdir, 'packages/plugin/dist/gastown-plugin.js'));
    expect(repoPathOf(posix.join(workdir, 'packages/plugin/build.mjs')), 'packages/plugin is not copied').not.toBeNull();
    expect(all('RUN').some((i) => /npm run build -w @gastown\/plugin\b/.test(i.args))).toBe(true);
  });
});

describe('container image: runtime', () => {
  const installed = all('RUN')
    .filter((i) => /\bapt-get install\b/.test(i.args))
    .flatMap((i) => i.args.split(/\s+/));

  it('installs bubblewrap (the agent sandbox), git and tini (the ENTRYPOINT)', () => {
    expect(installed).toEqual(expect.arrayContaining(['bubblewrap', 'git', 'tini']));
    expect(commandWords(last('ENTRYPOINT').args)[0]).toBe('/usr/bin/tini');
  });

  it('GASTOWN_DATA_DIR is absolute and created in the image', () => {
    const dataDir = imageEnv.GASTOWN_DATA_DIR;
    expect(dataDir && isAbsolute(dataDir), `GASTOWN_DATA_DIR=${dataDir}`).toBe(true);
    expect(all('RUN').some((i) => i.args.includes(`mkdir -p ${dataDir}`))).toBe(true);
  });

  it('never switches to a non-root USER: the control server drops privileges per agent run itself', () => {
    for (const user of all('USER')) expect(user.args.split(':')[0], `line ${user.line}: USER ${user.args}`).toMatch(/^(?:root|0)$/);
  });
});

describe('.dockerignore', () => {
  it('keeps dependencies, git history and secrets out of the build context', () => {
    for (const path of [
      'node_modules',
      'packages/container/node_modules',
      'packages/worker/dashboard/node_modules',
      '.git',
      '.dev.vars',
      'packages/worker/.dev.vars',
    ]) {
      expect(isIgnored(ignoreRules, path), path).toBe(true);
    }
  });

  it('the matcher follows Docker: parents match, `**` spans directories, `!` re-includes, last rule wins', () => {
    const rules = parseDockerignore('# comment\n/docs\n**/*.log\nbuild/**\n!build/keep\n');
    expect(isIgnored(rules, 'docs/API.md')).toBe(true);
    expect(isIgnored(rules, 'packages/docs')).toBe(false);
    expect(isIgnored(rules, 'a.log')).toBe(true);
    expect(isIgnored(rules, 'a/b/c.log')).toBe(true);
    expect(isIgnored(rules, 'build/x')).toBe(true);
    expect(isIgnored(rules, 'build/keep')).toBe(false);
  });
});
