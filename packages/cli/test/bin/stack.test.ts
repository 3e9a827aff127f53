/**
 * The real binary against the real local stack (`startStack`: wrangler dev + the container host +
 * the scripted fake LLM): every command, its JSON output and its error paths. The mayor command
 * is followed end to end: the message reaches a real opencode mayor, whose scripted turn calls
 * gt_list_rigs and gt_sling, and the CLI prints the tool calls and the reply from the town's
 * event stream.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Town } from '@gastown/protocol';
import {
  createRigRepo,
  createTownScenario,
  FAKE_LLM_KEY_VAR,
  FAKE_LLM_MODEL,
  startStack,
  type RigRepo,
  type Stack,
  type UserApi,
} from '@gastown/testkit/stack/index';
import { messageText, type Responder } from '@gastown/testkit/fake-llm/index';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox, type Sandbox } from '../support/run-gastown';

const USER = 'cli-user';
const HOST_ENV = {
  GASTOWN_HEARTBEAT_INTERVAL_SECONDS: '5',
  GASTOWN_POLECAT_IDLE_TIMEOUT_SECONDS: '5',
  GASTOWN_REFINERY_IDLE_TIMEOUT_SECONDS: '10',
  GASTOWN_STOP_TIMEOUT_SECONDS: '5',
  GASTOWN_STOP_GRACE_SECONDS: '10',
};

const SLOW_REPLY_MS = 8_000;

let stack: Stack;
let api: UserApi;
let token: string;
let sandbox: Sandbox;
let env: Record<string, string>;
let town: Town;
let repo: RigRepo;
const llmApiKey = `fake-${randomBytes(16).toString('hex')}`;

/** Run the binary as USER against the stack. */
const gastown = (args: string[], extraEnv: Record<string, string> = {}, timeoutMs?: number) => sandbox.run(args, { env: { ...env, ...extraEnv }, timeoutMs });

/** Nothing any command printed may contain the user token or the admin secret. */
const outputs: string[] = [];
async function run(args: string[], extraEnv: Record<string, string> = {}, timeoutMs?: number) {
  const r = await gastown(args, extraEnv, timeoutMs);
  outputs.push(r.stdout, r.stderr);
  return r;
}

beforeAll(async () => {
  const scenario = createTownScenario();
  const responder: Responder = (request, ctx) =>
    messageText(ctx.lastMessage).includes('[slow]') ? { type: 'text', text: 'sorry, I was slow', delayMs: SLOW_REPLY_MS } : scenario.responder(request, ctx);
  stack = await startStack({ fakeLlm: { apiKey: llmApiKey, responder }, hostEnv: HOST_ENV });
  token = await stack.userToken(USER);
  api = await stack.userApi(USER);
  sandbox = createSandbox();
  env = { GASTOWN_URL: stack.workerUrl, GASTOWN_TOKEN: token };
});

afterAll(async () => {
  const report = await stack?.stop({ removeState: true });
  sandbox?.remove();
  expect(report?.orphans ?? []).toEqual([]);
  for (const text of outputs) {
    expect(text).not.toContain(token);
    expect(text).not.toContain(stack.adminSecret);
  }
});

describe('token create (admin)', () => {
  it('prints only the token, which then works as a user token', async () => {
    const r = await gastown(['token', 'create', 'alice', '--admin-secret', stack.adminSecret, '--ttl', '1h']);
    expect(r.code).toBe(0);
    const minted = r.stdout.trim();
    expect(r.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(r.stderr).toMatch(/^token for alice, expires \d{4}-\d\d-\d\d \d\d:\d\d UTC\n$/);
    const list = await gastown(['town', 'list', '--json', '--token', minted]);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual({ towns: [] });
  });

  it('takes the secret from GASTOWN_ADMIN_SECRET, and --json prints the whole answer', async () => {
    const r = await gastown(['token', 'create', '--user', 'bob', '--json'], { GASTOWN_ADMIN_SECRET: stack.adminSecret });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ userId: 'bob', token: expect.any(String), expiresAt: expect.any(Number) });
  });

  it("takes the secret from the local stack's files (.gastown/dev.json) found with the project config", async () => {
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const project = join(sandbox.root, 'dev-project');
    mkdirSync(join(project, '.gastown'), { recursive: true });
    writeFileSync(join(project, '.gastown', 'cli.json'), JSON.stringify({ url: stack.workerUrl }));
    writeFileSync(join(project, '.gastown', 'dev.json'), JSON.stringify({ adminSecret: stack.adminSecret }));
    const r = await sandbox.run(['token', 'create', 'carol'], { cwd: project });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  });

  it('a wrong admin secret: exit 4, the rejection code', async () => {
    const r = await run(['token', 'create', 'alice', '--admin-secret', 'not-the-secret-but-long-enough-0000000']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('gastown: your admin secret was rejected: admin_unauthorized');
    expect(r.stderr).not.toContain('not-the-secret');
  });

  it("bad input: the server's validation message, exit 2", async () => {
    const short = await run(['token', 'create', 'alice', '--ttl', '5', '--admin-secret', stack.adminSecret]);
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/gastown: the server refused the input: .*ttlSeconds/);
    const badUser = await run(['token', 'create', 'al ice', '--admin-secret', stack.adminSecret]);
    expect(badUser.code).toBe(2);
    expect(badUser.stderr).toMatch(/gastown: the server refused the input: .*userId/);
  });
});

