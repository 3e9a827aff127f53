/**
 * A convoy end to end (issue 16): the mayor's gt_sling_batch creates three beads A, B and C where
 * C depends on A and B, and one convoy of them. Real polecats and a real refinery (the scripted
 * town) do the work; C is not dispatched until A and B are merged; the convoy lands; the
 * `convoy.landed` town event arrives on the event stream, once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONVOY_LANDED_EVENT, ConvoyDetailResponseSchema, routePath, USER_API, type TownEvent } from '@gastown/protocol';
import { callTool, reply, toolResultsOf, type ChatMessage, type Turn } from '../src/fake-llm/index';
import { branchContains, currentTurn, failureCodeOf, followTownEvents, roleOf, type EventFollower } from '../src/stack/index';
import { E2E_USER, startHarness, type Harness } from './support/harness';
import { keepStateOfFailedRuns } from './support/stack-state-keeper';

const CONVOY_REQUEST = 'Please run the convoy.';

let h: Harness;
let follower: EventFollower | null = null;

/** The mayor, on the convoy request: gt_list_rigs → gt_sling_batch (A, B, C after A and B) → a reply. */
function mayorTurn(messages: ChatMessage[], toolNames: string[]): Turn | null {
  if (roleOf(toolNames) !== 'mayor') return null;
  const { userText, turnMessages } = currentTurn(messages);
  if (!userText.includes(CONVOY_REQUEST)) return null;
  const results = toolResultsOf(turnMessages);
  const rigs = results.find((r) => r.name === 'gt_list_rigs');
  if (!rigs) return callTool('gt_list_rigs', {});
  const batch = results.find((r) => r.name === 'gt_sling_batch');
  if (!batch) {
    const rigId = (JSON.parse(rigs.content) as { rigs: { id: string }[] }).rigs[0]!.id;
    const bead = (title: string, dependsOn?: number[]) => ({
      rigId,
      title,
      body: `Create a note file for "${title}" and commit it.`,
      ...(dependsOn ? { dependsOn } : {}),
    });
    return callTool('gt_sling_batch', {
      name: 'Notes convoy',
      goal: 'Three notes; the third after the first two',
      beads: [bead('Note A'), bead('Note B'), bead('Note C', [0, 1])],
    });
  }
  if (failureCodeOf(batch)) return reply(`gt_sling_batch failed: ${batch.content.slice(0, 300)}`);
  return reply('The convoy is on its way.');
}

beforeAll(async () => {
  h = await startHarness({ intercept: (request, ctx) => mayorTurn(request.messages, ctx.toolNames) });
});

const stackState = keepStateOfFailedRuns();

afterAll(async () => {
  await follower?.stop();
  await h?.stack.stop();
  stackState.dispose(h?.stack.stateDir);
});

const firstOf = (events: TownEvent[], match: (e: TownEvent) => boolean): TownEvent | undefined => events.find(match);

describe('convoy', () => {
  it('gt_sling_batch: C waits for A and B to be merged, then runs; the convoy lands and convoy.landed arrives on the stream once', async () => {
    const startedAt = Date.now();
    const { town, repo } = await h.createTown('convoy', {});
    follower = followTownEvents({ workerUrl: h.stack.workerUrl, token: await h.stack.userToken(E2E_USER), townId: town.id });
    const describeState = async () =>
      `beads: ${(await h.api.beads(town.id)).map((b) => `${b.type}:${b.title}:${b.id}:${b.status}`).join(', ')} | streamed: ${follower!.events
        .map((e) => e.type)
        .slice(-15)
        .join(', ')}`;

    expect((await h.api.sendMayorMessage(town.id, CONVOY_REQUEST)).delivery).not.toBe('failed');
    const created = await follower.waitFor((e) => e.type === 'convoy.created', 90_000, 'the mayor to create the convoy');
    const convoyId = String(created.data.convoyId);
    const [a, b, c] = created.data.beadIds as string[];
    expect(created.agentId).toBe((await h.mayorOf(town.id)).id);

    const landed = await follower
      .waitFor((e) => e.type === CONVOY_LANDED_EVENT && e.data.convoyId === convoyId, 170_000, 'the convoy to land')
      .catch(async (error: unknown) => {
        throw new Error(`${String(error)} | ${await describeState()}`);
      });
    expect(landed.data).toMatchObject({ convoyId, name: 'Notes convoy', closed: 3, total: 3 });
    console.log(`convoy landed ${Math.round((Date.now() - startedAt) / 1000)} s after the town was created`);

    // C was dispatched only after A and B were merged (event ids are the town's order)
    const events = await h.api.allEvents(town.id);
    const merged = (beadId: string) => firstOf(events, (e) => e.type === 'merge_request.merged' && e.data.sourceBeadId === beadId);
    const dispatched = (beadId: string) => firstOf(events, (e) => e.type === 'agent.dispatched' && e.beadId === beadId && e.data.role === 'polecat');
    for (const id of [a!, b!, c!]) {
      expect(merged(id), `merge of ${id}`).toBeDefined();
      expect(dispatched(id), `dispatch of ${id}`).toBeDefined();
    }
    expect(dispatched(c!)!.id).toBeGreaterThan(merged(a!)!.id);
    expect(dispatched(c!)!.id).toBeGreaterThan(merged(b!)!.id);
    // A and B did not wait for each other: both were dispatched before either was merged
    expect(Math.max(dispatched(a!)!.id, dispatched(b!)!.id)).toBeLessThan(Math.min(merged(a!)!.id, merged(b!)!.id));

    // every commit is on the default branch; the convoy reads landed, 3 of 3
    for (const id of [a!, b!, c!]) {
      const commit = h.scenario.commits.find((x) => x.beadId === id);
      expect(commit, `commit for ${id}`).toBeDefined();
      expect(branchContains(repo!.path, repo!.defaultBranch, commit!.sha)).toBe(true);
    }
    const res = await h.api.request('GET', routePath(USER_API.convoy, { townId: town.id, convoyId }));
    expect(res.status).toBe(200);
    const detail = ConvoyDetailResponseSchema.parse(res.body);
    expect(detail.convoy).toMatchObject({ status: 'landed', progress: { closed: 3, total: 3 }, beadIds: [a, b, c] });
    expect(detail.beads.find((x) => x.id === c)!.dependsOn).toEqual([a, b]);

    // landed once, on the stream and in storage
    expect(follower.events.filter((e) => e.type === CONVOY_LANDED_EVENT)).toHaveLength(1);
    expect(events.filter((e) => e.type === CONVOY_LANDED_EVENT)).toHaveLength(1);
  });
});
