/**
 * The user API routes the dashboard calls: the protocol's own table, imported from its zod-free
 * modules so the bundle does not pull zod in.
 */
import { routePath } from '@gastown/protocol/route-path';
import { USER_API } from '@gastown/protocol/user-routes';

export const ROUTES = USER_API;

export type RouteName = keyof typeof ROUTES;

/** Fill `:param` placeholders; every value is URL-encoded. */
export function pathFor(name: RouteName, params: Record<string, string> = {}): string {
  return routePath(ROUTES[name], params);
}
