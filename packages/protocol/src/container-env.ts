// No imports: a constant of the container's environment contract.
/**
 * Prefix under which town env vars reach a town container: the control plane (the worker's
 * TownContainer DO, or the local container host) sets `TOWN_ENV_<NAME>=value`, the container
 * (packages/container/src/config.ts `townEnvFrom`) strips the prefix. The prefix keeps a town
 * var from ever shadowing a variable of the container itself (PATH, NODE_OPTIONS…).
 */
export const TOWN_ENV_PREFIX = 'TOWN_ENV_';
