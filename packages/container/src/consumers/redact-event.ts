import type { AgentEvent } from '@gastown/protocol';
import { redactValue } from '../log/redact';
import type { SecretSource } from '../log/secret-registry';

/** No registered secrets: only the token patterns apply. */
export const NO_SECRETS: SecretSource = { values: () => [] };

/**
 * The event as it may leave the container: every string of its payload (keys and values, at any
 * depth: text parts, tool inputs and outputs, error messages) with each secret the registry holds
 * right now and each token-shaped substring (see SECRET_PATTERNS) replaced by
 * `[redacted:<fingerprint>]`. `id`, `type` and `at` are made by the container and kept as they are.
 * Pure: the input event is not changed.
 */
export function redactEvent(event: AgentEvent, registry: SecretSource): AgentEvent {
  const data = redactValue(event.data, registry.values()) as Record<string, unknown>;
  return { ...event, data };
}
