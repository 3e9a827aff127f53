/**
 * The lifecycle of one agent run, as a pure transition function. The supervisor does the
 * I/O around it (runtime, heartbeat, reports); `AgentRun` holds the current value and applies
 * events through `transition`.
 *
 *   starting → running ⇄ idle → exiting → exited | failed
 *   starting → failed (the runtime exited, or the start failed)
 *
 * Every (state, event) pair has one of three outcomes:
 * - the next lifecycle;
 * - ignored (null): a report from the runtime that came too early or too late and changes
 *   nothing (a session going busy while the run is still starting, the exit its own stop caused);
 * - a RunLifecycleError: the supervisor asked for something the state does not allow.
 */
import { GastownError, RuntimeStateSchema, type RuntimeState } from '@gastown/protocol';

export type RunState = RuntimeState;
export type RunActivity = 'working' | 'waiting';

export interface RunLifecycle {
  readonly state: RunState;
  /** The agent's own view: working on a turn, or waiting for input. */
  readonly activity: RunActivity;
}

export const INITIAL_LIFECYCLE: RunLifecycle = { state: 'starting', activity: 'working' };

export const RUN_STATES: readonly RunState[] = RuntimeStateSchema.options;

/** Live states: the run holds resources and accepts messages. */
export const LIVE_STATES: ReadonlySet<RunState> = new Set<RunState>(['starting', 'running', 'idle']);

export const RUN_EVENTS = [
  /** The runtime is serving its session. */
  'runtime.started',
  /** A prompt or message is handed to the runtime: there is work to do. */
  'message.sent',
  /** The runtime reported its session busy (a turn began). */
  'session.busy',
  /** The session has nothing to do: the runtime reported it idle, or the run started without a prompt. */
  'session.idle',
  /** The runtime process went away on its own. */
  'runtime.exited',
  /** The orderly end began (stop request, idle timeout, newer generation, unexpected exit). */
  'stop.begun',
  /** The start failed; the run's resources are released. */
  'start.failed',
  /** The orderly end finished with a completed or stopped outcome. */
  'run.ended',
  /** The orderly end finished with a failed outcome. */
  'run.failed',
] as const;
export type RunEvent = (typeof RUN_EVENTS)[number];

/** The supervisor applied an event the run's state does not allow (a bug, never a runtime report). */
export class RunLifecycleError extends GastownError {
  readonly state: RunState;
  readonly event: RunEvent;
  constructor(state: RunState, event: RunEvent) {
    super('conflict', `a run that is ${state} cannot take ${event}`);
    this.name = 'RunLifecycleError';
    this.state = state;
    this.event = event;
  }
}

/** The next state, and the activity when the event sets it (unchanged otherwise). */
type Rule = { state: RunState; activity?: RunActivity } | 'ignore';

const IGNORE_WHEN_NOT_LIVE = { exiting: 'ignore', exited: 'ignore', failed: 'ignore' } as const;

/** Pairs not listed are invalid. */
const RULES: Record<RunEvent, Partial<Record<RunState, Rule>>> = {
  'runtime.started': { starting: { state: 'running' } },
  'message.sent': {
    starting: { state: 'starting', activity: 'working' },
    running: { state: 'running', activity: 'working' },
    idle: { state: 'running', activity: 'working' },
  },
  'session.busy': {
    starting: 'ignore',
    running: { state: 'running', activity: 'working' },
    idle: { state: 'running', activity: 'working' },
    ...IGNORE_WHEN_NOT_LIVE,
  },
  'session.idle': {
    starting: 'ignore',
    running: { state: 'idle', activity: 'waiting' },
    idle: { state: 'idle', activity: 'waiting' },
    ...IGNORE_WHEN_NOT_LIVE,
  },
  // a live run stays as it is: the supervisor ends it in order (→ stop.begun)
  'runtime.exited': {
    starting: { state: 'failed' },
    running: { state: 'running' },
    idle: { state: 'idle' },
    ...IGNORE_WHEN_NOT_LIVE,
  },
  'stop.begun': { starting: { state: 'exiting' }, running: { state: 'exiting' }, idle: { state: 'exiting' } },
  // failed → failed: the runtime exited during the start, which then failed
  'start.failed': { starting: { state: 'failed' }, running: { state: 'failed' }, idle: { state: 'failed' }, failed: { state: 'failed' } },
  'run.ended': { exiting: { state: 'exited', activity: 'waiting' } },
  'run.failed': { exiting: { state: 'failed' } },
};

/** The lifecycle after `event`; null when the event is ignored in this state. Throws RunLifecycleError when it is not allowed. */
export function transition(current: RunLifecycle, event: RunEvent): RunLifecycle | null {
  const rule = RULES[event][current.state];
  if (rule === undefined) throw new RunLifecycleError(current.state, event);
  if (rule === 'ignore') return null;
  return { state: rule.state, activity: rule.activity ?? current.activity };
}

export function isLive(state: RunState): boolean {
  return LIVE_STATES.has(state);
}
