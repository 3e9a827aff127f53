/**
 * The image contract check without Docker, by hand (the same check runs in `npm test`:
 * packages/container/test/image/image-boot.test.ts). Stages packages/container/Dockerfile (or another
 * Dockerfile, e.g. a changed copy), boots its CMD as the image user and prints each probe's finding.
 *
 *   npx tsx scripts/image-contract-check.ts [--dockerfile <path>] [--keep] [--verbose]
 *
 * Exit 0 when every probe passes, 1 otherwise. Needs root for the agent-uid probes and the network
 * namespace (as in CI); offline npm cache from the repository's own `npm ci`.
 */
import { readFile } from 'node:fs/promises';
import { runImageCheck } from '../packages/container/test/image/image-check';
import { ImageStageError } from '../packages/container/test/image/image-stage';

const args = process.argv.slice(2);
const at = args.indexOf('--dockerfile');
const dockerfile = at >= 0 && args[at + 1] ? await readFile(args[at + 1]!, 'utf8') : undefined;
const verbose = args.includes('--verbose');

try {
  const check = await runImageCheck({ ...(dockerfile ? { dockerfile } : {}), ...(verbose ? { log: (l: string) => console.log(`  ${l}`) } : {}) });
  for (const t of check.staged.timings) console.log(`step  ${t.step}: ${t.seconds} s`);
  console.log(`boot  ready ${check.boot.seconds.ready} s, stop ${check.boot.seconds.stop} s`);
  for (const note of check.boot.notes) console.log(`note  ${note}`);
  for (const f of check.boot.findings) console.log(`FAIL  ${f.probe}: ${f.message}`);
  if (args.includes('--keep')) console.log(`kept  ${check.staged.image.root}`);
  else await check.staged.dispose();
  console.log(check.boot.findings.length === 0 ? 'image contract: pass' : `image contract: ${check.boot.findings.length} finding(s)`);
  process.exit(check.boot.findings.length === 0 ? 0 : 1);
} catch (error) {
  if (!(error instanceof ImageStageError)) throw error;
  console.log(`FAIL  ${error.code}: ${error.message}`);
  process.exit(1);
}
