/**
 * Turns the town's events into the mayor's reply as the user sees it: text as it arrives, tool
 * calls as `→ gt_sling {…}` / `✓ gt_sling`, and when to stop (the mayor's next `session.idle`
 * after it started on the message, or the mayor ending). Pure: events in, lines and a verdict out.
 */
import type { TownEvent } from '@gastown/protocol';
import type { Colour } from '../output/colour';

export interface ReplyLine {
  stream: 'out' | 'err';
  text: string;
  colour?: Colour;
}

export type ReplyEnd = { reason: 'idle' } | { reason: 'delivery_failed' | 'mayor_ended'; message: string };

export interface ReplyStep {
  lines: ReplyLine[];
  /** Set when the reply is over. */
  end: ReplyEnd | null;
  /** The event belongs to the mayor's reply (printed under --json). */
  relevant: boolean;
}

const MAX_INPUT_CHARS = 300;
const MAX_OUTPUT_CHARS = 300;
const ENDED_STATUSES = new Set(['exited', 'stopped', 'failed']);

const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);

function clip(text: string, max: number): string {
  const oneLine = text.replace(/\s*\n\s*/g, ' ').trim();
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`;
}

function toolInput(input: unknown): string {
  if (input === null || input === undefined) return '';
  const text = typeof input === 'string' ? input : JSON.stringify(input);
  return text === '{}' || text === '' ? '' : ` ${clip(text, MAX_INPUT_CHARS)}`;
}

export class MayorReplyWatcher {
  readonly #mayorId: string;
  readonly #messageId: string;
  /** Tool call states already printed, `callId:state`. */
  readonly #seenTools = new Set<string>();
  #started = false;

  constructor(mayorId: string, messageId: string) {
    this.#mayorId = mayorId;
    this.#messageId = messageId;
  }

  /** Whether the mayor has shown any sign of working since the message was posted. */
  get started(): boolean {
    return this.#started;
  }

  accept(event: TownEvent): ReplyStep {
    const none: ReplyStep = { lines: [], end: null, relevant: false };
    if (event.agentId !== this.#mayorId) return none;
    const d = event.data;
    switch (event.type) {
      case 'session.busy':
        this.#started = true;
        return { ...none, relevant: true };
      case 'agent.text': {
        this.#started = true;
        const text = str(d.text);
        return { lines: text ? [{ stream: 'out', text }] : [], end: null, relevant: true };
      }
      case 'agent.tool':
        this.#started = true;
        return { lines: this.#tool(d), end: null, relevant: true };
      case 'agent.error':
        this.#started = true;
        return { lines: [{ stream: 'err', text: `! ${clip(str(d.message) ?? 'error', MAX_OUTPUT_CHARS)}`, colour: 'red' }], end: null, relevant: true };
      case 'session.idle':
        // An idle before the mayor started on this message ends an earlier turn, not this one.
        return this.#started ? { lines: [], end: { reason: 'idle' }, relevant: true } : none;
      case 'mayor.delivery_failed':
        if (str(d.messageId) !== this.#messageId) return none;
        return {
          lines: [],
          end: { reason: 'delivery_failed', message: `delivering the message to the mayor failed (${str(d.code) ?? 'error'}); it is stored` },
          relevant: true,
        };
      case 'agent.completed':
        return {
          lines: [],
          end: {
            reason: 'mayor_ended',
            message: `the mayor ended (${str(d.outcome) ?? 'unknown'}${str(d.reason) ? `: ${clip(str(d.reason) ?? '', MAX_OUTPUT_CHARS)}` : ''})`,
          },
          relevant: true,
        };
      case 'agent.status_changed': {
        const to = str(d.to);
        if (to === 'busy' || to === 'working') this.#started = true;
        if (to && ENDED_STATUSES.has(to)) return { lines: [], end: { reason: 'mayor_ended', message: `the mayor is ${to}` }, relevant: true };
        return none;
      }
      default:
        return none;
    }
  }

  #tool(d: Record<string, unknown>): ReplyLine[] {
    const tool = str(d.tool) ?? 'tool';
    const state = str(d.state) ?? 'running';
    const key = `${str(d.callId) ?? tool}:${state}`;
    if (this.#seenTools.has(key)) return [];
    this.#seenTools.add(key);
    switch (state) {
      case 'running':
        return [{ stream: 'out', text: `→ ${tool}${toolInput(d.input)}`, colour: 'cyan' }];
      case 'completed':
        return [{ stream: 'out', text: `✓ ${tool}`, colour: 'green' }];
      case 'error':
        return [{ stream: 'out', text: `✗ ${tool}${str(d.output) ? `: ${clip(str(d.output) ?? '', MAX_OUTPUT_CHARS)}` : ''}`, colour: 'red' }];
      default:
        return [];
    }
  }
}
