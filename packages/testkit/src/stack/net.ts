/** Free ports and readiness probes. */
import { createServer } from 'node:net';
import { StackError } from './errors';

/** A TCP port that was free on 127.0.0.1 a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new StackError('stack_bad_option', 'no free port'))));
    });
  });
}

/** True when something accepts connections on 127.0.0.1:port. */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(true));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Poll `url` until it answers 200 (each probe with its own timeout: a request racing the port
 * opening can hang). Fails early when `gaveUp()` says the process behind it is gone.
 */
export async function waitForHttpOk(url: string, options: { timeoutMs: number; what: string; gaveUp?: () => string | null }): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    const reason = options.gaveUp?.() ?? null;
    if (reason) throw new StackError('stack_start_failed', `${options.what}: ${reason}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (error) {
      last = error instanceof Error ? error.message : 'network error';
    }
    await sleep(250);
  }
  throw new StackError('stack_not_ready', `${options.what} not ready within ${options.timeoutMs} ms (${last})`);
}