describe('bad tokens', () => {
  it('a malformed token: exit 4, "your token was rejected: token_malformed"', async () => {
    const r = await run(['town', 'list'], { GASTOWN_TOKEN: 'not-a-jwt' });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('gastown: your token was rejected: token_malformed');
    expect(r.stderr).toContain('hint: get a new token');
  });

  it('a token signed with another key: token_bad_signature; --json carries the server code', async () => {
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ jti: 'forged-jti-0001' })
      .setProtectedHeader({ alg: 'HS256', kid: stack.keys.activeKid })
      .setIssuer('gastown')
      .setAudience('gastown:user')
      .setSubject(USER)
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(randomBytes(48));
    const r = await run(['status', '--json', '--town', 'town_aaaaaaaa'], { GASTOWN_TOKEN: forged });
    expect(r.code).toBe(4);
    expect(JSON.parse(r.stdout)).toEqual({
      error: {
        code: 'unauthorized',
        message: expect.stringMatching(/^your token was rejected: token_bad_signature/),
        status: 401,
        serverCode: 'token_bad_signature',
      },
    });
    expect(r.stdout + r.stderr).not.toContain(forged);
  });
});

describe('towns', () => {
  it('with no town: town list says so, a town command explains how to create one (exit 5)', async () => {
    const list = await run(['town', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toBe('');
    expect(list.stderr).toContain('no towns yet');
    const status = await run(['status']);
    expect(status.code).toBe(5);
    expect(status.stderr).toContain('you have no town yet: create one with `gastown town create <name>`');
  });

  it('town create prints the new town; --json the object', async () => {
    const r = await run(['town', 'create', 'alpha']);
    expect(r.code).toBe(0);
    const id = /^created town alpha \((town_[a-z0-9]+)\)\n$/.exec(r.stdout)?.[1];
    expect(id).toBeDefined();
    const json = await run(['town', 'create', 'scratch', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).town).toMatchObject({ name: 'scratch', ownerId: USER });
    // wire alpha to the fake LLM (the CLI has no provider command) and give it a real repository
    town = await api.updateConfig(id!, {
      provider: { kind: 'openai-compatible', baseUrl: stack.fakeLlm!.url, model: FAKE_LLM_MODEL, apiKeyEnvVar: FAKE_LLM_KEY_VAR },
      envVars: { [FAKE_LLM_KEY_VAR]: llmApiKey },
    });
    repo = createRigRepo(join(stack.stateDir, 'repos', 'alpha'), 'web');
  });

  it('a duplicate name: conflict, exit 6; a bad name: the server message, exit 2', async () => {
    const dup = await run(['town', 'create', 'alpha']);
    expect(dup.code).toBe(6);
    expect(dup.stderr).toMatch(/^gastown: .*alpha/m);
    const bad = await run(['town', 'create', 'Bad Name']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('gastown: the server refused the input: body.name: must be lower-case letters, digits and dashes');
  });

  it('town list: a table, the configured town starred; --json', async () => {
    const r = await run(['town', 'list', '--town', 'alpha']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\s+ID\s+NAME\s+RUNTIME\s+MODEL\s+CREATED$/);
    expect(lines.find((l) => l.includes(town.id))).toMatch(new RegExp(`^\\*  ${town.id}\\s+alpha\\s+opencode\\s+${FAKE_LLM_MODEL}\\s+\\d{4}-`));
    expect(lines.find((l) => l.includes('scratch'))).toMatch(/^ {3}town_/);
    const json = JSON.parse((await run(['town', 'list', '--json'])).stdout);
    expect(json.towns.map((t: Town) => t.name).sort()).toEqual(['alpha', 'scratch']);
  });

  it('with two towns, a town command needs --town (exit 2); names and ids both work', async () => {
    const ambiguous = await run(['status']);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toMatch(/you have 2 towns \(.*alpha \(town_.*scratch.*\): pick one with --town/);
    const byName = await run(['rig', 'list', '--town', 'alpha', '--json']);
    expect(byName.code).toBe(0);
    const byEnv = await run(['rig', 'list', '--json'], { GASTOWN_TOWN: town.id });
    expect(byEnv.code).toBe(0);
  });

  it('an unknown town: exit 5 for every town command, by id or by name', async () => {
    const commands = [
      ['status'],
      ['beads'],
      ['rig', 'list'],
      ['rig', 'add', 'web', '/srv/web.git'],
      ['mayor', 'hello', '--no-wait'],
      ['credentials', 'reissue', 'ag_aaaaaaaa'],
      ['agent', 'stop', 'ag_aaaaaaaa'],
    ];
    const results = await Promise.all(commands.map((c) => run([...c, '--town', 'town_zzzzzzzz'])));
    results.forEach((r, i) => {
      const args = commands[i]!.join(' ');
      expect({ args, code: r.code }).toEqual({ args, code: 5 });
      expect(r.stderr).toContain('gastown: town town_zzzzzzzz not found');
    });
    const byName = await run(['status', '--town', 'nowhere']);
    expect(byName.code).toBe(5);
    expect(byName.stderr).toContain('no town named "nowhere" (from --town)');
  });
});

describe('rigs', () => {
  it('rig add and rig list', async () => {
    const add = await run(['rig', 'add', 'web', repo.path, '--branch', repo.defaultBranch, '--town', 'alpha']);
    expect(add.code).toBe(0);
    expect(add.stdout).toMatch(new RegExp(`^added rig web \\(rig_[a-z0-9]+\\): ${repo.path} on ${repo.defaultBranch}\\n$`));
    const list = await run(['rig', 'list', '--town', 'alpha']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^ID\s+NAME\s+BRANCH\s+GIT URL\s+AUTH\s+MERGE\s+WEBHOOK\s+CREATED\n/);
    expect(list.stdout).toContain(repo.path);
    const json = JSON.parse((await run(['rig', 'list', '--town', 'alpha', '--json'])).stdout);
    expect(json.rigs).toHaveLength(1);
    expect(json.rigs[0]).toMatchObject({ name: 'web', gitUrl: repo.path, townId: town.id });
  });

  it("bad input: the server's message, exit 2; a duplicate rig, exit 6", async () => {
    const relative = await run(['rig', 'add', 'api', 'relative/path', '--town', 'alpha']);
    expect(relative.code).toBe(2);
    expect(relative.stderr).toMatch(/gastown: the server refused the input: body\.gitUrl: /);
    const branch = await run(['rig', 'add', 'api', '/srv/api.git', '--branch=-evil', '--town', 'alpha']);
    expect(branch.code).toBe(2);
    expect(branch.stderr).toMatch(/body\.defaultBranch/);
    const dup = await run(['rig', 'add', 'web', repo.path, '--town', 'alpha']);
    expect(dup.code).toBe(6);
  });
});

describe('status, beads, credentials before the mayor runs', () => {
  it('status: the mayor row; --json the agents', async () => {
    const r = await run(['status', '--town', 'alpha']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`town alpha (${town.id}): 1 agent`);
    expect(lines[1]).toMatch(/^ROLE\s+NAME\s+ID\s+STATUS\s+ISOLATION\s+BEAD\s+HEARTBEAT\s+CREDENTIAL\s+EXPIRES IN\s+REFRESHED\s+REFRESHES\s+FAILURES\s+401s$/);
    expect(lines[2]).toMatch(/^mayor\s+\S+\s+ag_[a-z0-9]+\s+idle\s+-\s+-\s+-\s+none\s+-\s+-\s+0\s+-\s+-$/);
    expect(lines[3]).toBe('mayor session: none saved yet');
    const json = JSON.parse((await run(['status', '--town', 'alpha', '--json'])).stdout);
    expect(json.town).toEqual({ id: town.id, name: 'alpha' });
    expect(json.agents.map((a: { role: string }) => a.role)).toEqual(['mayor']);
    expect(json.agents[0].session).toBe(null);
  });

  it('status in colour only when asked (FORCE_COLOR) or on a terminal', async () => {
    const plain = await run(['status', '--town', 'alpha']);
    expect(plain.stdout).not.toContain('\u001b[');
    const coloured = await run(['status', '--town', 'alpha'], { NO_COLOR: '', FORCE_COLOR: '1' });
    expect(coloured.stdout).toContain('\u001b[1mROLE');
  });

  it('beads: none yet; a bad --status is refused by the server (exit 2)', async () => {
    const none = await run(['beads', '--town', 'alpha']);
    expect(none.code).toBe(0);
    expect(none.stderr).toContain('no beads yet');
    expect(JSON.parse((await run(['beads', '--town', 'alpha', '--json'])).stdout)).toEqual({ beads: [] });
    const bad = await run(['beads', '--town', 'alpha', '--status', 'done']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/gastown: the server refused the input: query\.status/);
  });

  it('credentials reissue for an agent never dispatched: conflict, exit 6', async () => {
    const mayor = (await api.agents(town.id)).find((a) => a.role === 'mayor')!;
    const r = await run(['credentials', 'reissue', mayor.id, '--town', 'alpha']);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 6,
      stdout: '',
      stderr: 'gastown: agent has never been dispatched; there is nothing to reissue\n',
    });
  });

  it('credentials reissue errors: unknown agent exit 5, a malformed id exit 2', async () => {
    const unknown = await run(['credentials', 'reissue', 'ag_unknown0', '--town', 'alpha']);
    expect(unknown.code).toBe(5);
    expect(unknown.stderr).toContain('gastown: agent ag_unknown0 not found in town');
    const malformed = await run(['credentials', 'reissue', 'mayor', '--town', 'alpha']);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('gastown: the server refused the input: path.agentId: must be an id');
  });
});

describe('mayor', () => {
  it("streams the mayor's tool calls and reply, and stops when it is idle again", async () => {
    const r = await run(['mayor', 'please add a /health endpoint', '--town', 'alpha', '--timeout', '150'], {}, 170_000);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    const lines = r.stdout.trimEnd().split('\n');
    const listRigs = lines.indexOf('→ gt_list_rigs');
    const sling = lines.findIndex((l) => l.startsWith('→ gt_sling {'));
    expect(listRigs).toBeGreaterThanOrEqual(0);
    expect(lines[sling]).toContain('"rigId":"rig_');
    expect(lines.indexOf('✓ gt_list_rigs')).toBeGreaterThan(listRigs);
    expect(lines.indexOf('✓ gt_sling')).toBeGreaterThan(sling);
    expect(lines.at(-1)).not.toMatch(/^[→✓✗]/);
  });

  it('beads: the bead the mayor slung', async () => {
    const r = await run(['beads', '--town', 'alpha']);
    expect(r.code).toBe(0);
    // COST: once the bead's polecat has called the model (usage?by=bead)
    expect(r.stdout).toMatch(/^ID\s+TYPE\s+STATUS\s+ASSIGNEE\s+ATTEMPTS\s+UPDATED\s+(COST\s+)?TITLE\n/);
    expect(r.stdout).toMatch(/^bd_[a-z0-9]+\s+issue\s+/m);
    const json = JSON.parse((await run(['beads', '--town', 'alpha', '--json'])).stdout);
    expect(json.beads.length).toBeGreaterThanOrEqual(1);
    const status = json.beads[0].status as string;
    const filtered = JSON.parse((await run(['beads', '--town', 'alpha', '--json', '--status', status])).stdout);
    expect(filtered.beads.every((b: { status: string }) => b.status === status)).toBe(true);
  });

  it('credentials reissue for the running mayor: delivered', async () => {
    const mayor = (await api.agents(town.id)).find((a) => a.role === 'mayor')!;
    const r = await run(['credentials', 'reissue', mayor.id, '--town', 'alpha', '--json']);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.outcome).toBe('delivered');
    expect(result.agent.id).toBe(mayor.id);
    expect(r.stdout).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
  });

  it('--json: one object per line, posted, events, end', async () => {
    const r = await run(['mayor', 'and a /ready endpoint', '--town', 'alpha', '--json', '--timeout', '120'], {}, 140_000);
    expect(r.code).toBe(0);
    const records = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(records[0]).toMatchObject({ type: 'posted', delivery: 'delivered', message: { text: 'and a /ready endpoint' } });
    expect(records.at(-1)).toEqual({ type: 'end', reason: 'idle' });
    const types = records.slice(1, -1).map((x) => x.event.type);
    expect(types).toContain('agent.tool');
    expect(types.at(-1)).toBe('session.idle');
    expect(records.slice(1, -1).every((x) => x.type === 'event' && x.event.agentId === records[0].mayor.id)).toBe(true);
  });

  it('--no-wait returns after posting', async () => {
    const r = await run(['mayor', 'status report please', '--town', 'alpha', '--no-wait']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^sent message mm_[a-z0-9]+ to the mayor \(delivered\)\n$/);
  });

  it('an empty message is a usage error; a message read from stdin works', async () => {
    const empty = await run(['mayor', '  ', '--town', 'alpha']);
    expect(empty.code).toBe(2);
    const stdin = await sandbox.run(['mayor', '-', '--town', 'alpha', '--no-wait'], { env, input: 'from stdin' });
    expect(stdin.code).toBe(0);
  });

  it('a town without a model provider: the server refuses the message (exit 6)', async () => {
    const r = await run(['mayor', 'hello?', '--town', 'scratch']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 6, stderr: expect.stringContaining('gastown: configure a model provider first') });
  });

  it('no reply within --timeout: exit 7', async () => {
    // the responder answers "[slow]" messages after SLOW_REPLY_MS
    const r = await run(['mayor', '[slow] are you there?', '--town', 'alpha', '--timeout', '2'], {}, 60_000);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 7, stderr: expect.stringContaining("gastown: no end of the mayor's reply within 2 s") });
  });

  it('credentials reissue for an agent its container no longer runs: minted_not_running', async () => {
    // the polecat the mayor slung finishes its bead and exits after its idle timeout
    const deadline = Date.now() + 120_000;
    let polecat = (await api.agents(town.id)).find((a) => a.role === 'polecat' && (a.status === 'exited' || a.status === 'failed'));
    while (!polecat && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 2000));
      polecat = (await api.agents(town.id)).find((a) => a.role === 'polecat' && (a.status === 'exited' || a.status === 'failed'));
    }
    expect(polecat, JSON.stringify((await api.agents(town.id)).map((a) => [a.role, a.status]))).toBeDefined();
    const r = await run(['credentials', 'reissue', polecat!.id, '--town', 'alpha']);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 0,
      stdout: `reissued credentials for ${polecat!.name} (${polecat!.id}): minted, but no container runs the agent (it gets fresh credentials when it is next dispatched)\n`,
      stderr: '',
    });
  }, 150_000);

  it('agent stop, then credentials reissue for the stopped agent: conflict, exit 6', async () => {
    const polecat = (await api.agents(town.id)).find((a) => a.role === 'polecat' && (a.status === 'exited' || a.status === 'failed'))!;
    const stopped = await run(['agent', 'stop', polecat.id, '--town', 'alpha']);
    expect({ code: stopped.code, stdout: stopped.stdout, stderr: stopped.stderr }).toEqual({
      code: 0,
      stdout: `stopped polecat ${polecat.name} (${polecat.id}): status stopped, generation ${polecat.credential.gen + 1}\n`,
      stderr: '',
    });
    expect((await api.agents(town.id)).find((a) => a.id === polecat.id)).toMatchObject({ status: 'stopped', credential: { gen: polecat.credential.gen + 1 } });
    const unknown = await run(['agent', 'stop', 'ag_unknown0', '--town', 'alpha']);
    expect({ code: unknown.code, stderr: unknown.stderr }).toEqual({
      code: 5,
      stderr: expect.stringContaining('gastown: agent ag_unknown0 not found in town'),
    });
    const r = await run(['credentials', 'reissue', polecat.id, '--town', 'alpha']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 6, stderr: 'gastown: agent is stopped; its credentials cannot be reissued\n' });
  });
});
