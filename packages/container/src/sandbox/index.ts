export { createSandbox, IsolatingSandbox, NO_SANDBOX, type Sandbox, type SandboxOptions, type CreateSandboxOptions } from './sandbox';
export { type LeaseRequest, type SandboxLease, type SpawnPlan, toolchainRoot } from './sandbox-lease';
export {
  decideIsolation,
  usesNamespaces,
  usesOwnUid,
  ISOLATION_LEVELS,
  SANDBOX_MODES,
  type IsolationLevel,
  type SandboxMode,
  type SandboxProbe,
  type ProbeOutcome,
  type IsolationDecision,
} from './isolation';
export { buildBwrapArgs, SYSTEM_PATHS, type BwrapSpec, type SystemMount } from './bwrap-args';
export { probeSandbox, findBwrap, hostSystemMounts } from './probe';
export { UidPool } from './uid-pool';
export { pidsOfUid, uidsWithProcesses, parseStatusUids } from './proc-table';
export { rigMirrorOf } from './rig-mirror';
export { SandboxError, type SandboxErrorCode } from './errors';
