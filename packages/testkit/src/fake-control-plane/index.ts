export { startFakeControlPlane } from './server';
export type { FakeControlPlane, FakeControlPlaneOptions, FakeFailure, FakeRoute, RecordedRequest, AuthVerdict, GitTokenIssuer } from './server';
export { sha256Hex } from './session-store';
export type { SessionCorruption, StoredSession } from './session-store';
export { ManualClock, ManualTimers, settle } from './manual-time';
export { mintAgentToken, verifyAgentToken, FAKE_KID } from './tokens';
export type { MintedToken } from './tokens';
