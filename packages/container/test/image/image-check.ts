/**
 * The image contract check without Docker, end to end: stage packages/container/Dockerfile
 * (image-stage.ts), boot its CMD with the boot env of the production TownContainerDO
 * (image-boot.ts), and list the packages the image holds. Used by image-boot.test.ts (in `npm test`)
 * and by scripts/image-contract-check.ts (by hand, e.g. against a changed Dockerfile).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deriveTownContainerKey, TOWN_ENV_PREFIX } from '@gastown/protocol';
import { loadSandboxConfig } from '../../src/config';
import { FLAVORS } from '../../src/runtime/flavor';
import { bootImage, disposeAgentHome, prepareAgentHome, type BootResult } from './image-boot';
import { hostPath, stageImage, type InstallCache, type Stage, type StagedImage } from './image-stage';
import { parseJsonc } from './jsonc';

export const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
export const readRepo = (path: string) => readFile(join(REPO, path), 'utf8');

/** The Worker's side of the contract, read from source (the modules need the Workers runtime). */
export async function workerContract(): Promise<{ port: number; bootEnv: Record<string, string> }> {
  const source = await readRepo('packages/worker/src/town/container/town-container-do.ts');
  const port = /export const CONTAINER_PORT\s*=\s*(\d+)\s*;/.exec(source);
  const passthrough = /export const CONTAINER_PASSTHROUGH_VARS\s*=\s*\[([^\]]*)\]/.exec(source);
  if (!port || !passthrough) throw new SyntaxError('town-container-do.ts: CONTAINER_PORT or CONTAINER_PASSTHROUGH_VARS not found');
  const prod = parseJsonc(await readRepo('packages/worker/wrangler.production.jsonc')) as { vars?: Record<string, string> };
  const bootEnv: Record<string, string> = {};
  for (const name of passthrough[1]!.match(/[A-Z0-9_]+/g) ?? []) {
    const value = prod.vars?.[name];
    if (value) bootEnv[name] = value;
  }
  // What bootEnv() adds: the town's derived key and one TOWN_ENV_ var per town env var.
  bootEnv.GASTOWN_CONTAINER_KEY = await deriveTownContainerKey('image-check-deployment-key-0123456789', 'town_image_check');
  bootEnv[`${TOWN_ENV_PREFIX}OPENAI_API_KEY`] = 'sk-image-check-not-a-key';
  return { port: Number(port[1]), bootEnv };
}

export interface ImageCheckOptions {
  dockerfile?: string;
  installCache?: InstallCache;
  log?: (line: string) => void;
}

export interface ImageCheck {
  staged: StagedImage;
  boot: BootResult;
  /** Lockfile keys (`node_modules/x`, `packages/container/node_modules/y`) installed in the image. */
  installed: string[];
}

/** Stage, boot, list. The caller disposes `staged`. A stage error (a COPY of a missing path …) throws ImageStageError. */
export async function runImageCheck(options: ImageCheckOptions = {}): Promise<ImageCheck> {
  const staged = await stageImage({
    contextDir: REPO,
    dockerfile: options.dockerfile ?? (await readRepo('packages/container/Dockerfile')),
    dockerignore: await readRepo('.dockerignore'),
    ...(options.installCache ? { installCache: options.installCache } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  try {
    const { port, bootEnv } = await workerContract();
    const { dependencies } = JSON.parse(await readRepo('packages/container/package.json')) as { dependencies: Record<string, string> };
    // An agent uid of the image's pool (loadSandboxConfig's defaults unless the image sets them): the
    // pool's last one, which other tests' sandboxes (leasing from the bottom, sweeping leftovers) do not use.
    const pool = loadSandboxConfig(staged.image.env);
    const agentUid = pool.uidBase + pool.uidCount - 1;
    await prepareAgentHome(agentUid);
    const boot = await bootImage({
      image: staged.image,
      expectedPort: port,
      bootEnv,
      agentUid,
      runtimeVersions: { opencode: dependencies[FLAVORS.opencode.wrapperPackage]!, kilo: dependencies[FLAVORS.kilo.wrapperPackage]! },
      ...(options.log ? { log: options.log } : {}),
    });
    return { staged, boot, installed: await installedPackages(staged.image) };
  } catch (error) {
    await staged.dispose();
    throw error;
  } finally {
    await disposeAgentHome();
  }
}

/** Every package directory under the image's node_modules trees, as lockfile keys. */
export async function installedPackages(image: Stage): Promise<string[]> {
  const app = hostPath(image, image.workdir);
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(join(app, dir), { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      if (entry.name.startsWith('@')) {
        for (const scoped of await readdir(join(app, dir, entry.name), { withFileTypes: true })) await visit(`${dir}/${entry.name}/${scoped.name}`);
      } else await visit(`${dir}/${entry.name}`);
    }
  };
  const visit = async (key: string) => {
    out.push(key);
    await walk(`${key}/node_modules`);
  };
  await walk('node_modules');
  for (const workspace of await readdir(join(app, 'packages')).catch(() => [] as string[])) await walk(`packages/${workspace}/node_modules`);
  return out.sort();
}

interface LockEntry {
  link?: boolean;
  resolved?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/** The lockfile keys a production install of `workspaceDir` may hold: its dependencies' closure (no devDependencies). */
export function productionClosure(lock: { packages: Record<string, LockEntry> }, workspaceDir: string): Set<string> {
  const seen = new Set<string>();
  const resolve = (from: string, name: string): string | null => {
    for (let at = from; ; at = at.includes('/node_modules/') ? at.slice(0, at.lastIndexOf('/node_modules/')) : '') {
      const key = at ? `${at}/node_modules/${name}` : `node_modules/${name}`;
      if (lock.packages[key]) return key;
      if (!at) return null;
    }
  };
  const visit = (key: string) => {
    if (seen.has(key)) return;
    seen.add(key);
    const entry = lock.packages[key]!;
    const target = entry.link && entry.resolved ? entry.resolved : key;
    const real = lock.packages[target] ?? entry;
    const optionalPeers = Object.entries(real.peerDependenciesMeta ?? {})
      .filter(([, m]) => m.optional)
      .map(([n]) => n);
    const names = [
      ...Object.keys(real.dependencies ?? {}),
      ...Object.keys(real.optionalDependencies ?? {}),
      ...Object.keys(real.peerDependencies ?? {}).filter((n) => !optionalPeers.includes(n)),
    ];
    for (const name of names) {
      const found = resolve(target, name);
      if (found) visit(found);
    }
  };
  // npm links the filtered workspace itself into node_modules, too.
  for (const [key, entry] of Object.entries(lock.packages)) if (entry.link && entry.resolved === workspaceDir) seen.add(key);
  const root = lock.packages[workspaceDir]!;
  for (const name of Object.keys(root.dependencies ?? {})) {
    const found = resolve(workspaceDir, name);
    if (found) visit(found);
  }
  return seen;
}
