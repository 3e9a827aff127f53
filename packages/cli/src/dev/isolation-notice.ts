/**
 * What `gastown dev` says about agent isolation on this machine: nothing when agents get their
 * own uid and namespaces, a warning when they get less, and a loud one when they get nothing.
 * The decision is the container's own (`decideIsolation`), so the notice and the agents agree.
 */
import type { IsolationDecision } from '@gastown/container/sandbox/isolation';

export function isolationNotice(decision: IsolationDecision): string | null {
  const why = decision.gaps.length > 0 ? ` (${decision.gaps.join('; ')})` : '';
  switch (decision.level) {
    case 'uid+namespaces':
      return null;
    case 'none':
      return (
        `gastown dev: WARNING — agents are NOT isolated on this machine${why}.\n` +
        "gastown dev: an agent's bash can read this stack's signing keys, provider keys and every other agent's credentials.\n" +
        'gastown dev: run it as root with bubblewrap installed (apt-get install bubblewrap), as CI and the production image do.\n'
      );
    default:
      return `gastown dev: warning — agents are only partly isolated (${decision.level})${why}; see docs/SECURITY.md.\n`;
  }
}
