/**
 * A control-plane client for benchmarks whose agents never call back (the runtime only starts or
 * restarts): every method refuses, so an unexpected call shows up as an error, not as a fake success.
 */
import { GastownError } from '@gastown/protocol';
import type { ControlPlaneClient } from '@gastown/container/broker/index';

const notUsed = () => Promise.reject(new GastownError('internal', 'not used by this benchmark'));

export const unusedClient: ControlPlaneClient = {
  tool: notUsed,
  heartbeat: notUsed,
  events: notUsed,
  completion: notUsed,
  mergeResult: notUsed,
  putSession: notUsed,
  getSession: notUsed,
  gitToken: notUsed,
};
