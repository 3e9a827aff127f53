/**
 * The worker the tests run (vitest.config.ts `main`): the real one, except that its TownDO is built
 * with the test seams of test/support/town-seams.ts — a fake container, a manual alarm and a fake git
 * host (fetch) a test can install per town. Production code has no test hook: the seams go in through the constructor.
 */
import { loadWorkerConfig } from '../src/config';
import { storageAlarms } from '../src/town/alarm-scheduler';
import { TownDO as ProductionTownDO } from '../src/town/town-do';
import { SeamAlarms, SeamContainerClient, seamFetch } from './support/town-seams';

export { default, RegistryDO, TownContainerDO } from '../src/index';

export class TownDO extends ProductionTownDO {
  constructor(ctx: DurableObjectState, env: Env) {
    const objectId = ctx.id.toString();
    const real = loadWorkerConfig(env).containerClientFactory;
    super(ctx, env, {
      containerClientFactory: (townId) => new SeamContainerClient(objectId, real(townId)),
      alarms: new SeamAlarms(objectId, storageAlarms(ctx.storage)),
      fetch: seamFetch(objectId),
    });
  }
}
