/**
 * A port picked as free can be handed out by the machine (an outgoing connection's source port,
 * another process) before the server that was to bind it does: that start then fails with
 * EADDRINUSE. `startWithPortRetry` runs `start`; when it fails and `portWasTaken()` says why, it
 * asks for new ports (`repick`) and starts again, up to `attempts` starts in all. Any other failure,
 * or the last one, is thrown as it is.
 */
export async function startWithPortRetry<T>(options: {
  start: () => Promise<T>;
  /** Whether the failed start's own output names a taken port ("Address already in use"). */
  portWasTaken: () => boolean;
  /** Pick new ports for the next start (called between attempts). */
  repick: (nextAttempt: number) => Promise<void>;
  attempts: number;
}): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await options.start();
    } catch (error) {
      if (attempt >= options.attempts || !options.portWasTaken()) throw error;
      await options.repick(attempt + 1);
    }
  }
}
