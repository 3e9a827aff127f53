/**
 * Models per role and usage, end to end (issue 14): real workerd, container host, containers and
 * `opencode serve`, the fake LLM speaking both wire formats. Two towns run side by side:
 *
 * - `anthropic`: an `anthropic` provider (Messages API, `x-api-key`) with a model per role and a
 *   price override;
 * - `openrouter`: an `openrouter` provider (OpenAI chat completions, Bearer) with a model per role
 *   named the OpenRouter way (`vendor/model`), priced from the default table.
 *
 * Each town takes a bead from the mayor through a polecat and the refinery to the merge. Then:
 * the fake LLM's log names each role's model (titles: the small model) and carries the provider
 * key only in the proxy's own header; the usage API's totals — overall, by model, by role, by
 * agent, by bead, and the cost — equal the fake LLM's own counts exactly; a control-plane outage
 * while the mayor keeps calling the model (events buffered, then one answer lost so the batch is
 * retried) and a container sleep/wake change nothing in that equality; and no agent process,
 * file or tool result ever holds the key.
 *
 * The containers reach the control plane through a ControlPlaneProxy (support/control-plane-proxy.ts).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROKER_API, type Agent, type ModelPrice, type ProviderKind, type TownModels, type UsageGroup } from '@gastown/protocol';
import { callTool, fingerprint, reply, toolResultsOf, type ModelWireFormat, type RecordedRequest, type Turn } from '../src/fake-llm/index';
import { branchContains, currentTurn, roleOf, secretValues, type RigRepo } from '../src/stack/index';
import { scanForSecrets } from '../src/leak-scan/index';
import { describeAgents, sleep, startHarness, waitFor, type Harness } from './support/harness';
import { agentProcessPids, stateDirScanRoots } from './support/leak-check';
import { asObject, fetchUsage, isStreamed, llmCallsOf, rowsByKey, sumsBy, sumsOf, sumsOfRow, type UsageSums } from './support/usage';
import { keepStateOfFailedRuns } from './support/stack-state-keeper';

const startedAt = Date.now();
let h: Harness;

type RoleModels = Pick<TownModels, 'default'> & { mayor: string; polecat: string; refinery: string; small: string };

interface TownUnderTest {
  label: string;
  kind: ProviderKind;
  wire: ModelWireFormat;
  keyVar: string;
  models: RoleModels;
  prices: Record<string, ModelPrice>;
  townId: string;
  mayorId: string;
  repo: RigRepo;
  beadId: string | null;
}

const TOWNS: Array<Pick<TownUnderTest, 'label' | 'kind' | 'wire' | 'keyVar' | 'models' | 'prices'>> = [
  {
    label: 'anthropic',
    kind: 'anthropic',
    wire: 'anthropic-messages',
    keyVar: 'ANTHROPIC_API_KEY',
    models: { default: 'claude-sonnet-4-5', mayor: 'claude-opus-4-5', polecat: 'claude-sonnet-4', refinery: 'claude-haiku-4-5', small: 'claude-3-5-haiku' },
    // one override: the refinery's model costs what this town negotiated
    prices: { 'claude-haiku-4-5': { inputPerMTok: 2, outputPerMTok: 7, cacheReadPerMTok: 0.2, cacheWritePerMTok: 2.5 } },
  },
  {
    label: 'openrouter',
    kind: 'openrouter',
    wire: 'openai-chat',
    keyVar: 'OPENROUTER_API_KEY',
    models: {
      default: 'openai/gpt-4o-mini',
      mayor: 'openai/gpt-4o',
      polecat: 'openai/gpt-4.1-mini',
      refinery: 'openai/gpt-5-mini',
      small: 'openai/gpt-5-nano',
    },
    prices: {},
  },
];
let towns: TownUnderTest[] = [];

const PROBE = 'PROBE: look at your environment';
const PING = 'PING after sleep';
const NON_STREAMED_PROMPT = 'Summarise: nothing happened.';

/**
 * A model call the runtime never makes: not streamed. The agent makes it itself (curl) through its
 * own model proxy with its own broker key, naming the small model, in its wire's format.
 */
