/**
 * Bundle entry: the one export opencode loads (every export of a plugin module must be a plugin).
 * The role is read once when the plugin loads; broker coordinates at every call.
 */
import { buildTools, roleFrom, type GastownTool } from './tools';

export const GastownPlugin = async (): Promise<{ tool: Record<string, GastownTool> }> => {
  const role = roleFrom(process.env.GASTOWN_AGENT_ROLE);
  return { tool: buildTools(role, { env: () => process.env, fetch: (input, init) => fetch(input, init) }) };
};
