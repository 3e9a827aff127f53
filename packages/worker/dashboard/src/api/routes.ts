/**
 * The user API routes the dashboard calls. The same table as `USER_API` in @gastown/protocol
 * (a worker test keeps them equal); copied so the bundle does not pull zod in.
 */
export const ROUTES = {
  towns: '/api/towns',
  town: '/api/towns/:townId',
  townConfig: '/api/towns/:townId/config',
  rigs: '/api/towns/:townId/rigs',
  agents: '/api/towns/:townId/agents',
  stopAgent: '/api/towns/:townId/agents/:agentId/stop',
  reissueCredentials: '/api/towns/:townId/agents/:agentId/credentials/reissue',
  beads: '/api/towns/:townId/beads',
  mail: '/api/towns/:townId/mail',
  mayorMessages: '/api/towns/:townId/mayor/messages',
  events: '/api/towns/:townId/events',
  eventStream: '/api/towns/:townId/events/stream',
} as const;

export type RouteName = keyof typeof ROUTES;

/** Fill `:param` placeholders; every value is URL-encoded. */
export function pathFor(name: RouteName, params: Record<string, string> = {}): string {
  return ROUTES[name].replace(/:([A-Za-z]+)/g, (_, key: string) => {
    const value = params[key];
    if (value === undefined) throw new Error(`missing route parameter ${key}`);
    return encodeURIComponent(value);
  });
}
