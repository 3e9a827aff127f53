import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const GIT_USER_NAME = 'Gastown';
export const GIT_USER_EMAIL = 'agents@gastown.local';

/** The global git config the container owns. It never holds a credential or a credential helper. */
export const GLOBAL_GIT_CONFIG = [
  '[user]',
  `\tname = ${GIT_USER_NAME}`,
  `\temail = ${GIT_USER_EMAIL}`,
  '[init]',
  '\tdefaultBranch = main',
  '[advice]',
  '\tdetachedHead = false',
  '[credential]',
  '\thelper =',
  '[gc]',
  '\tauto = 0',
  '',
].join('\n');

/**
 * The whole environment of every git process: no inherited variables except PATH,
 * a container-owned HOME and global config, no system config, no prompts, and only
 * the transports a rig URL may use.
 */
export function gitEnvironment(homeDir: string, path: string | undefined): NodeJS.ProcessEnv {
  return {
    PATH: path ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: homeDir,
    XDG_CONFIG_HOME: join(homeDir, '.config'),
    GIT_CONFIG_GLOBAL: join(homeDir, '.gitconfig'),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ALLOW_PROTOCOL: 'file:git:http:https:ssh',
    // never wait for a host-key or passphrase prompt
    GIT_SSH_COMMAND: 'ssh -o BatchMode=yes',
    LANG: 'C',
    LC_ALL: 'C',
  };
}

/** Create the container-owned git HOME with its global config. Idempotent. */
export async function prepareGitHome(homeDir: string): Promise<void> {
  await mkdir(join(homeDir, '.config'), { recursive: true });
  await writeFile(join(homeDir, '.gitconfig'), GLOBAL_GIT_CONFIG, { mode: 0o600 });
}
