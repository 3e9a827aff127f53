import type { Clock } from '@gastown/protocol';
import type { AuthConfig, CredentialService } from '../../auth';
import { GitTokenCache, type FetchFn } from '../../git-host';
import type { Sql } from '../../storage/sql';
import type { ContainerClient, ContainerClientFactory } from '../container-client';
import type { IdFactory } from '../ids';
import { LivenessMemory } from '../liveness-memory';
import { AgentRepository } from '../repositories/agent-repository';
import { BeadRepository } from '../repositories/bead-repository';
import { ConvoyRepository } from '../repositories/convoy-repository';
import { AgentEventRepository, TownEventRepository, type NewTownEvent } from '../repositories/event-repository';
import { MailRepository } from '../repositories/mail-repository';
import { MayorMessageRepository } from '../repositories/mayor-message-repository';
import { RigRepository } from '../repositories/rig-repository';
import { SessionRepository } from '../repositories/session-repository';
import { TownRepository } from '../repositories/town-repository';
import { TownStateRepository } from '../repositories/town-state-repository';
import { UsageRepository } from '../repositories/usage-repository';
import { WebhookDeliveryRepository } from '../repositories/webhook-delivery-repository';
import type { TownSettings } from '../town-settings';
import type { Logger } from '../rpc-result';

/** Everything a TownDO hands its services: storage, time, ids, credentials, the container. */
export interface TownDeps {
  sql: Sql;
  transaction: <T>(fn: () => T) => T;
  clock: Clock;
  ids: IdFactory;
  logger: Logger;
  auth: AuthConfig;
  credentials: CredentialService;
  containerClientFactory: ContainerClientFactory;
  /** Dispatch and reconciler settings (parsed once from the env). */
  settings: TownSettings;
  /** Agents with a container operation (a start) in flight in this object: the reconciler leaves them alone. */
  inFlight: Set<string>;
  /**
   * Agents whose reissued credentials are being handed to their container, with the generation
   * they had before it: until the hand-over ends, that generation's tokens and refresh credentials
   * are still accepted, so no call of the agent fails in between (credentials/reissue.ts).
   */
  reissuing: Map<string, number>;
  /** Git tokens of the town's private rigs, in memory only (default: a new cache). */
  gitTokens?: GitTokenCache;
  /** How the town reaches git hosts (default: the global fetch; a stub in tests). */
  fetch?: FetchFn;
  /** Heartbeat times not yet in storage, on the TownDO instance (default: a new memory started now). */
  liveness?: LivenessMemory;
}

export interface TownRepositories {
  town: TownRepository;
  rigs: RigRepository;
  agents: AgentRepository;
  beads: BeadRepository;
  /** Convoys (named groups of issue beads) and their membership. */
  convoys: ConvoyRepository;
  mail: MailRepository;
  townEvents: TownEventRepository;
  agentEvents: AgentEventRepository;
  mayorMessages: MayorMessageRepository;
  townState: TownStateRepository;
  /** Stored session snapshots (pointers into R2) of agents. */
  sessions: SessionRepository;
  /** Provider webhook deliveries already applied. */
  webhookDeliveries: WebhookDeliveryRepository;
  /** Model calls measured by the container's proxy, with their cost. */
  usage: UsageRepository;
}

/** The per-town context every service shares (built once the town row exists). */
export interface TownContext extends Omit<TownDeps, 'gitTokens' | 'fetch' | 'liveness'> {
  townId: string;
  liveness: LivenessMemory;
  gitTokens: GitTokenCache;
  fetch: FetchFn;
  container: ContainerClient;
  repos: TownRepositories;
  /** Record a town event at the current time. */
  event(event: NewTownEvent): void;
}

export function createTownContext(deps: TownDeps, townId: string): TownContext {
  const liveness = deps.liveness ?? new LivenessMemory(deps.clock.now());
  const repos: TownRepositories = {
    town: new TownRepository(deps.sql),
    rigs: new RigRepository(deps.sql, townId),
    agents: new AgentRepository(deps.sql, liveness),
    beads: new BeadRepository(deps.sql, townId),
    convoys: new ConvoyRepository(deps.sql, townId),
    mail: new MailRepository(deps.sql, townId),
    townEvents: new TownEventRepository(deps.sql, townId),
    agentEvents: new AgentEventRepository(deps.sql),
    mayorMessages: new MayorMessageRepository(deps.sql, townId),
    townState: new TownStateRepository(deps.sql),
    sessions: new SessionRepository(deps.sql),
    webhookDeliveries: new WebhookDeliveryRepository(deps.sql),
    usage: new UsageRepository(deps.sql),
  };
  return {
    ...deps,
    townId,
    liveness,
    gitTokens: deps.gitTokens ?? new GitTokenCache(deps.clock),
    fetch: deps.fetch ?? ((input, init) => fetch(input, init)),
    container: deps.containerClientFactory(townId),
    repos,
    event: (event) => repos.townEvents.insert(event, deps.clock.now()),
  };
}
