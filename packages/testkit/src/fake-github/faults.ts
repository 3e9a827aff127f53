/** Injected faults of the fake GitHub: which are active now, by the fake's clock. */
import { GastownError } from '@gastown/protocol';
import type { Clock, FaultKind, FaultSpec } from './types';

const KINDS: ReadonlySet<FaultKind> = new Set(['refuse_tokens', 'token_401', 'token_5xx', 'slow', 'git_401', 'api_401']);

interface ActiveFault extends FaultSpec {
  remaining: number;
}

export class FaultBoard {
  private faults: ActiveFault[] = [];

  constructor(private readonly clock: Clock) {}

  add(spec: FaultSpec): void {
    if (!KINDS.has(spec.kind)) throw new GastownError('validation_failed', `fake-github: unknown fault ${String(spec.kind)}`);
    if (spec.times !== undefined && (!Number.isInteger(spec.times) || spec.times < 1)) {
      throw new GastownError('validation_failed', 'fake-github: fault times must be a positive integer');
    }
    this.faults.push({ ...spec, remaining: spec.times ?? Number.POSITIVE_INFINITY });
  }

  clear(): void {
    this.faults = [];
  }

  /** The first active fault among `kinds` (in the order given), counting one use of it; null when none. */
  take(kinds: readonly FaultKind[]): FaultSpec | null {
    const now = this.clock.now();
    this.faults = this.faults.filter((f) => f.remaining > 0 && (f.until === undefined || f.until > now));
    for (const kind of kinds) {
      const fault = this.faults.find((f) => f.kind === kind);
      if (fault) {
        fault.remaining -= 1;
        return fault;
      }
    }
    return null;
  }
}
