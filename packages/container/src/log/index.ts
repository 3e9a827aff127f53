export { createLogger, silentLogger, LOG_LEVELS } from './logger';
export type { Logger, LogLevel, LineSink, LoggerOptions } from './logger';
export { SecretRegistry, MIN_SECRET_LENGTH } from './secret-registry';
export type { SecretSink, SecretSource } from './secret-registry';
export { redactString, redactValue, redactionMarker, SECRET_PATTERNS } from './redact';
export { fingerprint } from './fingerprint';
