import { describe, expect, it } from 'vitest';
import { GastownError } from '@gastown/protocol';
import {
  RUN_EVENTS,
  RUN_STATES,
  RunLifecycleError,
  transition,
  type RunActivity,
  type RunEvent,
  type RunLifecycle,
  type RunState,
} from '../../src/supervisor/run-lifecycle';

/** The next state and activity; `same` keeps the activity the run had. */
type Expected = { state: RunState; activity: RunActivity | 'same' } | 'ignored' | 'invalid';

const ignoredWhenNotLive = { exiting: 'ignored', exited: 'ignored', failed: 'ignored' } as const;
const invalidWhenNotLive = { exiting: 'invalid', exited: 'invalid', failed: 'invalid' } as const;

/** Every state × event. */
const TABLE: Record<RunEvent, Record<RunState, Expected>> = {
  'runtime.started': {
    starting: { state: 'running', activity: 'same' },
    running: 'invalid',
    idle: 'invalid',
    ...invalidWhenNotLive,
  },
  'message.sent': {
    starting: { state: 'starting', activity: 'working' },
    running: { state: 'running', activity: 'working' },
    idle: { state: 'running', activity: 'working' },
    ...invalidWhenNotLive,
  },
  'session.busy': {
    starting: 'ignored',
    running: { state: 'running', activity: 'working' },
    idle: { state: 'running', activity: 'working' },
    ...ignoredWhenNotLive,
  },
  'session.idle': {
    starting: 'ignored',
    running: { state: 'idle', activity: 'waiting' },
    idle: { state: 'idle', activity: 'waiting' },
    ...ignoredWhenNotLive,
  },
  'runtime.exited': {
    starting: { state: 'failed', activity: 'same' },
    running: { state: 'running', activity: 'same' },
    idle: { state: 'idle', activity: 'same' },
    ...ignoredWhenNotLive,
  },
  'stop.begun': {
    starting: { state: 'exiting', activity: 'same' },
    running: { state: 'exiting', activity: 'same' },
    idle: { state: 'exiting', activity: 'same' },
    ...invalidWhenNotLive,
  },
  'start.failed': {
    starting: { state: 'failed', activity: 'same' },
    running: { state: 'failed', activity: 'same' },
    idle: { state: 'failed', activity: 'same' },
    exiting: 'invalid',
    exited: 'invalid',
    failed: { state: 'failed', activity: 'same' },
  },
  'run.ended': {
    starting: 'invalid',
    running: 'invalid',
    idle: 'invalid',
    exiting: { state: 'exited', activity: 'waiting' },
    exited: 'invalid',
    failed: 'invalid',
  },
  'run.failed': {
    starting: 'invalid',
    running: 'invalid',
    idle: 'invalid',
    exiting: { state: 'failed', activity: 'same' },
    exited: 'invalid',
    failed: 'invalid',
  },
};

const ACTIVITIES: readonly RunActivity[] = ['working', 'waiting'];

const cases = RUN_EVENTS.flatMap((event) =>
  RUN_STATES.flatMap((state) =>
    ACTIVITIES.map((activity) => ({
      name: `${state}/${activity} + ${event}`,
      from: { state, activity } as RunLifecycle,
      event,
      expected: TABLE[event][state],
    })),
  ),
);

describe('run lifecycle: transition', () => {
  it('the table covers every state × event', () => {
    expect(cases).toHaveLength(RUN_STATES.length * RUN_EVENTS.length * ACTIVITIES.length);
    expect(RUN_STATES).toEqual(['starting', 'running', 'idle', 'exiting', 'exited', 'failed']);
  });

  it.each(cases)('$name', ({ from, event, expected }) => {
    if (expected === 'invalid') {
      let caught: unknown = null;
      try {
        transition(from, event);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(RunLifecycleError);
      expect(caught).toBeInstanceOf(GastownError);
      expect(caught).toMatchObject({ code: 'conflict', state: from.state, event });
      return;
    }
    const next = transition(from, event);
    if (expected === 'ignored') {
      expect(next).toBeNull();
      return;
    }
    expect(next).toEqual({ state: expected.state, activity: expected.activity === 'same' ? from.activity : expected.activity });
  });

  it('never mutates the lifecycle it is given', () => {
    const from: RunLifecycle = Object.freeze({ state: 'idle', activity: 'waiting' });
    expect(transition(from, 'message.sent')).toEqual({ state: 'running', activity: 'working' });
    expect(from).toEqual({ state: 'idle', activity: 'waiting' });
  });
});
