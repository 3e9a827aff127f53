/** Process entry of the leak scanner; see cli-core.ts for usage. */
import { runCli } from './cli-core';

runCli(process.argv.slice(2), {
  env: process.env,
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`leak-scan failed: ${error instanceof Error ? error.name : 'unknown error'}\n`);
    process.exitCode = 2;
  },
);
