import { GastownError } from '@gastown/protocol';

/** Why the sandbox could not isolate an agent run. Stable strings: callers and tests switch on them. */
export type SandboxErrorCode =
  /** Every uid of the pool is leased or still has processes. */
  | 'sandbox_pool_exhausted'
  /** The agent's paths could not be handed to its uid (chown, chmod, a path that is not what it should be). */
  | 'sandbox_prepare_failed'
  /** A bwrap argument is malformed or would expose a forbidden path (a bug, not bad input). */
  | 'sandbox_spec_invalid';

/**
 * A sandbox failure. Its wire `code` is `container_unavailable` (the agent cannot run); the
 * precise reason is `sandboxCode`. Messages name paths, never file contents or secrets.
 */
export class SandboxError extends GastownError {
  readonly sandboxCode: SandboxErrorCode;
  constructor(sandboxCode: SandboxErrorCode, message: string, options?: { cause?: unknown }) {
    super('container_unavailable', message, options);
    this.name = 'SandboxError';
    this.sandboxCode = sandboxCode;
  }
}
