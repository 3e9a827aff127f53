/**
 * The image contract, run without Docker (issue 15): packages/container/Dockerfile is staged
 * instruction by instruction (its COPYs with .dockerignore applied, its `npm ci` and builds, offline
 * from this machine's npm cache), then its ENTRYPOINT + CMD run as the image's USER with the boot env
 * of the production TownContainerDO. Probes: the Worker's port on 0.0.0.0, GET /health, the plugin
 * the container hands to agents (loaded as an agent uid), the opencode and kilo binaries (run as an
 * agent uid, pinned versions), files the bundle finds beside itself, a clean exit on SIGTERM; and the
 * image holds compiled JavaScript and production dependencies only.
 *
 * Then three throwaway variants of the Dockerfile (port, CMD, a copied path) must each fail, reusing
 * the first run's installs (hard links, like Docker's layer cache). Runtime on 2 cores: see
 * docs/DEVELOPMENT.md.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { productionClosure, REPO, runImageCheck, type ImageCheck } from './image-check';
import { ImageStageError, type InstallCache } from './image-stage';

const dockerfile = readFileSync(join(REPO, 'packages/container/Dockerfile'), 'utf8');
const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as Parameters<typeof productionClosure>[0];
const installCache: InstallCache = new Map();
const log = process.env.GASTOWN_IMAGE_CHECK_VERBOSE ? (line: string) => console.log(`[image] ${line}`) : undefined;

let check: ImageCheck;

describe('container image, staged and booted without Docker', () => {
  beforeAll(async () => {
    check = await runImageCheck({ dockerfile, installCache, ...(log ? { log } : {}) });
    console.log(
      `[image] ${check.staged.timings.map((t) => `${t.step}: ${t.seconds}s`).join('; ')}; ready ${check.boot.seconds.ready}s, stop ${check.boot.seconds.stop}s` +
        (check.boot.notes.length ? `; notes: ${check.boot.notes.join('; ')}` : ''),
    );
  }, 300_000);
  afterAll(async () => {
    await check?.staged.dispose();
  });

  it('boots as the image user and passes every probe: port on 0.0.0.0, /health, plugin, opencode, kilo, assets, SIGTERM', () => {
    expect(check.boot.findings).toEqual([]);
    expect(check.boot.seconds.ready).not.toBeNull();
    expect(check.boot.seconds.stop).not.toBeNull();
  });

  it('runs compiled JavaScript: the CMD names a .js file, no --import loader, no tsx or TypeScript installed', () => {
    const cmd = check.staged.image.cmd;
    expect(cmd).not.toContain('--import');
    expect(cmd.find((w) => /\.[cm]?[jt]s$/.test(w))).toMatch(/\.js$/);
    expect(check.installed.filter((key) => /(?:^|\/)node_modules\/(?:tsx|typescript|esbuild|@esbuild\/[^/]+)$/.test(key))).toEqual([]);
  });

  it('holds production dependencies of @gastown/container only (no devDependencies of any workspace)', () => {
    const closure = productionClosure(lock, 'packages/container');
    expect(check.installed.length).toBeGreaterThan(0);
    expect(check.installed.filter((key) => !closure.has(key))).toEqual([]);
  });

  describe('fails when the Dockerfile changes (throwaway variants, installs reused)', () => {
    const variant = async (from: RegExp | string, to: string) => {
      expect(dockerfile).toMatch(from);
      const changed = dockerfile.replace(from instanceof RegExp ? new RegExp(from.source, `${from.flags}g`) : from, to);
      expect(changed).not.toBe(dockerfile);
      try {
        const result = await runImageCheck({ dockerfile: changed, installCache });
        await result.staged.dispose();
        return result.boot.findings.map((f) => f.probe);
      } catch (error) {
        if (error instanceof ImageStageError) return [error.code];
        throw error;
      }
    };

    it('the port (8080 → 8081 everywhere in the Dockerfile) no longer matches TownContainerDO.defaultPort', async () => {
      expect(await variant(/\b8080\b/, '8081')).toContain('port');
    }, 120_000);

    it('the CMD runs the TypeScript entry through tsx again', async () => {
      expect(await variant(/CMD \[.*\]/, 'CMD ["node", "--import", "tsx", "packages/container/src/main.ts"]')).toEqual(
        expect.arrayContaining(['entry', 'ready']),
      );
    }, 120_000);

    it('a copied path: the plugin bundle is no longer copied into the image', async () => {
      expect(await variant(/^COPY --from=build \/app\/packages\/plugin\/dist .*$/m, '')).toEqual(expect.arrayContaining(['plugin']));
    }, 120_000);

    it('a copied path: a COPY source that is not in the build context', async () => {
      expect(await variant('COPY packages/plugin packages/plugin', 'COPY packages/plugins packages/plugin')).toEqual(['copy_missing']);
    }, 120_000);
  });
});
