/**
 * `gastown town restart`: POST USER_API.restartContainer for the resolved town; prints what the
 * server did (a stopped container, or one that slept), `--json` prints the answer; a server error
 * keeps its code.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli';
import { capturedEnv } from '../support/fake-env';
import { sendJson, startFakeServer, type FakeServer } from '../support/fake-server';

const TOWN = 'town_aaaaaaaa';

let server: FakeServer | null = null;
const envs: { remove(): void }[] = [];
afterEach(async () => {
  await server?.close();
  server = null;
  for (const e of envs.splice(0)) e.remove();
});

async function restart(answer: { status: number; body: unknown }, extra: string[] = []) {
  server = await startFakeServer((req, res) => {
    if (req.method === 'POST' && req.url === `/api/towns/${TOWN}/container/restart`) return sendJson(res, answer.status, answer.body);
    sendJson(res, 404, { error: { code: 'not_found', message: 'no route' } });
  });
  const env = capturedEnv({ GASTOWN_URL: server.url, GASTOWN_TOKEN: 'tok' });
  envs.push(env);
  const code = await runCli(['town', 'restart', '--town', TOWN, ...extra], env.sys);
  return { code, stdout: env.stdout(), stderr: env.stderr(), requests: server.requests };
}

describe('gastown town restart', () => {
  it.each([
    { name: 'a running container is stopped', wasRunning: true, text: /restarted town town_aaaaaaaa: its container stopped/ },
    { name: 'a sleeping town is left asleep', wasRunning: false, text: /was asleep: nothing to stop/ },
  ])('$name', async ({ wasRunning, text }) => {
    const r = await restart({ status: 202, body: { wasRunning } });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(text);
    expect(r.requests.map((q) => `${q.method} ${q.url}`)).toEqual([`POST /api/towns/${TOWN}/container/restart`]);
    expect(r.requests[0]!.headers.authorization).toBe('Bearer tok');
  });

  it('--json prints the town and the answer', async () => {
    const r = await restart({ status: 202, body: { wasRunning: true } }, ['--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ townId: TOWN, wasRunning: true });
  });

  it.each([
    { name: 'container_unavailable (503)', status: 503, code: 'container_unavailable' },
    { name: 'not_found (404)', status: 404, code: 'not_found' },
  ])('a server error keeps the server code: $name', async ({ status, code }) => {
    const r = await restart({ status, body: { error: { code, message: 'nope' } } }, ['--json']);
    expect(r.code).not.toBe(0);
    const error = JSON.parse(r.stdout.trim().split('\n').at(-1)!).error;
    expect(error.serverCode ?? error.code).toBe(code);
  });

  it('an answer that is not { wasRunning } is refused (bad_response)', async () => {
    const r = await restart({ status: 202, body: { restarted: 'yes' } }, ['--json']);
    expect(r.code).not.toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!).error.code).toBe('bad_response');
  });
});
