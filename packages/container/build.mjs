// Compiles the container's entry (src/main.ts) into plain JavaScript for the image: dist/main.js, one
// ESM file with this repository's TypeScript (the container and @gastown/protocol) bundled in, and the
// npm dependencies of package.json left as imports (the image installs them with `npm ci --omit=dev`).
// The image runs `node packages/container/dist/main.js`: no tsx, no TypeScript at boot.
//
// Files the code finds next to itself (`new URL('./x', import.meta.url)`) are copied beside the bundle:
// src/git/credential-helper.mjs, which git runs with node. DEFAULT_PLUGIN_PATH
// (`../../plugin/dist/gastown-plugin.js` from src/config.ts) resolves the same from dist/main.js.
import { build } from 'esbuild';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
// `node build.mjs --outdir /tmp/x` builds elsewhere (tests), leaving dist/ alone.
const outIndex = process.argv.indexOf('--outdir');
const outdir = outIndex > 0 ? process.argv[outIndex + 1] : here('./dist');

const manifest = JSON.parse(await readFile(here('./package.json'), 'utf8'));
const npmDependencies = Object.keys(manifest.dependencies ?? {}).filter((name) => !name.startsWith('@gastown/'));
/** Assets the source resolves relative to its own file; the same relative path is kept from dist/. */
const ASSETS = [{ from: './src/git/credential-helper.mjs', to: 'credential-helper.mjs' }];

const result = await build({
  entryPoints: [here('./src/main.ts')],
  outfile: join(outdir, 'main.js'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  // The image runs Node 22; the image contract check runs the same file on the test machine's Node (20).
  target: 'node20',
  external: npmDependencies.flatMap((name) => [name, `${name}/*`]),
  // Bundled CommonJS code may call require(): give the ESM file one.
  banner: { js: "import { createRequire as __gastownCreateRequire } from 'node:module'; const require = __gastownCreateRequire(import.meta.url);" },
  sourcemap: 'linked',
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});

const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint);
const imported = output.imports.filter((i) => i.external && !i.path.startsWith('node:')).map((i) => i.path);
const undeclared = imported.filter((path) => !npmDependencies.some((name) => path === name || path.startsWith(`${name}/`)));
if (undeclared.length) {
  console.error(`container bundle imports packages that are not dependencies of @gastown/container: ${undeclared.join(', ')}`);
  process.exit(1);
}
for (const asset of ASSETS) {
  const target = join(outdir, asset.to);
  await mkdir(dirname(target), { recursive: true });
  await copyFile(here(asset.from), target);
}
console.log(`built ${join(outdir, 'main.js')} (${(output.bytes / 1024).toFixed(0)} KiB, ${Object.keys(result.metafile.inputs).length} inputs)`);
