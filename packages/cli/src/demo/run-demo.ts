/**
 * `npm run demo`: a whole town, offline, in about a minute. Starts a private stack (its own
 * ports and temp state) with the scripted fake LLM, creates a town and a rig backed by a fresh
 * local bare repository, asks the mayor for work, prints what happens, and finally proves that
 * the rig's default branch contains the polecat's commit.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { TownEvent } from '@gastown/protocol';
import {
  branchContains,
  createRigRepo,
  createTownScenario,
  fileOn,
  followTownEvents,
  setupTown,
  startStack,
  type EventFollower,
  type Stack,
  type UserApi,
} from '@gastown/testkit/stack/index';
import { formatTownEvent, type AgentLabel } from './format-event';

const USAGE = `usage: npm run demo [-- --keep] [-- --timeout SECONDS] [-- --logs]

  --keep         keep the demo's state directory (keys, logs, repositories) afterwards
  --timeout N    give up after N seconds (default 300)
  --logs         also print every process's output
`;

export interface DemoOptions {
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
  /** Extra container-host env (e.g. GASTOWN_PLUGIN_PATH to try another plugin bundle). */
  hostEnv?: Record<string, string>;
}

export async function runDemo(args: string[], options: DemoOptions = {}): Promise<number> {
  const out = options.out ?? process.stdout;
  const err = options.err ?? process.stderr;
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: { keep: { type: 'boolean' }, timeout: { type: 'string' }, logs: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (error) {
    err.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    out.write(USAGE);
    return 0;
  }
  const timeoutMs = Number(values.timeout ?? 300) * 1000;
  const t0 = Date.now();
  const say = (line: string) => out.write(`${line}\n`);
  const failures: string[] = [];
  const scenario = createTownScenario({
    onNote: (note) => {
      if (note.kind === 'turn') say(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] model → ${note.role}: ${note.action}`);
      else {
        failures.push(`${note.role} ${note.tool}: ${note.content}`);
        say(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] model sees a failed ${note.tool}: ${note.content}`);
      }
    },
  });
  const llmApiKey = `fake-${randomBytes(16).toString('hex')}`;

  let stack: Stack | null = null;
  let follower: EventFollower | null = null;
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    say('\ndemo: interrupted, stopping…');
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    say('demo: starting a private stack (wrangler dev, container host, scripted fake LLM)…');
    stack = await startStack({
      fakeLlm: { apiKey: llmApiKey, responder: scenario.responder, title: 'Demo session' },
      hostEnv: {
        GASTOWN_HEARTBEAT_INTERVAL_SECONDS: '5',
        GASTOWN_POLECAT_IDLE_TIMEOUT_SECONDS: '5',
        GASTOWN_REFINERY_IDLE_TIMEOUT_SECONDS: '20',
        GASTOWN_STOP_TIMEOUT_SECONDS: '5',
        GASTOWN_STOP_GRACE_SECONDS: '10',
        ...(options.hostEnv ?? {}),
      },
      echo: values.logs ? out : null,
      frozenWorker: true,
    });
    say(`demo: control plane ${stack.workerUrl}, container host ${stack.hostUrl}, state ${stack.stateDir}`);
    const api = await stack.userApi('demo-user');
    const repo = createRigRepo(join(stack.stateDir, 'repos'), 'demo-rig');
    say(`demo: rig repository ${repo.path} (main at ${repo.initialCommit.slice(0, 12)})`);
    const { town, rig } = await setupTown(api, {
      name: 'demo',
      llmUrl: stack.fakeLlm!.url,
      llmApiKey,
      rig: { name: 'demo-rig', gitUrl: repo.path, defaultBranch: repo.defaultBranch },
      agentTokenTtlSeconds: 20,
    });
    say(`demo: town ${town.id} (agent tokens live ${town.config.agentTokenTtlSeconds} s, so refreshes show up), rig ${rig.id}`);

    const labels = new Map<string, AgentLabel>();
    const labelOf = (id: string | null) => (id ? (labels.get(id) ?? null) : null);
    const token = await stack.userToken('demo-user');
    // printed in order: a label lookup (one API call) never lets a later event overtake
    let printing = Promise.resolve();
    const printEvent = async (event: TownEvent) => {
      if (event.agentId && !labels.has(event.agentId)) await refreshLabels(api, town.id, labels);
      const line = formatTownEvent(event, labelOf, t0);
      if (line) say(line);
    };
    follower = followTownEvents({
      workerUrl: stack.workerUrl,
      token,
      townId: town.id,
      onEvent: (event) => {
        printing = printing.then(() => printEvent(event));
      },
    });

    const sent = await api.sendMayorMessage(town.id, 'Please add a note to demo-rig.');
    say(`demo: message to the mayor: ${sent.delivery}`);

    const merged = await waitUntil(
      () => interrupted || failures.length > 0 || (scenario.approvals.length > 0 && follower!.events.some((e) => e.type === 'merge_request.merged')),
      timeoutMs - (Date.now() - t0),
    );
    if (interrupted) return 130;
    if (failures.length > 0) {
      // a failed tool call never fixes itself in a scripted run: stop at once and say what failed
      err.write(`demo: FAILED — an agent's tool call failed:\n${failures.map((f) => `  ${f}`).join('\n')}\ndemo: logs in ${stack.logs.dir}\n`);
      return 1;
    }
    if (!merged) {
      err.write(`demo: no merge within ${Math.round(timeoutMs / 1000)} s; logs in ${stack.logs.dir}\n`);
      return 1;
    }
    const commit = scenario.commits[0];
    if (!commit) {
      err.write('demo: the merge happened but no polecat commit was seen\n');
      return 1;
    }
    const contained = branchContains(repo.path, repo.defaultBranch, commit.sha);
    const beads = await api.beads(town.id);
    const source = beads.find((b) => b.id === commit.beadId);
    say('');
    say(`demo: polecat commit ${commit.sha.slice(0, 12)} on ${commit.branch}`);
    say(`demo: ${repo.defaultBranch} of ${repo.path} ${contained ? 'contains' : 'does NOT contain'} it`);
    if (contained) say(`demo: ${commit.file} on ${repo.defaultBranch}:\n${indent(fileOn(repo.path, repo.defaultBranch, commit.file))}`);
    say(`demo: bead ${commit.beadId} is ${source?.status ?? 'missing'}`);
    const ok = contained && source?.status === 'closed';
    say(ok ? `demo: done in ${((Date.now() - t0) / 1000).toFixed(1)} s ✔` : 'demo: FAILED');
    return ok ? 0 : 1;
  } catch (error) {
    err.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`);
    if (stack) err.write(`demo: logs in ${stack.logs.dir}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await follower?.stop();
    if (stack) {
      say('demo: stopping the stack…');
      const report = await stack.stop({ removeState: !values.keep });
      if (report.orphans.length) err.write(`demo: killed ${report.orphans.length} stray process(es)\n`);
      if (values.keep) say(`demo: state kept in ${stack.stateDir}`);
    }
  }
}

async function refreshLabels(api: UserApi, townId: string, labels: Map<string, AgentLabel>): Promise<void> {
  try {
    for (const agent of await api.agents(townId)) labels.set(agent.id, { role: agent.role, name: agent.name });
  } catch {
    // labels are cosmetic
  }
}

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return check();
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
