import type { TownEvent } from '@gastown/protocol';

/** The parts of the town page that read from the API and go stale when the town changes. */
export type Panel = 'agents' | 'beads' | 'convoys' | 'mail' | 'rigs' | 'town' | 'mayorMessages' | 'usage';

/**
 * Which panels a town event makes stale (they are refetched, coalesced). Chat text and tool
 * calls are applied from the event itself and refetch nothing. Pure.
 */
export function panelsFor(event: Pick<TownEvent, 'type'>): Panel[] {
  const [domain] = event.type.split('.');
  switch (domain) {
    case 'agent':
      if (event.type === 'agent.text' || event.type === 'agent.tool' || event.type === 'agent.error') return [];
      return event.type === 'agent.completed' ? ['agents', 'beads'] : ['agents'];
    case 'credential':
    case 'credential_reuse_detected':
    case 'session':
      return ['agents'];
    // (the town page refetches the convoys with the beads: a bead that closes moves their progress)
    case 'bead':
    case 'merge_request':
    case 'escalation':
    case 'pull_request':
      return ['beads'];
    case 'convoy':
      return ['convoys'];
    case 'mail':
      return ['mail'];
    // a deleted rig takes its beads (cancelled) and its agents (stopped) with it
    case 'rig':
      return event.type === 'rig.deleted' ? ['rigs', 'beads', 'agents'] : ['rigs'];
    case 'town':
      return ['town'];
    // model calls (when they reach the town's feed) and the spend cap's state change the usage and costs
    case 'model':
    case 'spend':
      return ['usage'];
    case 'mayor':
      return event.type === 'mayor.message_received' ? ['mayorMessages', 'agents'] : ['agents'];
    default:
      return [];
  }
}
