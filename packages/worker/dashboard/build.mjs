// Builds the dashboard into dist/ (served by the worker as static assets, see wrangler.jsonc
// `assets`): app.js (one ESM bundle, minified, no dependencies), styles.css, and the static files
// as they are: index.html, favicon.svg and _headers (the assets layer's security headers).
// `node build.mjs --outdir /tmp/x` builds elsewhere.
import { build } from 'esbuild';
import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const outIndex = process.argv.indexOf('--outdir');
const outdir = outIndex > 0 ? process.argv[outIndex + 1] : here('./dist');

// Clean the output but keep dist/.gitkeep (wrangler needs the directory to exist even unbuilt).
await mkdir(outdir, { recursive: true });
for (const name of await readdir(outdir)) if (name !== '.gitkeep') await rm(join(outdir, name), { recursive: true, force: true });

const result = await build({
  entryPoints: { app: here('./src/main.ts'), styles: here('./static/styles.css') },
  outdir,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome115', 'firefox115', 'safari16'],
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});
for (const name of ['index.html', 'favicon.svg', '_headers']) await copyFile(here(`./static/${name}`), join(outdir, name));

const outputs = Object.entries(result.metafile.outputs).filter(([file]) => !file.endsWith('.map'));
const external = outputs.flatMap(([, o]) => o.imports.filter((i) => i.external).map((i) => i.path));
if (external.length) {
  console.error(`dashboard bundle must be self-contained, but imports: ${external.join(', ')}`);
  process.exit(1);
}
const zod = Object.keys(result.metafile.inputs).filter((p) => p.includes('/zod/'));
if (zod.length) {
  console.error('dashboard bundle pulled in zod (import protocol types with `import type` only)');
  process.exit(1);
}
const sizes = outputs.map(([file, o]) => `${file.split('/').pop()} ${(o.bytes / 1024).toFixed(1)} KiB`).join(', ');
console.log(`built dashboard into ${outdir}: ${sizes}`);
