/**
 * Two users, each with a town and a rig: what the ownership tests need ("another user's bead or
 * convoy answers 404, never 403").
 */
import type { Rig, Town } from '@gastown/protocol';
import { addRig, createTown, createUserToken } from '../helpers';

export interface Owner {
  token: string;
  town: Town;
  rig: Rig;
}

export async function owner(): Promise<Owner> {
  const token = await createUserToken();
  const town = await createTown(token);
  return { token, town, rig: await addRig(token, town.id) };
}

export async function twoOwners(): Promise<{ mine: Owner; theirs: Owner }> {
  return { mine: await owner(), theirs: await owner() };
}
