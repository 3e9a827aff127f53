/**
 * Per-agent broker keys: 32 random bytes per agent run, the only credential the agent
 * process holds. Lookup compares SHA-256 digests in constant time against every key.
 */
import { createHash, randomBytes as nodeRandomBytes, timingSafeEqual } from 'node:crypto';
import type { ModelUsageRecord, ProviderConfig } from '@gastown/protocol';
import type { ControlPlaneClient } from '../broker/control-plane-client';
import type { SecretSink } from '../log/secret-registry';

export const BROKER_KEY_PREFIX = 'gtb_';

/** One agent run as the supervisor hands it to the broker API. */
export interface AgentRegistration {
  /** The agent's authenticated control-plane client. */
  client: ControlPlaneClient;
  /** The town's model provider; null disables the LLM proxy for this agent. */
  provider: ProviderConfig | null;
  /** The models this agent may name (its model and small model); a request naming another gets 403 model_not_allowed. Empty: any. */
  models?: readonly string[];
  /** One measurement per model call (the run's event sink sends it as a `model.usage` event). */
  onUsage?: (record: ModelUsageRecord) => void;
  /**
   * True once the run is to stop after its turn (spend cap): the proxy answers the agent's next model
   * request with 402 spend_cap_reached and calls `onModelCallRefused`, where the supervisor ends the run.
   */
  refuseModelCalls?: () => boolean;
  onModelCallRefused?: () => void;
}

/** A registered run as the broker API's routes see it. */
export interface RegisteredAgent extends AgentRegistration {
  agentId: string;
  /** The real provider API key (from the container's own config, never the agent env). */
  providerApiKey: string | null;
}

interface Entry {
  agent: RegisteredAgent;
  key: string;
  digest: Buffer;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

export class AgentKeyRegistry {
  readonly #entries = new Map<string, Entry>();

  constructor(
    private readonly randomBytes: (n: number) => Uint8Array = nodeRandomBytes,
    private readonly secrets?: SecretSink,
  ) {}

  /** Register (or re-register) an agent run; returns its new broker key. A previous key of the agent stops working. */
  register(agent: RegisteredAgent): string {
    this.unregister(agent.agentId);
    const key = BROKER_KEY_PREFIX + Buffer.from(this.randomBytes(32)).toString('base64url');
    this.#entries.set(agent.agentId, { agent, key, digest: digest(key) });
    this.secrets?.add(key);
    if (agent.providerApiKey) this.secrets?.add(agent.providerApiKey);
    return key;
  }

  unregister(agentId: string): boolean {
    const entry = this.#entries.get(agentId);
    if (entry === undefined) return false;
    this.#entries.delete(agentId);
    this.secrets?.remove(entry.key);
    if (entry.agent.providerApiKey) this.secrets?.remove(entry.agent.providerApiKey);
    return true;
  }

  /** The agent whose key is `presented`, or null. Every entry is compared, in constant time each. */
  lookup(presented: string): RegisteredAgent | null {
    const candidate = digest(presented);
    let found: RegisteredAgent | null = null;
    for (const entry of this.#entries.values()) {
      if (timingSafeEqual(candidate, entry.digest)) found = entry.agent;
    }
    return found;
  }

  get size(): number {
    return this.#entries.size;
  }
}
