/** Process entry of `gastown` (bin/gastown.js loads it through tsx). */
import { homedir } from 'node:os';
import { systemClock } from '@gastown/protocol';
import { splitCommandLine } from './args';
import { runCli } from './cli';
import type { CliEnvironment } from './context';
import { runDev } from './dev';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** `gastown status | head -3`: a closed pipe ends the command quietly instead of crashing it. */
function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

export async function main(argv: string[]): Promise<number> {
  exitQuietlyOnClosedPipe(process.stdout);
  const interrupt = new AbortController();
  const onSigint = () => {
    // A second Ctrl-C while shutting down exits at once.
    if (interrupt.signal.aborted) process.exit(130);
    interrupt.abort();
  };
  // `gastown dev` manages its own signals (it has children to stop).
  const handleSignals = splitCommandLine(argv).name !== 'dev';
  if (handleSignals) process.on('SIGINT', onSigint);
  const sys: CliEnvironment = {
    env: process.env,
    cwd: process.cwd(),
    home: homedir(),
    stdout: process.stdout,
    stderr: process.stderr,
    readStdin,
    clock: systemClock,
    signal: interrupt.signal,
    runDev,
  };
  try {
    return await runCli(argv, sys);
  } finally {
    if (handleSignals) process.off('SIGINT', onSigint);
  }
}

// `tsx packages/cli/src/main.ts dev` (the root `npm start`) runs this file directly.
const entry = process.argv[1] ?? '';
if (/[\\/]src[\\/]main\.ts$/.test(entry)) {
  process.exitCode = await main(process.argv.slice(2));
}
