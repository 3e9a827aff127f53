/** `gastown dev`: the local stack (see run-dev.ts). */
export { runDev, DEFAULT_DEV_PORT, type RunDevOptions } from './run-dev';
export { devPaths, loadOrCreateDevFile, writeCliConfig, type DevPaths, type DevFile } from './dev-files';
