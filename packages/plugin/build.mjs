// Bundles the plugin into ONE dependency-free ESM file: dist/gastown-plugin.js (zod and the
// protocol package included). opencode loads it with `"plugin": ["file:///abs/dist/gastown-plugin.js"]`.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
// `node build.mjs --outfile /tmp/x.js` builds elsewhere (tests), leaving dist/ alone.
const outIndex = process.argv.indexOf('--outfile');
const outfile = outIndex > 0 ? process.argv[outIndex + 1] : here('./dist/gastown-plugin.js');

const result = await build({
  entryPoints: [here('./src/entry.ts')],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: false,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});

const inputs = Object.keys(result.metafile.inputs);
const external = Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
const nonNode = external.filter((p) => !p.startsWith('node:'));
if (nonNode.length) {
  console.error(`plugin bundle must be dependency-free, but imports: ${nonNode.join(', ')}`);
  process.exit(1);
}
const bytes = Object.values(result.metafile.outputs)[0].bytes;
console.log(`built ${outfile} (${(bytes / 1024).toFixed(0)} KiB, ${inputs.length} inputs)`);
