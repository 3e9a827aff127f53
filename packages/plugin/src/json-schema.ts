/**
 * Tool arguments as plain JSON Schema, derived from the protocol's zod schemas.
 *
 * opencode 1.18.33 turns a plugin tool's `args` (a map of property name → JSON Schema) into
 * `{type: 'object', properties, required: <every property>}`. So every property is required
 * on the wire; an argument that is optional in the protocol is offered as "its type or null",
 * and `null` is dropped again before validation (see `dropNulls`).
 */
import { z } from 'zod';
import type { ToolName } from '@gastown/protocol';
import { TOOLS } from '@gastown/protocol';
import { TOOL_COPY } from './catalog';

export type JsonSchema = Record<string, unknown>;

function describe(schema: JsonSchema, description: string | undefined, optional: boolean, defaultValue: unknown): JsonSchema {
  const notes: string[] = [];
  if (description) notes.push(description);
  if (optional)
    notes.push(defaultValue === undefined ? 'Optional: pass null to leave it out.' : `Optional: pass null for the default (${JSON.stringify(defaultValue)}).`);
  const { default: _default, ...rest } = schema;
  const base = optional ? { anyOf: [rest, { type: 'null' }] } : rest;
  return notes.length ? { ...base, description: notes.join(' ') } : base;
}

/** The `args` map opencode expects for one tool: property name → JSON Schema. */
export function toolArgs(name: ToolName): Record<string, JsonSchema> {
  const objectSchema = z.toJSONSchema(TOOLS[name].args, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const properties = (objectSchema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((objectSchema.required ?? []) as string[]);
  const copy = TOOL_COPY[name].params;
  const out: Record<string, JsonSchema> = {};
  for (const [prop, schema] of Object.entries(properties)) {
    out[prop] = describe(schema, copy[prop], !required.has(prop), schema.default);
  }
  return out;
}

/** Remove `null` values of top-level arguments (the model's way to omit an optional argument). */
export function dropNulls(args: unknown): unknown {
  if (!args || typeof args !== 'object' || Array.isArray(args)) return args;
  return Object.fromEntries(Object.entries(args as Record<string, unknown>).filter(([, value]) => value !== null));
}
