/**
 * The agent's private directory: HOME, XDG_* and TMPDIR, plus a seeded runtime config dir.
 *
 * opencode npm-installs its plugin SDK into every config dir unless `node_modules/` exists and
 * `package-lock.json` lists the package; offline that stalls ~70 s and the plugin silently
 * fails to load. So both config dirs it reads ($XDG_CONFIG_HOME/<name> and ~/.config/<name>,
 * the same path here) get a package.json + package-lock.json and an empty node_modules/.
 */
import { constants } from 'node:fs';
import { lstat, mkdir, rm, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { RuntimeFlavor } from './flavor';

export interface RuntimePaths {
  stateDir: string;
  home: string;
  xdgConfigHome: string;
  xdgDataHome: string;
  xdgCacheHome: string;
  xdgStateHome: string;
  tmpDir: string;
  /** The runtime's global config dir ($XDG_CONFIG_HOME/<name>). */
  configDir: string;
  /** Where the agent's instructions are written. */
  instructionsFile: string;
}

export function runtimePaths(stateDir: string, flavor: RuntimeFlavor): RuntimePaths {
  const home = join(stateDir, 'home');
  const xdgConfigHome = join(home, '.config');
  return {
    stateDir,
    home,
    xdgConfigHome,
    xdgDataHome: join(home, '.local', 'share'),
    xdgCacheHome: join(home, '.cache'),
    xdgStateHome: join(home, '.local', 'state'),
    tmpDir: join(stateDir, 'tmp'),
    configDir: join(xdgConfigHome, flavor.configDirName),
    instructionsFile: join(stateDir, 'instructions.md'),
  };
}

/** Seed files that make the runtime consider its plugin SDK installed. */
export function seedFiles(flavor: RuntimeFlavor): Record<string, string> {
  const dependencies = { [flavor.pluginPackage]: flavor.pluginPackageVersion };
  const lock = {
    name: flavor.configDirName,
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { dependencies },
      [`node_modules/${flavor.pluginPackage}`]: { version: flavor.pluginPackageVersion },
    },
  };
  return {
    'package.json': `${JSON.stringify({ dependencies }, null, 2)}\n`,
    'package-lock.json': `${JSON.stringify(lock, null, 2)}\n`,
  };
}

/** Open flags for a seed file: never through a symlink an agent planted in its home. */
const WRITE_NOFOLLOW = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;

/**
 * `dir` below `base` as real directories all the way down: a symlink or file where a dir
 * belongs (an agent's home is its own to change between runs) is removed first, so nothing
 * written here as root lands outside the state dir.
 */
async function realDir(base: string, dir: string): Promise<void> {
  let current = base;
  for (const part of relative(base, dir).split(sep).filter(Boolean)) {
    current = join(current, part);
    const stats = await lstat(current).catch(() => null);
    if (stats?.isDirectory()) continue;
    if (stats) await rm(current, { recursive: true, force: true });
    await mkdir(current, { mode: 0o700 });
  }
}

/** Create the directories and seed the config dir. Idempotent (a restarted agent reuses its dir). */
export async function prepareStateDir(paths: RuntimePaths, flavor: RuntimeFlavor, instructions: string): Promise<void> {
  await mkdir(paths.stateDir, { recursive: true, mode: 0o700 });
  for (const dir of [paths.home, paths.xdgDataHome, paths.xdgCacheHome, paths.xdgStateHome, paths.tmpDir, join(paths.configDir, 'node_modules')]) {
    await realDir(paths.stateDir, dir);
  }
  for (const [name, content] of Object.entries(seedFiles(flavor))) {
    await writeFresh(join(paths.configDir, name), content);
  }
  await writeFresh(paths.instructionsFile, instructions);
}

async function writeFresh(path: string, content: string): Promise<void> {
  const stats = await lstat(path).catch(() => null);
  if (stats && !stats.isFile()) await rm(path, { recursive: true, force: true });
  await writeFile(path, content, { mode: 0o600, flag: WRITE_NOFOLLOW });
}