function nonStreamedCall(t: Pick<TownUnderTest, 'wire' | 'models'>): string {
  const anthropic = t.wire === 'anthropic-messages';
  const messages = [{ role: 'user', content: NON_STREAMED_PROMPT }];
  const body = JSON.stringify(anthropic ? { model: t.models.small, max_tokens: 64, messages } : { model: t.models.small, messages });
  const auth = anthropic ? '-H "x-api-key: $GASTOWN_AGENT_KEY" -H "anthropic-version: 2023-06-01"' : '-H "authorization: Bearer $GASTOWN_AGENT_KEY"';
  const url = `"$GASTOWN_BROKER_URL${BROKER_API.llm}/${anthropic ? 'messages' : 'chat/completions'}"`;
  return `curl -s -w '\\nHTTP %{http_code}\\n' -X POST ${url} ${auth} -H 'content-type: application/json' -d '${body}'; echo NON_STREAMED_DONE`;
}

/** The probe turn's bash steps: the agent's environment, its runtime's config and data files, a non-streamed model call, a plain step. */
function probeSteps(t: Pick<TownUnderTest, 'wire' | 'models'>): string[] {
  return [
    'env | sort',
    'for f in "$HOME"/.config/opencode/* "$HOME"/.config/kilo/* "$HOME"/.local/share/opencode/* "$HOME"/.local/share/kilo/*; do [ -f "$f" ] && { echo "== $f"; head -c 20000 "$f"; echo; }; done; echo PROBE_FILES_DONE',
    nonStreamedCall(t),
    'echo last step',
  ];
}

/** The mayor's PROBE turn (several model calls, bash only: nothing needs the control plane) and its PING answer. */
function intercept(request: { messages: Parameters<typeof currentTurn>[0] }, ctx: { agentId: string | null; toolNames: string[] }): Turn | null {
  if (roleOf(ctx.toolNames) !== 'mayor') return null;
  const { userText, turnMessages } = currentTurn(request.messages);
  if (userText.startsWith(PING)) return reply('pong');
  if (!userText.startsWith(PROBE)) return null;
  const town = towns.find((t) => t.mayorId === ctx.agentId);
  if (!town) return reply('Not a town under test.');
  const steps = probeSteps(town);
  const done = toolResultsOf(turnMessages).filter((r) => r.name === 'bash').length;
  if (done < steps.length) return callTool('bash', { command: steps[done]!, description: `probe step ${done + 1}` });
  return reply('Probed.');
}

const turnsEnded = (agentId: string) => h.stack.fakeLlm!.chatRequests(agentId).filter((r) => r.answer.type === 'text').length;

async function describeTown(t: TownUnderTest): Promise<string> {
  const beads = await h.api.beads(t.townId);
  return `${t.label}: ${describeAgents(await h.agentsOf(t.townId))} || beads: ${beads.map((b) => `${b.type}:${b.id}:${b.status}`).join(', ')}`;
}

async function townCalls(t: TownUnderTest): Promise<{ agents: Agent[]; calls: RecordedRequest[] }> {
  const agents = await h.agentsOf(t.townId);
  return { agents, calls: llmCallsOf(h.stack.fakeLlm!, agents) };
}

/** Wait until the usage API's totals equal the fake LLM's counts for the town; returns both. */
async function waitUsageEqual(t: TownUnderTest, what: string, timeoutMs = 90_000): Promise<{ expected: UsageSums; agents: Agent[]; calls: RecordedRequest[] }> {
  let last = '';
  return waitFor(
    async () => {
      const { agents, calls } = await townCalls(t);
      const expected = sumsOf(calls, t.prices);
      const got = sumsOfRow((await fetchUsage(h.api, t.townId)).totals);
      last = `api ${JSON.stringify(got)} vs llm ${JSON.stringify(expected)}`;
      return JSON.stringify(got) === JSON.stringify(expected) ? { expected, agents, calls } : null;
    },
    { timeoutMs, intervalMs: 2_000, what: `${t.label}: ${what}`, describe: () => last },
  );
}

/** The usage API grouped `by` equals the fake LLM's counts grouped the same way. */
async function expectGroupedEqual(t: TownUnderTest, by: UsageGroup, calls: RecordedRequest[], keyOf: (r: RecordedRequest) => string): Promise<void> {
  const usage = await fetchUsage(h.api, t.townId, by);
  expect(usage.by).toBe(by);
  expect(asObject(rowsByKey(usage)), `${t.label}: usage by ${by}`).toEqual(asObject(sumsBy(calls, keyOf, t.prices)));
}

