/** Waiting for a real runtime's events in tests. */
import type { AgentRuntime, RuntimeEvent } from '../../src/contracts';

/** Resolves with the first event (from `events[from..]`, then live) matching `match`. */
export function nextEvent(
  runtime: Pick<AgentRuntime, 'onEvent'>,
  events: RuntimeEvent[],
  match: (e: RuntimeEvent) => boolean,
  from: number,
  timeoutMs = 60_000,
): Promise<RuntimeEvent> {
  const seen = events.slice(from).find(match);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching runtime event within ${timeoutMs} ms; saw ${events.map((e) => e.type).join(', ')}`));
    }, timeoutMs);
    const off = runtime.onEvent((e) => {
      if (!match(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}
