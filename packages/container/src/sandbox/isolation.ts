/**
 * How strongly an agent run is isolated from the container (the control server, the credential
 * broker, other agents), and the pure decision of which level this container can give.
 *
 *   uid+namespaces  own Unix uid from the pool, inside bwrap (pid/ipc/uts namespaces, a
 *                   filesystem view of system dirs + its own paths only)   — root with bwrap
 *   uid             own Unix uid, no namespaces: other processes' /proc entries and 0700
 *                   dirs are closed to it, world-readable files are not   — root without bwrap
 *   namespaces      bwrap, but the container's own uid                     — not root, bwrap works
 *   none            the container's uid, no namespaces: one shell command can read the broker's
 *                   memory and environment                                 — neither
 */
import { GastownError, ISOLATION_LEVELS, type IsolationLevel } from '@gastown/protocol';

/** The levels are protocol (heartbeats report them); re-exported for the sandbox modules. */
export { ISOLATION_LEVELS, type IsolationLevel };

/** GASTOWN_SANDBOX: `auto` picks the best level available; a level forces it (tests, mutation checks). */
export const SANDBOX_MODES = ['auto', ...ISOLATION_LEVELS] as const;
export type SandboxMode = (typeof SANDBOX_MODES)[number];

/** What the container found at start (see probe.ts). */
export interface SandboxProbe {
  /** The control server runs as uid 0 and can give agents other uids. */
  isRoot: boolean;
  /** Absolute path of bwrap, or null when not installed. */
  bwrapPath: string | null;
  /** A probe sandbox ran as a pool uid (only probed as root). null = not probed. */
  namespacesAsPoolUid: ProbeOutcome | null;
  /** A probe sandbox ran as the container's own uid. null = not probed. */
  namespacesAsSelf: ProbeOutcome | null;
}

export type ProbeOutcome = { ok: true } | { ok: false; reason: string };

export interface IsolationDecision {
  level: IsolationLevel;
  /** Why the level is below uid+namespaces (empty at the top level). For the start-up warning. */
  gaps: string[];
}

function failed(outcome: ProbeOutcome | null, fallback: string): string | null {
  if (outcome === null) return fallback;
  return outcome.ok ? null : outcome.reason;
}

/**
 * The level for `mode` given what was probed. `auto` degrades to the best available level;
 * an explicit level that this container cannot give throws `config_invalid` (fail fast: an
 * operator who asked for namespaces must not silently get none).
 */
export function decideIsolation(mode: SandboxMode, probe: SandboxProbe): IsolationDecision {
  const noBwrap = probe.bwrapPath === null ? 'bwrap is not installed (apt-get install bubblewrap)' : null;
  const nsAsPool = noBwrap ?? failed(probe.namespacesAsPoolUid, 'not probed');
  const nsAsSelf = noBwrap ?? failed(probe.namespacesAsSelf, 'not probed');
  const notRoot = probe.isRoot ? null : 'the container does not run as root, so agents cannot get their own uid';

  const unavailable = (level: IsolationLevel): string | null => {
    switch (level) {
      case 'uid+namespaces':
        return notRoot ?? (nsAsPool === null ? null : `bwrap as a pool uid failed: ${nsAsPool}`);
      case 'uid':
        return notRoot;
      case 'namespaces':
        return nsAsSelf === null ? null : `bwrap failed: ${nsAsSelf}`;
      case 'none':
        return null;
    }
  };

  if (mode !== 'auto') {
    const why = unavailable(mode);
    if (why !== null) throw new GastownError('config_invalid', `GASTOWN_SANDBOX=${mode} is not available here: ${why}`);
    return { level: mode, gaps: mode === 'uid+namespaces' ? [] : [`GASTOWN_SANDBOX=${mode} was requested`] };
  }

  const gaps: string[] = [];
  const order: IsolationLevel[] = probe.isRoot ? ['uid+namespaces', 'uid'] : ['namespaces', 'none'];
  if (!probe.isRoot) gaps.push(notRoot!);
  for (const level of order) {
    const why = unavailable(level);
    if (why === null) return { level, gaps };
    gaps.push(why);
  }
  return { level: 'none', gaps };
}

/** The agent runs under a uid of its own. */
export function usesOwnUid(level: IsolationLevel): boolean {
  return level === 'uid+namespaces' || level === 'uid';
}

/** The agent runs inside bwrap. */
export function usesNamespaces(level: IsolationLevel): boolean {
  return level === 'uid+namespaces' || level === 'namespaces';
}
