import { describe, expect, it } from 'vitest';
import type { ChatMessage, ChatRequest, ResponderContext, Turn } from '../../src/fake-llm/index';
import { toolResultsOf } from '../../src/fake-llm/index';
import { createTownScenario, currentTurn, roleOf } from '../../src/stack/town-scenario';

const MAYOR_TOOLS = ['gt_sling', 'gt_list_rigs', 'gt_list_beads', 'gt_list_agents', 'gt_mail_send', 'bash'];
const POLECAT_TOOLS = ['gt_prime', 'gt_done', 'gt_bead_status', 'bash', 'write'];
const REFINERY_TOOLS = ['gt_prime', 'gt_done', 'gt_request_changes', 'gt_list_beads', 'bash'];

/** Drive a responder like opencode does: append the answer and the tool results, ask again. */
class Conversation {
  messages: ChatMessage[] = [{ role: 'system', content: 'You are an agent.' }];
  private calls = 0;
  constructor(
    private readonly scenario: ReturnType<typeof createTownScenario>,
    private readonly agentId: string,
    private readonly toolNames: string[],
  ) {}
  async ask(): Promise<Turn> {
    const request: ChatRequest = { model: 'm', messages: this.messages, tools: this.toolNames.map((name) => ({ type: 'function', function: { name } })) };
    const ctx: ResponderContext = {
      agentId: this.agentId,
      turnIndex: 0,
      lastMessage: this.messages.at(-1),
      toolResults: toolResultsOf(this.messages),
      toolNames: this.toolNames,
    };
    const turn = await this.scenario.responder(request, ctx);
    if (!turn) throw new Error('responder fell through');
    return turn;
  }
  user(text: string) {
    this.messages.push({ role: 'user', content: text });
  }
  /** Append the assistant's calls and the given results (by tool name). */
  answer(turn: Turn, results: Record<string, string | ((args: Record<string, unknown>) => string)>) {
    if (turn.type !== 'tool_calls') throw new Error(`expected tool calls, got ${turn.type}`);
    const toolCalls = turn.calls.map((c) => ({
      id: `call_${++this.calls}`,
      type: 'function',
      function: { name: c.name, arguments: JSON.stringify(c.arguments ?? {}) },
    }));
    this.messages.push({ role: 'assistant', content: '', tool_calls: toolCalls });
    turn.calls.forEach((c, i) => {
      const r = results[c.name];
      if (r === undefined) throw new Error(`no result for ${c.name}`);
      this.messages.push({
        role: 'tool',
        tool_call_id: toolCalls[i]!.id,
        content: typeof r === 'function' ? r((c.arguments ?? {}) as Record<string, unknown>) : r,
      });
    });
  }
}

const rig = { id: 'rig_abc123', name: 'demo-rig', townId: 'town_abc123', gitUrl: '/tmp/r.git', defaultBranch: 'main', createdAt: 1 };

