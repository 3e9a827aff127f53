/**
 * Types of the scripted fake LLM: an OpenAI-compatible chat-completions server that plays
 * per-agent scripts so end-to-end tests can drive real agent runtimes deterministically.
 */

/** Header the container's broker LLM proxy adds to every model request. */
export const AGENT_ID_HEADER = 'x-gastown-agent-id';

/** One tool call the model "makes". `arguments` is sent as JSON (a string is sent as is). */
export interface ToolCallSpec {
  name: string;
  arguments?: Record<string, unknown> | string;
  /** Tool-call id; generated (`call_<seq>`) when omitted. */
  id?: string;
}

/** One model answer. */
export type Turn =
  | { type: 'tool_calls'; calls: ToolCallSpec[]; /** Optional text streamed before the calls. */ text?: string; delayMs?: number }
  | { type: 'text'; text: string; delayMs?: number }
  /** An HTTP error answer (provider failure). */
  | { type: 'error'; status: number; message: string; delayMs?: number };

/** A script: the answers to an agent's next model requests, in order. */
export type Script = Turn[];

/** OpenAI chat message as received (only the fields tests read are typed). */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool' | string;
  content?: unknown;
  tool_calls?: Array<{ id: string; type?: string; function: { name: string; arguments: string } }>;
  tool_call_id?: string;
  name?: string;
}

/** OpenAI tool definition as received. */
export interface ChatTool {
  type: string;
  function: { name: string; description?: string; parameters?: unknown };
}

/** The parsed body of a chat-completions request. */
export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  tools?: ChatTool[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  [key: string]: unknown;
}

/** What a tool returned, as the model saw it (a `role: 'tool'` message). */
export interface SeenToolResult {
  toolCallId: string;
  /** Tool name, from the assistant message that made the call (null if not found). */
  name: string | null;
  content: string;
}

/** Everything the fake LLM recorded about one request. */
export interface RecordedRequest {
  seq: number;
  at: number;
  path: string;
  agentId: string | null;
  /** 'title' requests (opencode's small_model title generation) never consume a script turn. */
  kind: 'chat' | 'title';
  /** Request headers, lower-cased; `authorization` is replaced by its fingerprint. */
  headers: Record<string, string>;
  /** `sha256:<first 8 hex>` of the Authorization header value, or null when absent. */
  authFingerprint: string | null;
  body: ChatRequest;
  messages: ChatMessage[];
  /** Names of the tools offered to the model. */
  toolNames: string[];
  tools: ChatTool[];
  /** What the fake LLM answered. */
  answer: Turn;
  /** How the answer was chosen. */
  source: 'script' | 'responder' | 'default-script' | 'title' | 'exhausted';
}

export interface ResponderContext {
  agentId: string | null;
  /** Number of chat (non-title) requests of this agent before this one. */
  turnIndex: number;
  /** The last message of the conversation. */
  lastMessage: ChatMessage | undefined;
  /** Tool results present in this request (all `role: 'tool'` messages). */
  toolResults: SeenToolResult[];
  /** Names of the tools offered. */
  toolNames: string[];
}

/** Decides the answer from the conversation. Return null to fall through to the default script. */
export type Responder = (request: ChatRequest, ctx: ResponderContext) => Turn | null | Promise<Turn | null>;

export interface FakeLlmOptions {
  /** Script for requests without (or with an unknown) agent id header. */
  defaultScript?: Script;
  /** Per-agent scripts. */
  scripts?: Record<string, Script>;
  responder?: Responder;
  /** When set, requests must carry `Authorization: Bearer <apiKey>` or get 401. */
  apiKey?: string;
  /** Model name reported in answers; defaults to the requested model. */
  model?: string;
  /** Title returned to title-generation requests. */
  title?: string;
  /** Text answered when no script turn is left. */
  exhaustedText?: string;
  /** Time source for `created` and `at` (ms). */
  now?: () => number;
}

export interface FakeLlm {
  /** Base URL including `/v1`, e.g. `http://127.0.0.1:43123/v1`. */
  readonly url: string;
  /** Every request, in arrival order (live array). */
  readonly requests: readonly RecordedRequest[];
  /** Replace an agent's remaining script (use null as agentId for the default script). */
  setScript(agentId: string | null, turns: Script): void;
  /** Set (or clear with null) the responder used when an agent has no scripted turn left. */
  setResponder(fn: Responder | null): void;
  /** Scripted turns not yet consumed for an agent (null: default script). */
  remaining(agentId: string | null): number;
  /** Chat (non-title) requests, optionally of one agent. */
  chatRequests(agentId?: string | null): RecordedRequest[];
  /** Every distinct tool result the model saw (deduplicated by tool-call id), optionally of one agent. */
  toolResults(agentId?: string | null): SeenToolResult[];
  /** Resolves when `predicate` holds for the recorded requests (checked on every new request). */
  waitFor(predicate: (requests: readonly RecordedRequest[]) => boolean, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}