beforeAll(async () => {
  h = await startHarness({
    controlPlaneProxy: true,
    // an agent is lost after 3 missed heartbeats: 60 s, far longer than the outage below (a run
    // declared lost is revoked, and the events it still holds are refused)
    hostEnv: { GASTOWN_HEARTBEAT_INTERVAL_SECONDS: '20' },
    intercept: (request, ctx) => intercept(request, ctx),
  });
  towns = await Promise.all(
    TOWNS.map(async (spec) => {
      const { town, repo } = await h.createTown(`usage-${spec.label}`, {
        agentTokenTtlSeconds: 300,
        config: {
          provider: { kind: spec.kind, baseUrl: h.stack.fakeLlm!.url, apiKeyEnvVar: spec.keyVar },
          envVars: { [spec.keyVar]: h.llmApiKey },
          models: spec.models,
          prices: spec.prices,
        },
      });
      expect(town.config.models).toMatchObject(spec.models);
      const mayor = await h.mayorOf(town.id);
      return { ...spec, townId: town.id, mayorId: mayor.id, repo: repo!, beadId: null };
    }),
  );
});

const stackState = keepStateOfFailedRuns();

afterAll(async () => {
  await h?.stop();
  stackState.dispose(h?.stack.stateDir);
  console.log(`usage-figures ${JSON.stringify({ file: 'models-usage', durationMs: Date.now() - startedAt })}`);
});

