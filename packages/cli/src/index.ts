/** @gastown/cli: the `gastown` command line, usable as a library (tests, the demo). */
export { runCli, COMMANDS, mainHelp } from './cli';
export type { CliEnvironment } from './context';
export { ApiClient, type ApiClientOptions, type FetchFn } from './client/api-client';
export { SseParser, type ServerSentEvent } from '@gastown/protocol';
export { followEvents } from './client/follow-events';
export { latestEventId } from './client/event-cursor';
export { CliError, EXIT_CODES, type CliErrorCode } from './errors';
export { locateConfigFile, readConfigFile, writeConfigFile, CliConfigFileSchema, type CliConfigFile } from './config/config-file';
export { resolveSettings, DEFAULT_URL, ENV, type Settings } from './config/settings';
export { MayorReplyWatcher } from './views/mayor-reply';
