import { AgentService } from './agent-service';
import type { TownContext } from './context';
import { LifecycleService } from './lifecycle-service';
import { MailService } from './mail-service';
import { MayorService } from './mayor-service';
import { RefreshService } from './refresh-service';
import { ToolService } from './tool-service';
import { TownService } from './town-service';
import { WorkService } from './work-service';

/** Every service of one town, wired together. */
export interface TownServices {
  ctx: TownContext;
  town: TownService;
  agents: AgentService;
  lifecycle: LifecycleService;
  work: WorkService;
  mail: MailService;
  mayor: MayorService;
  tools: ToolService;
  refresh: RefreshService;
}

export function createTownServices(ctx: TownContext): TownServices {
  const town = new TownService(ctx);
  const agents = new AgentService(ctx, town);
  const mail = new MailService(ctx);
  const work = new WorkService(ctx, town, mail);
  return {
    ctx,
    town,
    agents,
    lifecycle: new LifecycleService(ctx),
    work,
    mail,
    mayor: new MayorService(ctx, town, agents),
    tools: new ToolService(ctx, town, agents, work, mail),
    refresh: new RefreshService(ctx, town, agents),
  };
}
