import { deriveTownContainerKey } from '@gastown/protocol';

/**
 * The town's container key (derived from the deployment's GASTOWN_CONTAINER_KEY and the town id:
 * @gastown/protocol `deriveTownContainerKey`), computed on first use and then kept. A failed
 * derivation is not kept: the next call tries again.
 */
export function lazyTownContainerKey(deploymentKey: string, townId: string): () => Promise<string> {
  let pending: Promise<string> | null = null;
  return () => {
    pending ??= deriveTownContainerKey(deploymentKey, townId).catch((err: unknown) => {
      pending = null;
      throw err;
    });
    return pending;
  };
}
