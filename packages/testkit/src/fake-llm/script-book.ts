/** Chooses the answer to a chat request: per-agent script, responder, default script, in that order. */
import { toolResultsOf } from './conversation';
import type { ChatRequest, ModelWireFormat, RecordedRequest, Responder, Script, Turn } from './types';

export interface Choice {
  turn: Turn;
  source: RecordedRequest['source'];
}

export class ScriptBook {
  private readonly scripts = new Map<string, Turn[]>();
  private defaultScript: Turn[];
  private responder: Responder | null;
  private readonly chatCounts = new Map<string, number>();
  private readonly exhaustedText: string;

  constructor(options: { defaultScript?: Script; scripts?: Record<string, Script>; responder?: Responder; exhaustedText?: string }) {
    this.defaultScript = [...(options.defaultScript ?? [])];
    for (const [agentId, turns] of Object.entries(options.scripts ?? {})) this.scripts.set(agentId, [...turns]);
    this.responder = options.responder ?? null;
    this.exhaustedText = options.exhaustedText ?? 'fake-llm: no scripted turn left';
  }

  setScript(agentId: string | null, turns: Script): void {
    if (agentId === null) this.defaultScript = [...turns];
    else this.scripts.set(agentId, [...turns]);
  }

  setResponder(fn: Responder | null): void {
    this.responder = fn;
  }

  remaining(agentId: string | null): number {
    return agentId === null ? this.defaultScript.length : (this.scripts.get(agentId)?.length ?? 0);
  }

  /**
   * 1. the agent's own script while it has turns;
   * 2. the responder (when it returns a turn);
   * 3. the default script, for agents that never had a script of their own;
   * 4. a fixed text ("exhausted"), so the runtime's turn ends cleanly instead of retrying.
   */
  async choose(agentId: string | null, request: ChatRequest, wire: ModelWireFormat = 'openai-chat'): Promise<Choice> {
    const key = agentId ?? '';
    const turnIndex = this.chatCounts.get(key) ?? 0;
    this.chatCounts.set(key, turnIndex + 1);

    const own = agentId === null ? undefined : this.scripts.get(agentId);
    const scripted = own?.shift();
    if (scripted) return { turn: scripted, source: 'script' };

    if (this.responder) {
      const turn = await this.responder(request, {
        agentId,
        wire,
        turnIndex,
        lastMessage: request.messages[request.messages.length - 1],
        toolResults: toolResultsOf(request.messages),
        toolNames: (request.tools ?? []).map((t) => t.function?.name).filter((n): n is string => typeof n === 'string'),
      });
      if (turn) return { turn, source: 'responder' };
    }

    if (own === undefined) {
      const fallback = this.defaultScript.shift();
      if (fallback) return { turn: fallback, source: 'default-script' };
    }
    return { turn: { type: 'text', text: this.exhaustedText }, source: 'exhausted' };
  }
}
