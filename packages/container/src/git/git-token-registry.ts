/**
 * The container's git token brokers, one per rig (./git-token-broker.ts), created on first use.
 * One registry per container; nothing module-level.
 */
import { GastownError, type RigRef } from '@gastown/protocol';
import { GitTokenBroker, type GitTokenBrokerOptions } from './git-token-broker';

export type GitTokenRegistryOptions = Omit<GitTokenBrokerOptions, 'rigId'>;

export class GitTokenRegistry {
  readonly #options: GitTokenRegistryOptions;
  readonly #brokers = new Map<string, GitTokenBroker>();
  #stopped = false;

  constructor(options: GitTokenRegistryOptions) {
    this.#options = options;
  }

  /** The broker of `rig`, bound to its git URL (the only URL the credential helper answers for). */
  forRig(rig: Pick<RigRef, 'id' | 'gitUrl'>): GitTokenBroker {
    if (this.#stopped) throw new GastownError('container_unavailable', 'the git credential brokers are stopped');
    let broker = this.#brokers.get(rig.id);
    if (broker === undefined) {
      broker = new GitTokenBroker({ ...this.#options, rigId: rig.id });
      this.#brokers.set(rig.id, broker);
    }
    broker.bindUrl(rig.gitUrl);
    return broker;
  }

  /** The broker of rig `rigId`, or null when no run or command of that rig has needed one. */
  get(rigId: string): GitTokenBroker | null {
    return this.#brokers.get(rigId) ?? null;
  }

  stop(): void {
    this.#stopped = true;
    for (const broker of this.#brokers.values()) broker.stop();
  }
}
