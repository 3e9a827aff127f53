import { GastownError } from '@gastown/protocol';

/** Why a runtime operation failed. Stable strings: callers and tests switch on them. */
export type RuntimeErrorCode =
  /** The opencode/kilo binary is not installed. */
  | 'runtime_binary_missing'
  /** The process could not be spawned, or its state dir could not be prepared. */
  | 'runtime_spawn_failed'
  /** The process exited before it was ready. */
  | 'runtime_exited'
  /** The process did not print its listening URL, or its event stream did not connect, in time. */
  | 'runtime_start_timeout'
  /** The server refused to create the session. */
  | 'runtime_session_failed'
  /** The server refused a prompt. */
  | 'runtime_prompt_failed'
  /** The runtime is not running (not started, stopping or exited). */
  | 'runtime_not_running'
  /** A command run as the agent could not be spawned. */
  | 'runtime_command_failed'
  /** A saved conversation could not be imported, or the runtime did not have it afterwards. */
  | 'runtime_restore_failed'
  /** The server did not answer the session's export. */
  | 'runtime_export_failed';

/**
 * A runtime failure. Its wire `code` is `container_unavailable` (the agent cannot run); the
 * precise reason is `runtimeCode`. Messages never hold a secret: process output quoted in
 * them has the broker key and server password removed.
 */
export class RuntimeError extends GastownError {
  readonly runtimeCode: RuntimeErrorCode;
  constructor(runtimeCode: RuntimeErrorCode, message: string, options?: { cause?: unknown }) {
    super('container_unavailable', message, options);
    this.name = 'RuntimeError';
    this.runtimeCode = runtimeCode;
  }
}
