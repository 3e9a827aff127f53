import { describe, expect, it } from 'vitest';
import { startWithPortRetry } from '../../src/stack/port-retry';

class AddressInUse extends TypeError {}

/** A server start that fails with a taken port `failures` times, then binds. */
function flakyStart(failures: number) {
  const calls = { starts: 0, repicks: [] as number[], lastFailureWasPort: false };
  return {
    calls,
    options: {
      start: async () => {
        calls.starts += 1;
        if (calls.starts <= failures) {
          calls.lastFailureWasPort = true;
          throw new AddressInUse('wrangler exited (code 1)');
        }
        return `up on attempt ${calls.starts}`;
      },
      portWasTaken: () => calls.lastFailureWasPort,
      repick: async (next: number) => {
        calls.repicks.push(next);
        calls.lastFailureWasPort = false;
      },
    },
  };
}

describe('startWithPortRetry (a picked port taken before the server binds it)', () => {
  it('picks new ports and starts again: up on the second attempt', async () => {
    const f = flakyStart(1);
    expect(await startWithPortRetry({ ...f.options, attempts: 3 })).toBe('up on attempt 2');
    expect(f.calls).toMatchObject({ starts: 2, repicks: [2] });
  });

  it('gives up after `attempts` starts with the last error', async () => {
    const f = flakyStart(5);
    await expect(startWithPortRetry({ ...f.options, attempts: 3 })).rejects.toBeInstanceOf(AddressInUse);
    expect(f.calls).toMatchObject({ starts: 3, repicks: [2, 3] });
  });

  it('any other failure is thrown at once, without new ports', async () => {
    const calls: number[] = [];
    const start = async () => {
      throw new RangeError('the worker bundle does not build');
    };
    await expect(startWithPortRetry({ start, portWasTaken: () => false, repick: async (n) => void calls.push(n), attempts: 3 })).rejects.toBeInstanceOf(
      RangeError,
    );
    expect(calls).toEqual([]);
  });
});
