/** Typed errors cross the Durable Object RPC boundary as the family they were thrown as. */
import { CredentialError, GastownError } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { unwrap } from '../../src/town/rpc-result';
import { createTown, createUserToken, townStub } from '../helpers';

async function thrown(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  return 'resolved';
}

describe('errors over TownDO RPC', () => {
  it('a credential refusal arrives as a CredentialError; any other typed error as a plain GastownError', async () => {
    const userToken = await createUserToken();
    const town = await createTown(userToken);
    const stub = townStub(town.id);

    const refusal = await thrown(stub.refreshCredentials(`gtr_${'C'.repeat(43)}`).then(unwrap));
    expect(refusal).toBeInstanceOf(CredentialError);
    expect(refusal).toMatchObject({ code: 'refresh_invalid' });

    const notOwner = await thrown(stub.getTown('someone-else').then(unwrap));
    expect(notOwner).toBeInstanceOf(GastownError);
    expect(notOwner).not.toBeInstanceOf(CredentialError);
    expect(notOwner).toMatchObject({ code: 'not_found' });
  });
});
