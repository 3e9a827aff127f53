import type { ContainerRestartResponse } from '@gastown/protocol';

/** What the Settings tab says after a restart of the town's container. */
export function restartOutcome(result: ContainerRestartResponse): string {
  return result.wasRunning
    ? 'Container restarted: working polecats drained (their work is pushed) and are dispatched again; the next start takes the current settings and env vars.'
    : 'The container was asleep: nothing to stop. Its next start takes the current settings and env vars.';
}
