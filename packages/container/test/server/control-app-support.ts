/**
 * The control app over a real supervisor with fake runtimes and git (../supervisor/fakes.ts), fresh
 * for each test of the file that calls `useControlApp` (it registers the beforeEach/afterEach).
 */
import { rm } from 'node:fs/promises';
import { CONTAINER_KEY_HEADER, ErrorBodySchema } from '@gastown/protocol';
import { afterEach, beforeEach } from 'vitest';
import { createControlApp } from '../../src/server';
import { createHarness, silentLogger, type Harness } from '../supervisor/fakes';

export const CONTAINER_KEY = 'test-container-key-0123456789abcdef';

export interface ControlAppFixture {
  /** The current test's supervisor harness. */
  readonly h: Harness;
  /** A request to the app; JSON bodies get their content type; the container key unless `headers` says otherwise. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Response | Promise<Response>;
  /** GET without any header (health). */
  get(path: string): Response | Promise<Response>;
}

/** `prepare` runs on each new harness before the app is built (e.g. to replace a git method). */
export function useControlApp(prepare: (h: Harness) => void = () => undefined): ControlAppFixture {
  let h: Harness | null = null;
  let app: ReturnType<typeof createControlApp> | null = null;
  beforeEach(async () => {
    h = await createHarness();
    prepare(h);
    app = createControlApp({ control: h.supervisor, containerKey: CONTAINER_KEY, instanceId: 'ci_test0001', startedAt: 1234, logger: silentLogger });
  });
  afterEach(async () => {
    await h?.supervisor.stopAll();
    if (h) await rm(h.dataDir, { recursive: true, force: true });
    h = null;
    app = null;
  });
  const current = () => {
    if (!app || !h) throw new TypeError('useControlApp: used outside a test');
    return { app, h };
  };
  return {
    get h() {
      return current().h;
    },
    call(method, path, body, headers = { [CONTAINER_KEY_HEADER]: CONTAINER_KEY }) {
      const init: RequestInit = { method, headers: { ...headers } };
      if (body !== undefined) {
        init.body = typeof body === 'string' ? body : JSON.stringify(body);
        (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
      }
      return current().app.request(path, init);
    },
    get(path) {
      return current().app.request(path);
    },
  };
}

export async function errorCode(res: Response): Promise<string> {
  return ErrorBodySchema.parse(await res.json()).error.code;
}
