/**
 * `gastown dev --build` (what `npm start` runs): `npm run build` (the plugin bundle and the
 * dashboard) in the checkout, run by `gastown dev` itself once it holds `.gastown/dev.lock` and
 * has found its ports free — so a start that is refused never rebuilds the dashboard under a
 * running stack (whose wrangler dev would reload on the new assets).
 */
import { spawn } from 'node:child_process';
import { CliError } from '../errors';

/** Runs the build; rejects with a CliError when it fails or is interrupted. */
export type BuildStep = (io: { out: NodeJS.WritableStream; err: NodeJS.WritableStream; signal: AbortSignal }) => Promise<void>;

/** `npm run build` in `repoRoot`, its output copied to `out`/`err`. */
export function npmBuildStep(repoRoot: string): BuildStep {
  return ({ out, err, signal }) =>
    new Promise<void>((resolve, reject) => {
      const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
      const child = spawn(npm, ['run', 'build', '--silent'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], signal });
      child.stdout.on('data', (chunk: Buffer) => out.write(chunk));
      child.stderr.on('data', (chunk: Buffer) => err.write(chunk));
      child.once('error', (error) => {
        if (signal.aborted) reject(new CliError('interrupted', 'the build was interrupted', {}, { cause: error }));
        else reject(new CliError('failed', `could not run \`npm run build\`: ${error.message}`, {}, { cause: error }));
      });
      child.once('close', (code, exitSignal) => {
        if (code === 0) resolve();
        else if (signal.aborted) reject(new CliError('interrupted', 'the build was interrupted'));
        else reject(new CliError('failed', `\`npm run build\` failed (${code === null ? `signal ${exitSignal}` : `exit ${code}`}); its output is above`));
      });
    });
}
