import { GastownError } from '@gastown/protocol';
import type { AgentEvent } from '@gastown/protocol';

/** A scripted `events` endpoint: each call takes the next outcome (default ok) and dedupes by id like the control plane. */
export class EventsStub {
  readonly batches: AgentEvent[][] = [];
  readonly stored = new Map<string, AgentEvent>();
  readonly script: Array<'ok' | 'unavailable' | 'validation' | 'revoked'> = [];
  /** The outcome once the script is used up (a run whose credentials were revoked: `revoked` forever). */
  otherwise: 'ok' | 'revoked' = 'ok';
  /** Past this many calls every call fails as an outage (retryable): a sink that would loop forever stops, and its test fails instead of hanging. */
  maxCalls = Number.POSITIVE_INFINITY;

  readonly events = async (events: AgentEvent[]): Promise<{ accepted: number; duplicates: number }> => {
    this.batches.push(events);
    if (this.batches.length > this.maxCalls) throw new GastownError('control_plane_unavailable', 'call budget of the stub used up');
    const next = this.script.shift() ?? this.otherwise;
    if (next === 'unavailable') throw new GastownError('control_plane_unavailable', 'down');
    if (next === 'validation') throw new GastownError('validation_failed', 'bad');
    if (next === 'revoked') throw new GastownError('token_revoked', 'token belongs to an earlier generation of this agent');
    let accepted = 0;
    let duplicates = 0;
    for (const e of events) {
      if (this.stored.has(e.id)) duplicates += 1;
      else {
        this.stored.set(e.id, e);
        accepted += 1;
      }
    }
    return { accepted, duplicates };
  };

  storedOfType(type: string): AgentEvent[] {
    return [...this.stored.values()].filter((e) => e.type === type);
  }
}