describe('town scenario', () => {
  it('tells roles apart by the tools offered', () => {
    expect([roleOf(MAYOR_TOOLS), roleOf(POLECAT_TOOLS), roleOf(REFINERY_TOOLS), roleOf(['bash'])]).toEqual(['mayor', 'polecat', 'refinery', null]);
  });

  it('reads the current turn after the last user message', () => {
    const t = currentTurn([
      { role: 'user', content: 'a' },
      { role: 'assistant', content: 'x' },
      { role: 'user', content: 'b' },
      { role: 'assistant', content: 'y' },
    ]);
    expect(t).toMatchObject({ userText: 'b', userMessages: 2 });
    expect(t.turnMessages).toHaveLength(1);
  });

  it('mayor: every user message → gt_list_rigs → gt_sling on the first rig → text', async () => {
    const scenario = createTownScenario({ now: () => 42 });
    const mayor = new Conversation(scenario, 'ag_mayor1', MAYOR_TOOLS);
    for (let n = 1; n <= 2; n++) {
      mayor.user(`task ${n}`);
      const list = await mayor.ask();
      expect(list).toMatchObject({ type: 'tool_calls', calls: [{ name: 'gt_list_rigs' }] });
      mayor.answer(list, { gt_list_rigs: JSON.stringify({ rigs: [rig] }) });
      const sling = await mayor.ask();
      expect(sling).toMatchObject({ type: 'tool_calls', calls: [{ name: 'gt_sling', arguments: { rigId: rig.id, title: `Add note ${n}` } }] });
      mayor.answer(sling, { gt_sling: JSON.stringify({ bead: { id: `bd_bead0${n}`, rigId: rig.id, title: `Add note ${n}` } }) });
      expect(await mayor.ask()).toMatchObject({ type: 'text' });
    }
    expect(scenario.slings.map((s) => s.beadId)).toEqual(['bd_bead01', 'bd_bead02']);
    expect(scenario.turns.mayor).toBe(2);
  });

  it('mayor: a failed tool ends the turn with the failure, and no sling is recorded', async () => {
    const notes: string[] = [];
    const scenario = createTownScenario({ onNote: (n) => n.kind === 'tool_failed' && notes.push(n.tool) });
    const mayor = new Conversation(scenario, 'ag_mayor1', MAYOR_TOOLS);
    mayor.user('go');
    mayor.answer(await mayor.ask(), { gt_list_rigs: 'gt_list_rigs failed: token_expired: the token has expired' });
    const end = await mayor.ask();
    expect(end).toMatchObject({ type: 'text' });
    expect(end.type === 'text' && end.text).toContain('token_expired');
    expect(scenario.slings).toEqual([]);
    expect(notes).toEqual(['gt_list_rigs']);
  });

  it('polecat: gt_prime → bash commit → gt_done with the branch the commit printed', async () => {
    const scenario = createTownScenario({ now: () => 7 });
    const polecat = new Conversation(scenario, 'ag_pole1', POLECAT_TOOLS);
    polecat.user('Work on bd_bead01');
    const prime = await polecat.ask();
    expect(prime).toMatchObject({ calls: [{ name: 'gt_prime' }] });
    polecat.answer(prime, {
      gt_prime: JSON.stringify({
        agent: { id: 'ag_pole1', rigId: rig.id },
        rig,
        hookedBead: { id: 'bd_bead01', title: "Add note 1; rm -rf / 'x'", type: 'issue' },
        unreadMail: [],
      }),
    });
    const bash = await polecat.ask();
    expect(bash).toMatchObject({ calls: [{ name: 'bash' }] });
    const command = bash.type === 'tool_calls' ? String((bash.calls[0]!.arguments as Record<string, unknown>).command) : '';
    expect(command).toContain('git add notes/bd_bead01.md');
    expect(command).not.toContain("rm -rf / '"); // the title is sanitised before it reaches a shell
    const sha = 'a'.repeat(40);
    polecat.answer(bash, { bash: `GASTOWN_BRANCH=gt/ag_pole1/bd_bead01\nGASTOWN_COMMIT=${sha}\n` });
    const done = await polecat.ask();
    expect(done).toMatchObject({ calls: [{ name: 'gt_done', arguments: { branch: 'gt/ag_pole1/bd_bead01' } }] });
    polecat.answer(done, { gt_done: JSON.stringify({ mergeRequest: { id: 'bd_mr0001' } }) });
    expect(await polecat.ask()).toMatchObject({ type: 'text' });
    expect(scenario.commits).toEqual([{ agentId: 'ag_pole1', beadId: 'bd_bead01', branch: 'gt/ag_pole1/bd_bead01', sha, file: 'notes/bd_bead01.md', at: 7 }]);
  });

  it('polecat: a failed commit ends the turn without gt_done', async () => {
    const scenario = createTownScenario();
    const polecat = new Conversation(scenario, 'ag_pole1', POLECAT_TOOLS);
    polecat.user('Work');
    polecat.answer(await polecat.ask(), {
      gt_prime: JSON.stringify({ agent: { id: 'ag_pole1', rigId: rig.id }, rig, hookedBead: { id: 'bd_bead01', title: 't', type: 'issue' }, unreadMail: [] }),
    });
    polecat.answer(await polecat.ask(), { bash: 'fatal: not a git repository' });
    expect(await polecat.ask()).toMatchObject({ type: 'text' });
    expect(scenario.commits).toEqual([]);
  });

  it('refinery: approves each open merge request of its rig once, across messages', async () => {
    const scenario = createTownScenario({ now: () => 1 });
    const refinery = new Conversation(scenario, 'ag_ref1', REFINERY_TOOLS);
    const primeResult = JSON.stringify({ agent: { id: 'ag_ref1', rigId: rig.id }, rig, hookedBead: null, unreadMail: [] });
    const mr = (id: string, status = 'open', rigId = rig.id) => ({
      id,
      type: 'merge_request',
      status,
      rigId,
      assigneeId: null,
      metadata: { branch: `gt/ag_p/${id}` },
    });
    const beads = [mr('bd_mr0001'), mr('bd_mr0002', 'closed'), mr('bd_mr0003', 'open', 'rig_other1'), { ...mr('bd_issue1'), type: 'issue' }];

    refinery.user('Review please');
    refinery.answer(await refinery.ask(), { gt_prime: primeResult });
    const list = await refinery.ask();
    expect(list).toMatchObject({ calls: [{ name: 'gt_list_beads', arguments: { status: 'open' } }] });
    refinery.answer(list, { gt_list_beads: JSON.stringify({ beads }) });
    const approve = await refinery.ask();
    expect(approve).toMatchObject({
      type: 'tool_calls',
      calls: [{ name: 'gt_done', arguments: { branch: 'gt/ag_p/bd_mr0001', mergeRequestBeadId: 'bd_mr0001' } }],
    });
    expect(approve.type === 'tool_calls' && approve.calls).toHaveLength(1);
    refinery.answer(approve, { gt_done: JSON.stringify({ mergeRequest: { id: 'bd_mr0001' } }) });
    expect(await refinery.ask()).toMatchObject({ type: 'text' });
    expect(scenario.approvals).toEqual([{ refineryId: 'ag_ref1', mergeRequestBeadId: 'bd_mr0001', branch: 'gt/ag_p/bd_mr0001', at: 1 }]);

    // a second message: bd_mr0001 still listed as open (merge pending) is not approved twice
    refinery.user('Another one');
    refinery.answer(await refinery.ask(), { gt_prime: primeResult });
    refinery.answer(await refinery.ask(), { gt_list_beads: JSON.stringify({ beads: [...beads, mr('bd_mr0004')] }) });
    const second = await refinery.ask();
    expect(second.type === 'tool_calls' && second.calls.map((c) => (c.arguments as Record<string, unknown>).mergeRequestBeadId)).toEqual(['bd_mr0004']);
  });

  it('refinery: takes the merge request from the prompt the control plane sends (no gt_list_beads needed)', async () => {
    const scenario = createTownScenario();
    const tools = REFINERY_TOOLS.filter((t) => t !== 'gt_list_beads');
    const refinery = new Conversation(scenario, 'ag_ref1', tools);
    refinery.user('Review merge request bd_mr0007: branch gt/ag_p1/bd_bead07.\nIt implements bead bd_bead07: Add note 7');
    refinery.answer(await refinery.ask(), { gt_prime: JSON.stringify({ agent: { id: 'ag_ref1', rigId: rig.id }, rig, hookedBead: null, unreadMail: [] }) });
    expect(await refinery.ask()).toMatchObject({ calls: [{ name: 'gt_done', arguments: { branch: 'gt/ag_p1/bd_bead07', mergeRequestBeadId: 'bd_mr0007' } }] });
  });

  it('refinery: approves the commit the merge request names (prompt or listed metadata.commit)', async () => {
    const sha = 'ab'.repeat(20);
    const scenario = createTownScenario();
    const refinery = new Conversation(
      scenario,
      'ag_ref1',
      REFINERY_TOOLS.filter((t) => t !== 'gt_list_beads'),
    );
    refinery.user(`Review merge request bd_mr0008: branch gt/ag_p1/bd_bead08.\nThe commit to review: ${sha} (git fetch origin).`);
    refinery.answer(await refinery.ask(), { gt_prime: JSON.stringify({ agent: { id: 'ag_ref1', rigId: rig.id }, rig, hookedBead: null, unreadMail: [] }) });
    expect(await refinery.ask()).toMatchObject({
      calls: [{ name: 'gt_done', arguments: { branch: 'gt/ag_p1/bd_bead08', mergeRequestBeadId: 'bd_mr0008', commit: sha } }],
    });

    const lister = new Conversation(createTownScenario(), 'ag_ref2', REFINERY_TOOLS);
    lister.user('Review please');
    lister.answer(await lister.ask(), { gt_prime: JSON.stringify({ agent: { id: 'ag_ref2', rigId: rig.id }, rig, hookedBead: null, unreadMail: [] }) });
    const mr = {
      id: 'bd_mr0009',
      type: 'merge_request',
      status: 'open',
      rigId: rig.id,
      assigneeId: null,
      metadata: { branch: 'gt/ag_p/bd_mr0009', commit: sha },
    };
    lister.answer(await lister.ask(), { gt_list_beads: JSON.stringify({ beads: [mr] }) });
    expect(await lister.ask()).toMatchObject({ calls: [{ name: 'gt_done', arguments: { mergeRequestBeadId: 'bd_mr0009', commit: sha } }] });
  });

  it('never calls a tool the role is not offered, and never loops', async () => {
    const notes: string[] = [];
    const scenario = createTownScenario({ onNote: (n) => n.kind === 'tool_failed' && notes.push(`${n.tool}: ${n.content}`) });
    // a refinery without gt_done (and without gt_list_beads): it must stop with a text, not retry
    const refinery = new Conversation(scenario, 'ag_ref1', ['gt_prime', 'gt_request_changes', 'bash']);
    refinery.user('Review merge request bd_mr0007: branch gt/ag_p1/bd_bead07.');
    refinery.answer(await refinery.ask(), { gt_prime: JSON.stringify({ agent: { id: 'ag_ref1', rigId: rig.id }, rig, hookedBead: null, unreadMail: [] }) });
    const end = await refinery.ask();
    expect(end).toMatchObject({ type: 'text' });
    expect(notes).toEqual(['gt_done: not offered to the refinery']);

    // a runtime that answers every call with an error: the turn ends after MAX_STEPS_PER_TURN steps
    const mayor = new Conversation(scenario, 'ag_mayor1', MAYOR_TOOLS);
    mayor.user('go');
    let turn = await mayor.ask();
    let steps = 0;
    while (turn.type === 'tool_calls') {
      steps += 1;
      mayor.answer(turn, { gt_list_rigs: 'The arguments provided to the tool are invalid' });
      turn = await mayor.ask();
    }
    expect(steps).toBeLessThanOrEqual(8);
  });

  it('holds polecat requests at a closed gate until released; other roles pass', async () => {
    const scenario = createTownScenario();
    const gate = scenario.holdPolecats();
    const polecat = new Conversation(scenario, 'ag_pole1', POLECAT_TOOLS);
    polecat.user('Work');
    let answered = false;
    const pending = polecat.ask().then((t) => {
      answered = true;
      return t;
    });
    const mayor = new Conversation(scenario, 'ag_mayor1', MAYOR_TOOLS);
    mayor.user('hi');
    expect(await mayor.ask()).toMatchObject({ calls: [{ name: 'gt_list_rigs' }] });
    await new Promise((r) => setTimeout(r, 20));
    expect(answered).toBe(false);
    expect(gate.pending()).toBe(1);
    gate.release();
    expect(await pending).toMatchObject({ calls: [{ name: 'gt_prime' }] });
    expect(gate.pending()).toBe(0);
    expect(await polecat.ask()).toMatchObject({ calls: [{ name: 'gt_prime' }] }); // open now
  });
});
