import type { RegistryDO } from '../registry/registry-do';
import type { RpcResult } from '../town/rpc-result';
import type { TownDO } from '../town/town-do';

/**
 * The RPC surface of a Durable Object class: its methods that return an RpcResult.
 * Every value they return is plain data (structured-clone safe), so the stub's calls have
 * exactly the class's types; this avoids the stub's lossy `unknown` → JSON typing.
 */
export type RpcSurface<T> = {
  [K in keyof T as T[K] extends (...args: never[]) => Promise<RpcResult<unknown>> ? K : never]: T[K];
};
export type TownRpc = RpcSurface<TownDO>;
export type RegistryRpc = RpcSurface<RegistryDO>;

/** Finds the Durable Objects: one TownDO per town id, one RegistryDO per user. */
export interface TownDirectory {
  town(townId: string): TownRpc;
  registry(userId: string): RegistryRpc;
}

export function directoryFromEnv(env: Pick<Env, 'TOWN' | 'REGISTRY'>): TownDirectory {
  return {
    town: (townId) => env.TOWN.get(env.TOWN.idFromName(townId)) as unknown as TownRpc,
    registry: (userId) => env.REGISTRY.get(env.REGISTRY.idFromName(userId)) as unknown as RegistryRpc,
  };
}
