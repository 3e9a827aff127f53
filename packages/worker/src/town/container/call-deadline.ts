/**
 * Run `work` with a time limit: after `budgetMs` its signal aborts and the returned promise rejects
 * with `onTimeout()` — even when `work` ignores the signal (a hung connection, a library wait). Uses
 * the global setTimeout, so a test's fake clock drives it.
 */
export function withDeadline<T>(budgetMs: number, work: (signal: AbortSignal) => Promise<T>, onTimeout: () => Error): Promise<T> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = onTimeout();
      controller.abort(error);
      reject(error);
    }, budgetMs);
  });
  const running = work(controller.signal);
  // a late failure of abandoned work is not an unhandled rejection
  running.catch(() => undefined);
  return Promise.race([running, expired]).finally(() => clearTimeout(timer));
}
