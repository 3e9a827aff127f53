import { z } from 'zod';

/** Town event recorded when the owner restarts the town's container (data: `{ wasRunning }`). */
export const CONTAINER_RESTART_REQUESTED_EVENT = 'container.restart_requested';

/**
 * Answer of `POST USER_API.restartContainer` (202): the town's current settings and env vars were
 * handed to the container runtime, then its container was stopped gracefully (SIGTERM: working
 * polecats commit and push, mayors save their sessions, drained polecats are dispatched again).
 * The next boot — the next message, dispatch or re-dispatch — takes the new settings.
 */
export const ContainerRestartResponseSchema = z
  .object({
    /** Whether a container was running (and was stopped); false when the town already slept. */
    wasRunning: z.boolean(),
  })
  .strict();
export type ContainerRestartResponse = z.infer<typeof ContainerRestartResponseSchema>;
