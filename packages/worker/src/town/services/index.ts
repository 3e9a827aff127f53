import { ReconcilerService } from '../reconciler/apply';
import { AgentRestartService } from './agent-restart-service';
import { AgentService } from './agent-service';
import { BeadService } from './bead-service';
import { ContainerRestartService } from './container-restart-service';
import { ConvoyService } from './convoy-service';
import type { TownContext } from './context';
import { DeletionService } from './deletion-service';
import { DispatchService } from './dispatch-service';
import { EscalationService } from './escalation-service';
import { KeepAwakeService } from './keep-awake-service';
import { LifecycleService } from './lifecycle-service';
import { MailService } from './mail-service';
import { MayorService } from './mayor-service';
import { NudgeService } from './nudge-service';
import { PullRequestService } from './pull-request-service';
import { RigService } from './rig-service';
import { ReviewService } from './review-service';
import { SessionService } from './session-service';
import { SpendCapService } from './spend-cap-service';
import { ToolService } from './tool-service';
import { TownService } from './town-service';
import { UsageService } from './usage-service';
import { WorkService } from './work-service';

/** Every service of one town, wired together. */
export interface TownServices {
  ctx: TownContext;
  town: TownService;
  rigs: RigService;
  pullRequests: PullRequestService;
  agents: AgentService;
  lifecycle: LifecycleService;
  keepAwake: KeepAwakeService;
  work: WorkService;
  /** Issue beads a user manages and the mayor slings and edits. */
  beads: BeadService;
  /** Convoys: named groups of issue beads that land when all are closed. */
  convoys: ConvoyService;
  review: ReviewService;
  mail: MailService;
  dispatch: DispatchService;
  mayor: MayorService;
  sessions: SessionService;
  tools: ToolService;
  /** Nudges into a live agent's session (user API, the mayor's gt_nudge). */
  nudges: NudgeService;
  reconciler: ReconcilerService;
  /** Model usage rows and their sums. */
  usage: UsageService;
  /** The town's standing against its spend cap. */
  spendCap: SpendCapService;
  /** The owner's restart of the town's container (settings pushed, then a graceful stop). */
  containerRestart: ContainerRestartService;
  /** Deleting a rig; the town's side of deleting the town. */
  deletion: DeletionService;
  /** Escalations the owner acknowledges and resolves. */
  escalations: EscalationService;
  /** The owner's restart of one agent (gen + 1). */
  agentRestart: AgentRestartService;
}

export function createTownServices(ctx: TownContext): TownServices {
  const town = new TownService(ctx);
  const mail = new MailService(ctx);
  const work = new WorkService(ctx, town, mail);
  const review = new ReviewService(ctx, town, work);
  const agents = new AgentService(ctx, town, review);
  const rigs = new RigService(ctx, town);
  const beads = new BeadService(ctx, town, agents);
  const convoys = new ConvoyService(ctx, beads);
  const dispatch = new DispatchService(ctx, town, agents, work, rigs);
  const pullRequests = new PullRequestService(ctx, town, work, rigs);
  const spendCap = new SpendCapService(ctx, work);
  const usage = new UsageService(ctx, work, spendCap);
  const nudges = new NudgeService(ctx, agents);
  return {
    ctx,
    town,
    rigs,
    pullRequests,
    agents,
    lifecycle: new LifecycleService(ctx, work, usage, spendCap),
    keepAwake: new KeepAwakeService(ctx, town),
    work,
    beads,
    convoys,
    review,
    mail,
    dispatch,
    mayor: new MayorService(ctx, agents, dispatch, spendCap),
    sessions: new SessionService(ctx, agents),
    tools: new ToolService(ctx, town, agents, work, mail, review, dispatch, beads, convoys, nudges),
    nudges,
    reconciler: new ReconcilerService(ctx, town, agents, work, review, dispatch, pullRequests, spendCap),
    usage,
    spendCap,
    containerRestart: new ContainerRestartService(ctx, dispatch),
    deletion: new DeletionService(ctx, town, agents),
    escalations: new EscalationService(ctx),
    agentRestart: new AgentRestartService(ctx, agents, dispatch),
  };
}
