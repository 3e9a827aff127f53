/**
 * The agent's private directory: HOME, XDG_* and TMPDIR, plus a seeded runtime config dir.
 *
 * opencode npm-installs its plugin SDK into every config dir unless `node_modules/` exists and
 * `package-lock.json` lists the package; offline that stalls ~70 s and the plugin silently
 * fails to load. So both config dirs it reads ($XDG_CONFIG_HOME/<name> and ~/.config/<name>,
 * the same path here) get a package.json + package-lock.json and an empty node_modules/.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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

/** Create the directories and seed the config dir. Idempotent (a restarted agent reuses its dir). */
export async function prepareStateDir(paths: RuntimePaths, flavor: RuntimeFlavor, instructions: string): Promise<void> {
  for (const dir of [paths.home, paths.xdgDataHome, paths.xdgCacheHome, paths.xdgStateHome, paths.tmpDir, join(paths.configDir, 'node_modules')]) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  }
  for (const [name, content] of Object.entries(seedFiles(flavor))) {
    await writeFile(join(paths.configDir, name), content, { mode: 0o600 });
  }
  await writeFile(paths.instructionsFile, instructions, { mode: 0o600 });
}