describe('models per role and usage, on both wire formats', () => {
  it('a bead goes mayor → polecat → refinery → merge; every role calls its own model; the provider key is only in the proxy upstream header', async () => {
    const processHits: string[] = [];
    await Promise.all(
      towns.map(async (t) => {
        expect((await h.api.sendMayorMessage(t.townId, 'Please add a note to the rig.')).delivery).not.toBe('failed');
        const sling = await waitFor(() => h.scenario.slings.find((s) => s.mayorId === t.mayorId), {
          timeoutMs: 150_000,
          what: `${t.label}: the mayor to sling`,
          describe: () => describeTown(t),
        });
        t.beadId = sling.beadId;
        // while the polecat works: its process (and every other agent's) holds no provider key
        await waitFor(async () => (await h.agentsOf(t.townId)).find((a) => a.role === 'polecat' && a.status === 'working'), {
          timeoutMs: 180_000,
          what: `${t.label}: a working polecat`,
          describe: () => describeTown(t),
        });
        const pids = agentProcessPids(h.stack.stateDir);
        const scan = await scanForSecrets({ secrets: [h.llmApiKey], patterns: [], roots: { processTrees: pids } });
        processHits.push(...scan.hits.map((hit) => `${t.label} ${hit.where}`));
        expect(scan.scanned.processes).toBeGreaterThanOrEqual(2);
        await waitFor(async () => (await h.api.beads(t.townId)).find((b) => b.id === sling.beadId && b.status === 'closed'), {
          timeoutMs: 300_000,
          intervalMs: 2_000,
          what: `${t.label}: bead ${sling.beadId} merged and closed`,
          describe: () => describeTown(t),
        });
        const commit = h.scenario.commits.find((c) => c.beadId === sling.beadId);
        expect(commit, `${t.label}: the polecat committed`).toBeDefined();
        expect(branchContains(t.repo.path, t.repo.defaultBranch, commit!.sha)).toBe(true);
      }),
    );
    expect(processHits, 'the provider key in an agent process environment or command line').toEqual([]);

    // no model request reached the provider without naming its agent
    expect(h.stack.fakeLlm!.requests.filter((r) => r.agentId === null).map((r) => `${r.seq} ${r.path}`)).toEqual([]);
    const keyFingerprint = fingerprint(h.llmApiKey);
    for (const t of towns) {
      const { agents, calls } = await townCalls(t);
      const roleOfAgent = new Map(agents.map((a) => [a.id, a.role]));
      expect([...new Set(agents.map((a) => a.role))].sort()).toEqual(['mayor', 'polecat', 'refinery']);
      const streamed = calls.filter(isStreamed).length;
      console.log(
        `usage-figures ${JSON.stringify({ town: t.label, calls: calls.length, streamed, notStreamed: calls.length - streamed, withoutTools: calls.filter((r) => r.toolNames.length === 0).length, byModel: Object.fromEntries([...sumsBy(calls, (r) => r.model)].map(([k, v]) => [k, v.calls])) })}`,
      );
      const seen = calls.map((r) => {
        const role = roleOfAgent.get(r.agentId!)!;
        // a request offering tools is the role's own work; one without (titles, summaries) is the small model's
        const expected = r.toolNames.length > 0 ? t.models[role as 'mayor' | 'polecat' | 'refinery'] : t.models.small;
        return { seq: r.seq, role, kind: r.kind, tools: r.toolNames.length > 0, model: r.model, expected };
      });
      expect(
        seen.filter((s) => s.model !== s.expected),
        `${t.label}: requests naming another model than their role's`,
      ).toEqual([]);
      for (const role of ['mayor', 'polecat', 'refinery'] as const) {
        expect(seen.filter((s) => s.role === role && s.tools).length, `${t.label}: ${role} requests with ${t.models[role]}`).toBeGreaterThanOrEqual(
          role === 'refinery' ? 2 : 3,
        );
      }
      // (the runtime names its sessions itself, so opencode makes no title request: the small model is
      // checked in the runtime's configuration, from the mayor's environment, in the last test)
      // the wire of the provider kind; the upstream key is the provider's, sent by the proxy in the kind's header
      expect(new Set(calls.map((r) => r.wire))).toEqual(new Set([t.wire]));
      expect(new Set(calls.map((r) => r.keyFingerprint))).toEqual(new Set([keyFingerprint]));
      for (const r of calls) {
        if (t.wire === 'anthropic-messages') {
          expect(r.path).toMatch(/\/messages$/);
          expect(r.headers['anthropic-version'], 'anthropic-version passed through').toBeTruthy();
          expect(r.headers.authorization, 'no Bearer header upstream on the anthropic wire').toBeUndefined();
        } else {
          expect(r.path).toMatch(/\/chat\/completions$/);
          expect(r.headers['x-api-key']).toBeUndefined();
        }
        expect(JSON.stringify(r.body).includes(h.llmApiKey), `${t.label}: request ${r.seq} body holds the provider key`).toBe(false);
      }
      expect(streamed, `${t.label}: streamed requests`).toBeGreaterThanOrEqual(1);
    }
  });

  it('usage from the API equals the fake LLM counts exactly: totals, by model, by role, by agent, by bead; cost from the price table', async () => {
    await Promise.all(
      towns.map(async (t) => {
        const { expected, agents, calls } = await waitUsageEqual(t, 'usage totals to equal the fake LLM counts');
        const roleOfAgent = new Map(agents.map((a) => [a.id, a.role]));
        const usage = await fetchUsage(h.api, t.townId);
        expect(usage.totals).toMatchObject({ errors: 0, unpricedCalls: 0 });
        expect(usage.totals.costUsd).toBeCloseTo(expected.costMicros / 1_000_000, 6);
        expect(expected.costMicros).toBeGreaterThan(0);
        await expectGroupedEqual(t, 'model', calls, (r) => r.model);
        await expectGroupedEqual(t, 'role', calls, (r) => roleOfAgent.get(r.agentId!)!);
        await expectGroupedEqual(t, 'agent', calls, (r) => r.agentId!);
        // by bead: the rows add up to the totals, and the slung bead has its own row
        const byBead = await fetchUsage(h.api, t.townId, 'bead');
        const beadSum = sumsOf([]);
        for (const row of byBead.rows) for (const k of Object.keys(beadSum) as Array<keyof UsageSums>) beadSum[k] += row[k];
        expect(beadSum, `${t.label}: by-bead rows add up to the totals`).toEqual(expected);
        const beadRow = byBead.rows.find((r) => r.key === t.beadId);
        expect(beadRow?.inputTokens ?? 0, `${t.label}: bead ${t.beadId} has usage`).toBeGreaterThan(0);
        // by day: the same totals, one row (a run that crosses midnight UTC has two)
        const byDay = await fetchUsage(h.api, t.townId, 'day');
        expect(byDay.rows.reduce((n, r) => n + r.calls, 0)).toBe(expected.calls);
        expect(byDay.spend, 'no spend cap set').toBeNull();
      }),
    );
  });

  it('control-plane outage: the mayor keeps calling the model while its container is cut off; the buffered usage arrives once (a lost answer is retried, not counted twice)', async () => {
    const proxy = h.cpProxy!;
    await Promise.all(
      towns.map(async (t) => {
        // totals are up to date before the outage
        await waitUsageEqual(t, 'usage totals before the outage');
        const before = turnsEnded(t.mayorId);
        const batchesBefore = proxy.eventBatches.length;
        proxy.cut(t.townId, true);
        const cutAt = Date.now();
        let restoredAt = 0;
        try {
          // the message goes in (control plane → container is not cut); everything the container sends out is refused
          expect((await h.api.sendMayorMessage(t.townId, PROBE)).delivery).toBe('delivered');
          await waitFor(() => turnsEnded(t.mayorId) > before, {
            timeoutMs: 60_000,
            what: `${t.label}: the probe turn to end`,
            describe: () => describeTown(t),
          });
          // stay cut off a while: the container's retries of its batches fail (their backoff grows)
          await sleep(Math.max(2_000, cutAt + 8_000 - Date.now()));
          // the container tried to report and was refused
          expect(
            proxy.eventBatches.slice(batchesBefore).filter((b) => b.townId === t.townId && b.action === 'refused').length,
            `${t.label}: event batches refused while cut off`,
          ).toBeGreaterThanOrEqual(1);
          const { calls } = await townCalls(t);
          const during = calls.filter((r) => r.at >= cutAt);
          // the probe's steps and its end, plus the agent's own non-streamed call
          expect(during.length, `${t.label}: model calls while cut off`).toBeGreaterThanOrEqual(probeSteps(t).length + 2);
          const nonStreamed = during.filter((r) => !isStreamed(r));
          expect(
            nonStreamed.map((r) => [r.model, r.wire, r.answer.type]),
            `${t.label}: the non-streamed call`,
          ).toEqual([[t.models.small, t.wire, 'text']]);
          // nothing of it has reached the control plane: its totals are what they were before the cut
          const api = sumsOfRow((await fetchUsage(h.api, t.townId)).totals);
          expect(api, `${t.label}: usage while cut off`).toEqual(
            sumsOf(
              calls.filter((r) => r.at < cutAt),
              t.prices,
            ),
          );
          // back: the first batch carrying usage is stored, but its answer is lost → the container retries it
          const lost = proxy.loseNextUsageBatchAnswer(t.townId);
          proxy.cut(t.townId, false);
          restoredAt = Date.now();
          const lostBatch = await Promise.race([lost, sleep(90_000).then(() => null)]);
          expect(lostBatch, `${t.label}: a usage batch whose answer was lost`).not.toBeNull();
          expect(lostBatch!.status, `${t.label}: the lost batch was stored`).toBe(200);
          const ids = new Set(lostBatch!.usageEventIds);
          // the retry carries the same event ids
          await waitFor(
            () =>
              proxy.eventBatches.some((b) => b !== lostBatch && b.townId === t.townId && b.action === 'forwarded' && b.usageEventIds.some((id) => ids.has(id))),
            { timeoutMs: 90_000, what: `${t.label}: the retry of the lost batch` },
          );
        } finally {
          proxy.cut(t.townId, false);
        }
        const { expected, calls } = await waitUsageEqual(t, 'usage totals after the outage');
        // stable: nothing arrives twice later
        await sleep(5_000);
        expect(sumsOfRow((await fetchUsage(h.api, t.townId)).totals), `${t.label}: totals a while after`).toEqual(sumsOf(calls, t.prices));
        console.log(
          `usage-figures ${JSON.stringify({ town: t.label, outage: true, outageMs: restoredAt - cutAt, callsDuringOutage: calls.filter((r) => r.at >= cutAt && r.at < restoredAt).length, refused: proxy.refusedCount(t.townId), totalCalls: expected.calls })}`,
        );
      }),
    );
  });

  it('sleep and wake: the container sleeps, a new message wakes it; totals still equal the fake LLM counts', async () => {
    await Promise.all(
      towns.map(async (t) => {
        const startsBefore = (await h.stack.hostState(t.townId)).starts;
        await h.api.updateConfig(t.townId, { sleepAfterSeconds: 15 });
        await waitFor(
          async () => {
            const s = await h.stack.hostState(t.townId);
            return !s.running && s.sleeps >= 1 ? s : null;
          },
          { timeoutMs: 150_000, intervalMs: 1_000, what: `${t.label}: the container to sleep`, describe: () => describeTown(t) },
        );
        const asleep = await waitUsageEqual(t, 'usage totals once asleep');
        const before = turnsEnded(t.mayorId);
        const wokeAt = Date.now();
        expect((await h.api.sendMayorMessage(t.townId, PING)).delivery).not.toBe('failed');
        await waitFor(() => turnsEnded(t.mayorId) > before, { timeoutMs: 120_000, what: `${t.label}: the answer after wake`, describe: () => describeTown(t) });
        expect((await h.stack.hostState(t.townId)).starts).toBeGreaterThan(startsBefore);
        const { expected, calls } = await waitUsageEqual(t, 'usage totals after wake');
        expect(calls.filter((r) => r.at >= wokeAt).length, `${t.label}: calls after wake`).toBeGreaterThanOrEqual(1);
        expect(expected.calls).toBeGreaterThan(asleep.expected.calls);
        await sleep(3_000);
        expect(sumsOfRow((await fetchUsage(h.api, t.townId)).totals)).toEqual(sumsOf(calls, t.prices));
        // the groupings too, now with the small model's non-streamed call and both container instances
        const roleOfAgent = new Map((await h.agentsOf(t.townId)).map((a) => [a.id, a.role]));
        await expectGroupedEqual(t, 'model', calls, (r) => r.model);
        await expectGroupedEqual(t, 'role', calls, (r) => roleOfAgent.get(r.agentId!)!);
      }),
    );
  });

  it('the provider key reached no agent: not its environment (live), not a tool result it saw, not a file or log of the stack', async () => {
    // the probes were real: the model saw each mayor's environment and its runtime's files
    for (const t of towns) {
      const results = h.stack.fakeLlm!.toolResults(t.mayorId).filter((r) => r.name === 'bash');
      const env = results.find((r) => r.content.includes(`GASTOWN_AGENT_ID=${t.mayorId}`));
      expect(env, `${t.label}: env probe output`).toBeDefined();
      // the runtime's configuration (in its environment): the mayor's model, and the small model for titles and summaries
      expect(env!.content).toContain(`"model":"gastown/${t.models.mayor}"`);
      expect(env!.content).toContain(`"small_model":"gastown/${t.models.small}"`);
      expect(
        results.some((r) => r.content.includes('PROBE_FILES_DONE')),
        `${t.label}: files probe output`,
      ).toBe(true);
      const call = results.find((r) => r.content.includes('NON_STREAMED_DONE'));
      expect(call?.content, `${t.label}: the non-streamed call through the model proxy`).toMatch(/HTTP 200/);
    }
    // everything the agents sent to the model (their conversations, every tool result)
    const leaked = h.stack.fakeLlm!.requests.filter((r) => JSON.stringify(r.body).includes(h.llmApiKey)).map((r) => `${r.seq} ${r.agentId}`);
    expect(leaked, 'requests whose body holds the provider key').toEqual([]);
    // live agent processes (the woken mayors)
    const pids = agentProcessPids(h.stack.stateDir);
    expect(pids.length).toBeGreaterThanOrEqual(1);
    const live = await scanForSecrets({ secrets: [h.llmApiKey], patterns: [], roots: { processTrees: pids } });
    expect(live.hits).toEqual([]);

    const report = await h.stop();
    expect(report.orphans).toEqual([]);
    // agent homes, workspaces, runtime state, the rig repositories' git config and every log (the DO storage holds the key by design)
    const roots = stateDirScanRoots(h.stack.stateDir);
    const scan = await scanForSecrets({ secrets: [h.llmApiKey, ...secretValues(h.stack.keys)], patterns: [], roots: { ...roots, sqliteDirs: [] } });
    expect(scan.errors).toEqual([]);
    expect(scan.hits.map((hit) => `${hit.kind} ${hit.where}`)).toEqual([]);
    expect(scan.scanned.files).toBeGreaterThan(50);
    expect(roots.dirs!.some((d) => d === join(h.stack.stateDir, 'host'))).toBe(true);
  });
});
