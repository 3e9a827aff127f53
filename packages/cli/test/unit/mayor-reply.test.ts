import type { TownEvent } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { MayorReplyWatcher } from '../../src/views/mayor-reply';

const MAYOR = 'ag_mayor000';
const MESSAGE = 'mm_message01';
let nextId = 1;
function ev(type: string, data: Record<string, unknown> = {}, agentId: string | null = MAYOR): TownEvent {
  return { id: nextId++, townId: 'town_aaaaaaaa', type, agentId, beadId: null, data, at: 0 };
}

function play(events: TownEvent[]) {
  const watcher = new MayorReplyWatcher(MAYOR, MESSAGE);
  const out: string[] = [];
  for (const e of events) {
    const step = watcher.accept(e);
    out.push(...step.lines.map((l) => `${l.stream}:${l.text}`));
    if (step.end) return { out, end: step.end, rest: events.slice(events.indexOf(e) + 1).length };
  }
  return { out, end: null, rest: 0 };
}

describe('MayorReplyWatcher', () => {
  it('prints tool calls and text, stops at the idle after the reply', () => {
    const result = play([
      ev('mayor.message_received', { messageId: MESSAGE }),
      ev('session.busy', { sessionId: 's' }),
      ev('agent.tool', { tool: 'gt_list_rigs', callId: 'c1', state: 'running', input: '{}' }),
      ev('agent.tool', { tool: 'gt_list_rigs', callId: 'c1', state: 'completed', output: '[…]' }),
      ev('agent.tool', { tool: 'gt_sling', callId: 'c2', state: 'running', input: '{"rigId":"rig_1","title":"Add /health"}' }),
      ev('agent.tool', { tool: 'gt_sling', callId: 'c2', state: 'running', input: '{"rigId":"rig_1","title":"Add /health"}' }),
      ev('agent.tool', { tool: 'gt_sling', callId: 'c2', state: 'completed' }),
      ev('agent.text', { text: 'Slung bd_1 to web.' }),
      ev('session.idle', { sessionId: 's' }),
      ev('agent.text', { text: 'after the end' }),
    ]);
    expect(result.out).toEqual([
      'out:→ gt_list_rigs',
      'out:✓ gt_list_rigs',
      'out:→ gt_sling {"rigId":"rig_1","title":"Add /health"}',
      'out:✓ gt_sling',
      'out:Slung bd_1 to web.',
    ]);
    expect(result.end).toEqual({ reason: 'idle' });
    expect(result.rest).toBe(1);
  });

  it('ignores an idle that ends an earlier turn, and other agents entirely', () => {
    const result = play([
      ev('session.idle', { sessionId: 's' }),
      ev('agent.text', { text: 'a polecat talking' }, 'ag_polecat1'),
      ev('session.idle', {}, 'ag_polecat1'),
      ev('session.busy', {}),
      ev('agent.text', { text: 'hello' }),
      ev('session.idle', {}),
    ]);
    expect(result.out).toEqual(['out:hello']);
    expect(result.end).toEqual({ reason: 'idle' });
  });

  it('shows tool errors and agent errors', () => {
    const result = play([
      ev('agent.tool', { tool: 'gt_sling', callId: 'c', state: 'running', input: { title: 'x' } }),
      ev('agent.tool', { tool: 'gt_sling', callId: 'c', state: 'error', output: 'rig not found\nmore' }),
      ev('agent.error', { message: 'model request failed, retrying (attempt 1): 503' }),
      ev('session.idle', {}),
    ]);
    expect(result.out).toEqual(['out:→ gt_sling {"title":"x"}', 'out:✗ gt_sling: rig not found more', 'err:! model request failed, retrying (attempt 1): 503']);
  });

  it('ends with an error when delivery of this message fails or the mayor ends', () => {
    expect(play([ev('mayor.delivery_failed', { messageId: 'mm_other000', code: 'x' })]).end).toBeNull();
    expect(play([ev('mayor.delivery_failed', { messageId: MESSAGE, code: 'upstream_failed' })]).end).toEqual({
      reason: 'delivery_failed',
      message: 'delivering the message to the mayor failed (upstream_failed); it is stored',
    });
    expect(play([ev('agent.completed', { outcome: 'failed', reason: 'runtime crashed' })]).end).toEqual({
      reason: 'mayor_ended',
      message: 'the mayor ended (failed: runtime crashed)',
    });
    expect(play([ev('agent.status_changed', { from: 'waiting', to: 'stopped' })]).end).toEqual({ reason: 'mayor_ended', message: 'the mayor is stopped' });
  });

  it('clips long tool input to one line', () => {
    const long = JSON.stringify({ body: 'x'.repeat(1000) });
    const [line] = play([ev('agent.tool', { tool: 'gt_mail_send', callId: 'c', state: 'running', input: long })]).out;
    expect(line?.length).toBeLessThan(330);
    expect(line?.endsWith('…')).toBe(true);
  });
});
