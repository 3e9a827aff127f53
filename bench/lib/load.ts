/**
 * A closed-loop load generator: `concurrency` loops, each sending its next request as soon
 * as the previous one answered, until the time budget or the request budget is spent
 * (whichever comes first). Every latency is kept.
 */
export interface LoadOptions {
  concurrency: number;
  durationMs: number;
  maxRequests: number;
  /** One request of loop `worker`; resolves true when it succeeded. */
  request(worker: number, iteration: number): Promise<boolean>;
}

export interface LoadResult {
  concurrency: number;
  requests: number;
  failures: number;
  elapsedMs: number;
  requestsPerSecond: number;
  latenciesMs: number[];
  /** First failure description, if any. */
  firstError: string | null;
}

export async function closedLoop(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let issued = 0;
  let failures = 0;
  let firstError: string | null = null;
  const started = performance.now();
  const deadline = started + options.durationMs;
  const loops = Array.from({ length: options.concurrency }, async (_, worker) => {
    for (let iteration = 0; ; iteration += 1) {
      if (performance.now() >= deadline || issued >= options.maxRequests) return;
      issued += 1;
      const t0 = performance.now();
      try {
        if (!(await options.request(worker, iteration))) failures += 1;
      } catch (error) {
        failures += 1;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
      latencies.push(performance.now() - t0);
    }
  });
  await Promise.all(loops);
  const elapsedMs = performance.now() - started;
  return {
    concurrency: options.concurrency,
    requests: latencies.length,
    failures,
    elapsedMs,
    requestsPerSecond: (latencies.length / elapsedMs) * 1000,
    latenciesMs: latencies,
    firstError,
  };
}
