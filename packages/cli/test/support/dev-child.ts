/**
 * `gastown dev` as its own process, on a state directory of the test's choosing:
 * `node dev-child.ts <repoRoot> [gastown dev arguments]` (loaded through tsx). The same `runDev`
 * as `npm start`, except that the stack's worker reads its secrets from the state directory (not
 * the checkout's `packages/worker/.dev.vars`) and `--build` prints a marker line instead of
 * running `npm run build`.
 */
import { runDev } from '../../src/dev/run-dev';

const BUILD_MARKER = 'dev-child: build step ran';

const [repoRoot, ...args] = process.argv.slice(2);
if (repoRoot === undefined) {
  process.stderr.write('usage: dev-child.ts <repoRoot> [args]\n');
  process.exitCode = 2;
} else {
  process.exitCode = await runDev(args, {
    repoRoot,
    build: async ({ out }) => {
      out.write(`${BUILD_MARKER}\n`);
    },
    stackOptions: { secretsMode: 'env-file' },
  });
}
