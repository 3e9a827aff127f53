/**
 * How the container's git runner authenticates to a private rig (auth != none): every command that
 * talks to the rig (mirror fetch, branch push, merge push) runs with
 *
 *   -c credential.helper=            (clears every helper configured anywhere)
 *   -c credential.helper=!<node> <credential-helper.mjs> <socket path> <rig id>
 *   -c credential.useHttpPath=true   (git sends the repository path, so only the rig's URL matches)
 *
 * so git asks the rig's GitTokenBroker through the credential server. The token is never in the
 * environment, the argument vector, a file, a remote URL, git config or a log.
 *
 * Before the command, the broker must have a usable token (else GastownError('git_auth_failed'),
 * without running git). When git reports that the host refused the credential, the token is
 * marked refused, one shared refresh runs, and the command is retried once; refused again →
 * GastownError('git_auth_failed'). A rig with auth none runs exactly as before.
 */
import { fileURLToPath } from 'node:url';
import { GastownError, type RigRef } from '@gastown/protocol';
import type { Logger } from '../log/logger';
import { shellQuote } from './agent-repo';
import { isAuthFailure } from './credential-protocol';
import type { GitResult, GitRunner, GitRunOptions } from './git-runner';
import { redactUrls } from './git-runner';
import type { GitTokenRegistry } from './git-token-registry';

/** The helper program git runs (plain JS, shipped beside this file). */
export const CREDENTIAL_HELPER_PATH = fileURLToPath(new URL('./credential-helper.mjs', import.meta.url));

export interface RigGitAuthOptions {
  registry: GitTokenRegistry;
  /** The credential server's socket (./credential-server.ts). */
  socketPath: string;
  logger: Logger;
  /** The node binary git runs the helper with. Default: this process's. */
  nodePath?: string;
  helperPath?: string;
}

/** The `credential.helper` value for `rigId`: a shell snippet (git appends the action). Paths and the id only. */
export function credentialHelperCommand(nodePath: string, helperPath: string, socketPath: string, rigId: string): string {
  return `!${[nodePath, helperPath, socketPath, rigId].map(shellQuote).join(' ')}`;
}

export class RigGitAuth {
  readonly registry: GitTokenRegistry;
  readonly #o: RigGitAuthOptions;
  readonly #log: Logger;

  constructor(options: RigGitAuthOptions) {
    this.registry = options.registry;
    this.#o = options;
    this.#log = options.logger.child({ component: 'rig-git-auth' });
  }

  /** The `-c` options a network command of `rig` runs with. */
  configArgs(rig: RigRef): string[] {
    const helper = credentialHelperCommand(this.#o.nodePath ?? process.execPath, this.#o.helperPath ?? CREDENTIAL_HELPER_PATH, this.#o.socketPath, rig.id);
    return ['-c', 'credential.helper=', '-c', `credential.helper=${helper}`, '-c', 'credential.useHttpPath=true'];
  }

  /** Run `args` (a command that talks to the rig) authenticated: preflight, helper, one retry after a refusal. */
  async run(runGit: GitRunner, rig: RigRef, args: readonly string[], options?: GitRunOptions): Promise<GitResult> {
    const broker = this.registry.forRig(rig);
    const credential = await broker.credential();
    const full = [...this.configArgs(rig), ...args];
    const first = await runGit(full, options);
    if (first.code === 0 || !isAuthFailure(first.stderr)) return first;
    const subcommand = subcommandOf(args);
    this.#log.warn('git.auth_refused', { rigId: rig.id, subcommand, tokenFingerprint: credential.fingerprint, action: 'refresh and retry once' });
    await broker.reject(credential.password);
    const fresh = await broker.credential();
    const second = await runGit(full, options);
    if (second.code === 0 || !isAuthFailure(second.stderr)) return second;
    this.#log.error('git.auth_refused', { rigId: rig.id, subcommand, tokenFingerprint: fresh.fingerprint, action: 'give up' });
    // refused twice: the token is marked, so the next command starts from a fresh one
    void broker.reject(fresh.password);
    throw new GastownError('git_auth_failed', `the git host of rig ${rig.id} refused its credentials for git ${subcommand}: ${lastLine(second.stderr)}`);
  }
}

function subcommandOf(args: readonly string[]): string {
  const index = args[0] === '-C' ? 2 : 0;
  return args[index] ?? 'unknown';
}

function lastLine(stderr: string): string {
  const lines = redactUrls(stderr)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  return (lines[lines.length - 1] ?? '(no output)').slice(0, 300);
}
