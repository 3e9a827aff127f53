export { scanForSecrets } from './scan';
export { Matcher, MIN_SECRET_CHARS } from './matcher';
export { BROKER_KEY_PATTERN, DEFAULT_PATTERNS, JWT_PATTERN, NAMED_PATTERNS, REFRESH_CREDENTIAL_PATTERN, fingerprint, normalizePatterns } from './patterns';
export { formatHit, parseCliArgs, runCli } from './cli-core';
export type { LeakHit, NamedPattern, ScanError, ScanOptions, ScanResult, ScanRoots } from './types';
