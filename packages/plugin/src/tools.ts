/** The gt_* tool definitions for one role: describe, validate arguments, call the broker. */
import { AgentRoleSchema, GastownError, ROLE_TOOLS, TOOLS, type AgentRole, type ToolName } from '@gastown/protocol';
import { brokerCoordinatesFrom, callBroker, failure } from './broker-call';
import { TOOL_COPY, toolId } from './catalog';
import { dropNulls, toolArgs, type JsonSchema } from './json-schema';

/** The subset of opencode's tool context the plugin uses. */
export interface ToolCallContext {
  abort?: AbortSignal;
  sessionID?: string;
  callID?: string;
}

/** An opencode plugin tool whose `args` are plain JSON Schema (opencode 1.18.33 accepts these). */
export interface GastownTool {
  description: string;
  args: Record<string, JsonSchema>;
  execute(args: unknown, context?: ToolCallContext): Promise<string>;
}

export interface ToolDeps {
  /** Read at every call, so the coordinates are never cached in the plugin. */
  env: () => Record<string, string | undefined>;
  fetch: typeof fetch;
  timeoutMs?: number;
}

function issuesText(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string {
  return issues.map((i) => (i.path.length ? `${i.path.map(String).join('.')}: ${i.message}` : i.message)).join('; ');
}

export function buildTool(name: ToolName, deps: ToolDeps): GastownTool {
  const id = toolId(name);
  return {
    description: TOOL_COPY[name].description,
    args: toolArgs(name),
    async execute(rawArgs, context) {
      const parsed = TOOLS[name].args.safeParse(dropNulls(rawArgs ?? {}));
      if (!parsed.success) return failure(id, 'validation_failed', issuesText(parsed.error.issues)).text;
      const coordinates = brokerCoordinatesFrom(deps.env());
      if (typeof coordinates === 'string') return failure(id, 'internal', coordinates).text;
      const outcome = await callBroker({
        toolId: id,
        tool: name,
        args: parsed.data,
        coordinates,
        fetch: deps.fetch,
        ...(context?.abort ? { signal: context.abort } : {}),
        ...(deps.timeoutMs !== undefined ? { timeoutMs: deps.timeoutMs } : {}),
      });
      return outcome.text;
    },
  };
}

/** Parse the role the runtime was started with; throws a typed error on anything else. */
export function roleFrom(value: string | undefined): AgentRole {
  const parsed = AgentRoleSchema.safeParse(value);
  if (!parsed.success) {
    throw new GastownError(
      'validation_failed',
      `GASTOWN_AGENT_ROLE must be one of ${AgentRoleSchema.options.join(', ')} (got ${value === undefined ? 'nothing' : JSON.stringify(value)})`,
    );
  }
  return parsed.data;
}

/** Every tool the protocol allows the role to call (ROLE_TOOLS, a view of TOOLS), keyed by its model-facing name (gt_…). */
export function buildTools(role: AgentRole, deps: ToolDeps): Record<string, GastownTool> {
  return Object.fromEntries(ROLE_TOOLS[role].map((name) => [toolId(name), buildTool(name, deps)]));
}
