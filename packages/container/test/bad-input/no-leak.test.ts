/**
 * No credential leaks out of the container, even under bad input: after a barrage of refused
 * requests that carry credentials in the wrong places, plus ordinary traffic (tool calls, pushes,
 * warm sends, a model request, a merge), the container's log, its data dir (git homes, mirrors,
 * worktrees, clones, agent state), every repository's git config and this process's environment
 * hold no access token, refresh credential, broker key, container key or provider key — checked
 * with the testkit leak scanner, which is itself shown to find one planted token — and no payload
 * the container sent the control plane (events, heartbeats, reports) carries one.
 */
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONTAINER_KEY_HEADER } from '@gastown/protocol';
import { fingerprint, scanForSecrets } from '@gastown/testkit/leak-scan/index';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTAINER_KEY, keyHeaders, send, startStack, type Stack } from './support';

let s: Stack;
let scratch: string;
const pushed: string[] = [];

beforeAll(async () => {
  s = await startStack();
  scratch = await mkdtemp(join(tmpdir(), 'gastown-no-leak-'));
}, 60_000);
afterAll(async () => {
  await s?.stop();
  await rm(scratch, { recursive: true, force: true });
});

async function barrage(st: Stack): Promise<void> {
  const { mayor, polecat, refinery } = st;
  const c = st.container.url;
  const b = st.container.brokerUrl;
  // refused: credentials presented in the wrong places
  await send('GET', `${c}/agents`, { headers: { [CONTAINER_KEY_HEADER]: mayor.credentials.accessToken } });
  await send('GET', `${c}/agents`, { headers: { [CONTAINER_KEY_HEADER]: polecat.credentials.refreshCredential } });
  await send('POST', `${b}/broker/tools/status`, { headers: { authorization: `Bearer ${CONTAINER_KEY}` }, json: { text: 'x' } });
  await send('POST', `${b}/broker/tools/status`, { headers: { authorization: `Bearer ${refinery.credentials.accessToken}` }, json: { text: 'x' } });
  await send('POST', `${c}/agents/${mayor.identity.id}/credentials`, {
    headers: keyHeaders(),
    json: { grant: { accessToken: mayor.credentials.accessToken } },
  });
  await send('POST', `${c}/agents/${mayor.identity.id}/credentials`, {
    headers: keyHeaders(),
    json: {
      grant: await st.cp.mintGrant(mayor.identity.id),
      refresh: { refreshCredential: `bad_${polecat.credentials.refreshCredential}`, refreshCredentialExpiresAt: 1 },
    },
  });
  await send('POST', `${c}/agents`, {
    headers: keyHeaders(),
    json: { ...(await st.startRequest(mayor.identity)), extra: refinery.credentials.refreshCredential },
  });
  await send('POST', `${b}/broker/tools/status`, {
    headers: { authorization: `Bearer ${polecat.brokerKey}` },
    json: { text: 'x', token: polecat.credentials.accessToken },
  });
  // ordinary traffic
  for (const who of [mayor, polecat, refinery]) {
    const res = await send('POST', `${b}/broker/tools/list_rigs`, { headers: { authorization: `Bearer ${who.brokerKey}` }, json: {} });
    expect(res.status).toBe(200);
  }
  const grant = await st.cp.mintGrant(mayor.identity.id);
  pushed.push(grant.accessToken);
  expect((await send('POST', `${c}/agents/${mayor.identity.id}/messages`, { headers: keyHeaders(), json: { text: 'hello', grant } })).status).toBe(200);
  const push = await st.cp.mintGrant(polecat.identity.id);
  pushed.push(push.accessToken);
  expect((await send('POST', `${c}/agents/${polecat.identity.id}/credentials`, { headers: keyHeaders(), json: { grant: push } })).status).toBe(200);
  expect((await send('GET', `${b}/broker/llm/v1/models`, { headers: { authorization: `Bearer ${mayor.brokerKey}` } })).status).toBe(200);
  const merge = await send('POST', `${c}/git/merge`, {
    headers: keyHeaders(),
    json: {
      agentId: refinery.identity.id,
      rig: { ...st.fx.rig, gitUrl: st.fx.originPath },
      mergeRequestBeadId: 'bd_mr000001',
      branch: 'gt/ag_polecat01/bd_badinput1',
      commit: 'a'.repeat(40),
      message: 'Merge',
    },
  });
  expect(merge.status).toBe(202);
  await st.container.supervisor.drain();
}

describe('no credential leaks from the container', () => {
  it('log, data dir, git config and process environment hold no credential after bad and good traffic', async () => {
    await barrage(s);
    const secrets = [...s.secrets(), ...pushed];
    const dataDir = s.dataDir;
    const repos = [
      join(dataDir, 'mirrors', 'rig_abc123.git'),
      join(dataDir, 'worktrees', s.polecat.identity.id),
      join(dataDir, 'clones', s.refinery.identity.id),
    ];
    await s.container.stop();
    const log = join(scratch, 'container.log');
    await writeFile(log, s.lines.join(''));
    const gitHome = join(dataDir, 'git-home');
    const result = await scanForSecrets({
      secrets,
      roots: { files: [log], dirs: [dataDir], gitRepos: repos, processEnvPids: [process.pid] },
      gitEnv: { PATH: process.env.PATH, HOME: gitHome, GIT_CONFIG_GLOBAL: join(gitHome, '.gitconfig'), GIT_CONFIG_NOSYSTEM: '1' },
    });
    expect(result.errors).toEqual([]);
    expect(result.scanned.repos).toBe(3);
    expect(s.lines.length).toBeGreaterThan(10);
    expect(result.hits).toEqual([]);
    // and nothing the container sent the control plane (events, heartbeats, reports) carries one
    const sent = JSON.stringify({ events: s.cp.events, heartbeats: s.cp.heartbeats, completions: s.cp.completions, merges: s.cp.mergeResults });
    expect(s.cp.events.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(sent.includes(secret), `a credential (${fingerprint(secret)}) was sent to the control plane in a payload`).toBe(false);

    // the scan can fail: one planted token in the same log is found
    await appendFile(log, `{"msg":"oops","token":"${s.polecat.credentials.accessToken}"}\n`);
    const planted = await scanForSecrets({ secrets, roots: { files: [log] } });
    expect(planted.hits.map((h) => [h.kind, h.fingerprint])).toEqual([
      ['secret', fingerprint(s.polecat.credentials.accessToken)],
      ['jwt', fingerprint(s.polecat.credentials.accessToken)],
    ]);
  }, 60_000);
});
