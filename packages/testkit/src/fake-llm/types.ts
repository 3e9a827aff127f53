/**
 * Types of the scripted fake LLM: a server speaking OpenAI chat completions and Anthropic
 * Messages that plays per-agent scripts so end-to-end tests can drive real agent runtimes
 * deterministically, and reports deterministic token usage.
 */
import type { ModelWireFormat } from '@gastown/protocol';

export type { ModelWireFormat };

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

/**
 * The parsed body of a chat-completions request. Anthropic Messages requests are normalised into
 * this shape (system → system message, tool_use → tool_calls, tool_result → `role: 'tool'`).
 */
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

/**
 * Token counts of one model call in normalised form (what the model proxy computes):
 * `inputTokens` excludes the cache reads and writes; the four add up to the whole prompt + answer.
 */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

/** Everything the fake LLM recorded about one request. */
export interface RecordedRequest {
  seq: number;
  at: number;
  path: string;
  /** Wire format of the route the request came in on. */
  wire: ModelWireFormat;
  /** The model named in the request ('' when absent). */
  model: string;
  agentId: string | null;
  /** 'title' requests (opencode's small_model title generation) never consume a script turn. */
  kind: 'chat' | 'title';
  /** Request headers, lower-cased; `authorization` and `x-api-key` are replaced by their fingerprints. */
  headers: Record<string, string>;
  /**
   * `sha256:<first 8 hex>` of the header carrying the credential on this wire (the whole
   * `Authorization` value for openai-chat, the `x-api-key` value for anthropic-messages), or null.
   */
  authFingerprint: string | null;
  /** Fingerprint of the bare key presented on this wire (Bearer token or x-api-key), comparable across wires. */
  keyFingerprint: string | null;
  /** The request body as received (Anthropic or OpenAI shape). */
  body: Record<string, unknown>;
  /** The request normalised to the chat-completions shape (the same object as `body` for openai-chat). */
  chat: ChatRequest;
  messages: ChatMessage[];
  /** Names of the tools offered to the model. */
  toolNames: string[];
  tools: ChatTool[];
  /** What the fake LLM answered. */
  answer: Turn;
  /** How the answer was chosen. */
  source: 'script' | 'responder' | 'default-script' | 'title' | 'exhausted';
  /** Token usage reported in the answer, normalised (zero for error answers). */
  usage: TokenUsage;
}

/** Which recorded requests `totalUsage` sums (every field optional; all given must match). */
export interface UsageFilter {
  agentId?: string | null;
  model?: string;
  wire?: ModelWireFormat;
  kind?: RecordedRequest['kind'];
}

export interface ResponderContext {
  agentId: string | null;
  /** Wire format the request came in on (the request itself is normalised either way); always set by the server. */
  wire?: ModelWireFormat;
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
  /**
   * When set, model requests must carry the key or get 401 in their wire's error format:
   * `Authorization: Bearer <apiKey>` on chat-completions routes, `x-api-key: <apiKey>` on messages routes.
   */
  apiKey?: string;
  /** Model name reported in answers; defaults to the requested model. */
  model?: string;
  /** Model ids listed by `GET /v1/models` (default `[model ?? 'fake-model']`). */
  models?: string[];
  /**
   * Report cache reads/writes on every Anthropic answer (default true); when false, only on
   * requests whose body has a `cache_control`.
   */
  anthropicCache?: boolean;
  /** Title returned to title-generation requests. */
  title?: string;
  /** Text answered when no script turn is left. */
  exhaustedText?: string;
  /** Time source for `created` and `at` (ms). */
  now?: () => number;
}

export interface FakeLlm {
  /**
   * Base URL including `/v1`, e.g. `http://127.0.0.1:43123/v1`: `{url}/chat/completions`
   * (OpenAI) and `{url}/messages` (Anthropic).
   */
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
  /** Sum of the recorded usage (normalised), optionally of the requests matching `filter`. */
  totalUsage(filter?: UsageFilter): TokenUsage;
  /** Resolves when `predicate` holds for the recorded requests (checked on every new request). */
  waitFor(predicate: (requests: readonly RecordedRequest[]) => boolean, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}
