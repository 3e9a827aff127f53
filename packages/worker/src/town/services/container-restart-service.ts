/**
 * The owner's restart of a town's container, so a change of the town's env vars (a provider key)
 * or settings takes effect while agents keep it awake. Settings first — the runtime must hold the
 * current env vars before the container goes down, else its next boot would take the old ones —
 * then the graceful stop: working polecats commit and push and end `drained` (the reconciler
 * dispatches them again at once, on the same bead and branch), mayors save their sessions. The
 * next boot (that re-dispatch, a message, a dispatch) starts a container with the new settings.
 */
import { CONTAINER_RESTART_REQUESTED_EVENT, type ContainerRestartResponse } from '@gastown/protocol';
import type { TownContext } from './context';
import type { DispatchService } from './dispatch-service';

export class ContainerRestartService {
  constructor(
    private readonly ctx: TownContext,
    private readonly dispatch: DispatchService,
  ) {}

  /** Push the settings, stop the container (never starts one); a failure of either is a typed error and no event. */
  async restart(): Promise<ContainerRestartResponse> {
    await this.dispatch.syncContainerSettings();
    const { wasRunning } = await this.ctx.container.restart();
    this.ctx.event({ type: CONTAINER_RESTART_REQUESTED_EVENT, data: { wasRunning } });
    this.ctx.logger.info({ msg: 'town container restarted', townId: this.ctx.townId, wasRunning });
    return { wasRunning };
  }
}
