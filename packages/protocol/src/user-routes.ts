// No imports: safe for the dashboard bundle, which must not pull zod in.
/** Route table of the user API (Bearer user token, audience gastown:user). */
export const USER_API = {
  createUserToken: '/api/admin/user-tokens',
  towns: '/api/towns',
  town: '/api/towns/:townId',
  townConfig: '/api/towns/:townId/config',
  rigs: '/api/towns/:townId/rigs',
  rig: '/api/towns/:townId/rigs/:rigId',
  agents: '/api/towns/:townId/agents',
  stopAgent: '/api/towns/:townId/agents/:agentId/stop',
  reissueCredentials: '/api/towns/:townId/agents/:agentId/credentials/reissue',
  beads: '/api/towns/:townId/beads',
  bead: '/api/towns/:townId/beads/:beadId',
  mail: '/api/towns/:townId/mail',
  mayorMessages: '/api/towns/:townId/mayor/messages',
  mayorSession: '/api/towns/:townId/mayor/session',
  events: '/api/towns/:townId/events',
  eventStream: '/api/towns/:townId/events/stream',
  usage: '/api/towns/:townId/usage',
  models: '/api/towns/:townId/models',
  restartContainer: '/api/towns/:townId/container/restart',
} as const;
