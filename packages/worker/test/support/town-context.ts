/** A TownContext over a TownDO's real storage, for tests that read or drive a town's services directly. */
import { systemClock } from '@gastown/protocol';
import { env } from 'cloudflare:test';
import { createCredentialService, cryptoRandomBytes, loadAuthConfig } from '../../src/auth';
import { Sql } from '../../src/storage/sql';
import { NullContainerClient, type ContainerClient } from '../../src/town/container-client';
import { createIdFactory } from '../../src/town/ids';
import type { LivenessMemory } from '../../src/town/liveness-memory';
import { createTownContext, type TownContext } from '../../src/town/services/context';
import { createTownSettings } from '../../src/town/town-settings';

export function townContextOf(
  state: DurableObjectState,
  townId: string,
  options: { container?: ContainerClient; liveness?: LivenessMemory } = {},
): TownContext {
  const sql = new Sql(state.storage.sql);
  const auth = loadAuthConfig(env as unknown as Record<string, unknown>);
  const container = options.container ?? new NullContainerClient();
  return createTownContext(
    {
      sql,
      transaction: (f) => state.storage.transactionSync(f),
      clock: systemClock,
      ids: createIdFactory(cryptoRandomBytes),
      logger: { info: () => {}, warn: () => {}, error: () => {} },
      auth,
      containerClientFactory: () => container,
      settings: createTownSettings(),
      inFlight: new Set<string>(),
      reissuing: new Map<string, number>(),
      ...(options.liveness ? { liveness: options.liveness } : {}),
      credentials: createCredentialService({ sql, config: auth, clock: systemClock, randomBytes: cryptoRandomBytes, recordEvent: () => {} }),
    },
    townId,
  );
}
