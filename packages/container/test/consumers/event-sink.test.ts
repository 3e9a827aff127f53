import { describe, expect, it } from 'vitest';
import { ManualClock, ManualTimers } from '@gastown/testkit/fake-control-plane/index';
import { BatchingEventSink } from '../../src/consumers';
import { silentLogger } from '../../src/log';
import { EventsStub } from './support';

function setup(opts: { maxBatch?: number; maxBuffer?: number; flushIntervalMs?: number } = {}) {
  const clock = new ManualClock();
  const timers = new ManualTimers(clock);
  const stub = new EventsStub();
  let r = 0;
  const random = () => {
    r = (r * 9301 + 49297) % 233280;
    return r / 233280;
  };
  const sink = new BatchingEventSink({ client: stub, clock, random, timers, logger: silentLogger, ...opts });
  return { clock, timers, stub, sink };
}

describe('BatchingEventSink', () => {
  it('batches by time: nothing before the interval, everything at it', async () => {
    const s = setup({ flushIntervalMs: 1000 });
    s.sink.emit('tool.call', { n: 1 });
    s.sink.emit('tool.call', { n: 2 });
    await s.timers.advance(999);
    expect(s.stub.batches).toHaveLength(0);
    await s.timers.advance(1);
    expect(s.stub.batches.map((b) => b.length)).toEqual([2]);
    expect(s.sink.stats).toMatchObject({ buffered: 0, sent: 2 });
  });

  it('batches by size: a full batch goes at once', async () => {
    const s = setup({ maxBatch: 10, flushIntervalMs: 60_000 });
    for (let i = 0; i < 25; i += 1) s.sink.emit('tool.call', { i });
    await s.timers.advance(0);
    expect(s.stub.batches.map((b) => b.length)).toEqual([10, 10]);
    await s.timers.advance(60_000);
    expect(s.stub.batches.map((b) => b.length)).toEqual([10, 10, 5]);
  });

  it('gives every event a unique, schema-valid client id', () => {
    const s = setup();
    const ids = Array.from({ length: 1000 }, () => s.sink.emit('tool.call').id);
    expect(new Set(ids).size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
  });

  it('retries a failed batch with backoff and the same ids (the server dedupes), losing nothing', async () => {
    const s = setup({ flushIntervalMs: 1000 });
    s.stub.script.push('unavailable', 'unavailable', 'unavailable');
    const sent = Array.from({ length: 5 }, (_, i) => s.sink.emit('tool.call', { i }));
    await s.timers.advance(1000);
    expect(s.sink.stats.consecutiveFailures).toBe(1);
    await s.timers.advance(10_000);
    expect(s.stub.batches).toHaveLength(4);
    for (const batch of s.stub.batches) expect(batch.map((e) => e.id)).toEqual(sent.map((e) => e.id));
    expect(s.stub.stored.size).toBe(5);
    expect(s.sink.stats).toMatchObject({ buffered: 0, consecutiveFailures: 0, sent: 5 });
  });

  it('bounded: when full it drops the OLDEST non-essential events, keeps essential ones, and reports the count once', async () => {
    const s = setup({ maxBuffer: 10, maxBatch: 100, flushIntervalMs: 1000 });
    s.stub.script.push('unavailable');
    s.sink.emit('agent.started', { essential: true });
    for (let i = 0; i < 14; i += 1) s.sink.emit('tool.call', { i });
    s.sink.emit('agent.exited', {});
    expect(s.sink.stats).toMatchObject({ buffered: 10, droppedTotal: 6, droppedUnreported: 6 });
    await s.timers.advance(1000); // fails
    expect(s.stub.batches[0]!.find((e) => e.type === 'events.dropped')).toMatchObject({ data: { count: 6 } });
    const firstReportId = s.stub.batches[0]!.find((e) => e.type === 'events.dropped')!.id;
    await s.timers.advance(5000); // retry succeeds
    expect(s.stub.storedOfType('agent.started')).toHaveLength(1);
    expect(s.stub.storedOfType('agent.exited')).toHaveLength(1);
    // the 6 oldest tool calls went, the 8 newest stayed
    expect(s.stub.storedOfType('tool.call').map((e) => e.data['i'])).toEqual([6, 7, 8, 9, 10, 11, 12, 13]);
    const reports = s.stub.storedOfType('events.dropped');
    expect(reports).toEqual([expect.objectContaining({ id: firstReportId, data: { count: 6 } })]);
    expect(s.sink.stats).toMatchObject({ droppedUnreported: 0, droppedTotal: 6 });
    // no further report without further drops
    s.sink.emit('tool.call', { i: 99 });
    await s.timers.advance(1000);
    expect(s.stub.storedOfType('events.dropped')).toHaveLength(1);
  });

  it('never drops model usage (what the town is billed) when full', async () => {
    const s = setup({ maxBuffer: 5, maxBatch: 100, flushIntervalMs: 1000 });
    s.stub.script.push('unavailable');
    for (let i = 0; i < 3; i += 1) s.sink.emit('model.usage', { call: i });
    for (let i = 0; i < 10; i += 1) s.sink.emit('tool.call', { i });
    s.sink.emit('model.usage', { call: 3 });
    await s.timers.advance(1000); // fails
    await s.timers.advance(5000); // retry succeeds
    expect(s.stub.storedOfType('model.usage').map((e) => e.data['call'])).toEqual([0, 1, 2, 3]);
    expect(s.sink.stats.droppedTotal).toBeGreaterThan(0); // tool calls went instead
  });

  it('stays bounded through a long outage (default 5,000)', async () => {
    const s = setup();
    s.stub.script.push(...Array.from({ length: 1000 }, () => 'unavailable' as const));
    for (let i = 0; i < 12_000; i += 1) s.sink.emit('tool.call', { i });
    await s.timers.advance(5 * 60_000);
    expect(s.sink.stats.buffered).toBeLessThanOrEqual(5000);
    expect(s.sink.stats.droppedTotal).toBeGreaterThanOrEqual(7000);
  });

  it('a batch the server rejects as invalid is dropped and counted, not retried forever', async () => {
    const s = setup({ flushIntervalMs: 1000 });
    s.stub.script.push('validation');
    s.sink.emit('tool.call', { i: 1 });
    await s.timers.advance(1000);
    expect(s.sink.stats).toMatchObject({ buffered: 0, droppedTotal: 1 });
    await s.timers.advance(1000);
    expect(s.stub.storedOfType('events.dropped')).toEqual([expect.objectContaining({ data: { count: 1 } })]);
  });

  it('a batch refused with revoked credentials still delivers its model usage alone (a lost run spent that money); the rest is dropped', async () => {
    const s = setup({ flushIntervalMs: 1000 });
    s.stub.script.push('revoked');
    s.sink.emit('tool.call', { i: 1 });
    const usage = [s.sink.emit('model.usage', { call: 1 }), s.sink.emit('model.usage', { call: 2 })];
    s.sink.emit('session.idle', {});
    await s.timers.advance(1000);
    expect(s.stub.batches.map((b) => b.length)).toEqual([4, 2]);
    expect(s.stub.storedOfType('model.usage').map((e) => e.id)).toEqual(usage.map((e) => e.id));
    expect(s.sink.stats).toMatchObject({ buffered: 0, droppedTotal: 2, sent: 2 });
  });

  it('usage that is refused again on its own is dropped and counted, not retried forever', async () => {
    const s = setup({ flushIntervalMs: 1000 });
    s.stub.script.push('revoked', 'revoked');
    s.sink.emit('tool.call', { i: 1 });
    s.sink.emit('model.usage', { call: 1 });
    await s.timers.advance(1000);
    expect(s.stub.batches.map((b) => b.length)).toEqual([2, 1]);
    expect(s.stub.stored.size).toBe(0);
    expect(s.sink.stats).toMatchObject({ buffered: 0, droppedTotal: 2 });
  });

  it('a run whose credentials were revoked: close() ends after a bounded number of refused requests (a refused drop report is not resent)', async () => {
    const s = setup({ flushIntervalMs: 1000 });
    s.sink.emit('tool.call', { i: 0 });
    s.stub.script.push('validation');
    await s.timers.advance(1000); // one batch refused as invalid: one drop to report
    s.stub.otherwise = 'revoked'; // then the control plane revokes the run (a newer generation was dispatched)
    s.stub.maxCalls = 50;
    s.sink.emit('tool.call', { i: 1 });
    s.sink.emit('agent.exited', {});
    expect(await s.sink.close()).toBe(true);
    // the batch with the pending drop report, refused; nothing is sent again
    expect(s.stub.batches.length).toBe(2);
    expect(s.sink.stats).toMatchObject({ buffered: 0, droppedTotal: 3, droppedUnreported: 0 });
    await s.timers.advance(10 * 60_000);
    expect(s.stub.batches.length).toBe(2);
  });

  it('flush() drains everything now (shutdown); close() counts later events as dropped', async () => {
    const s = setup({ maxBatch: 10, flushIntervalMs: 60_000 });
    for (let i = 0; i < 35; i += 1) s.sink.emit('tool.call', { i });
    expect(await s.sink.close()).toBe(true);
    expect(s.stub.stored.size).toBe(35);
    s.sink.emit('tool.call', {});
    expect(s.sink.stats).toMatchObject({ buffered: 0, droppedTotal: 1 });
  });

  it('flush() reports failure and leaves the events for the backoff retry', async () => {
    const s = setup({ flushIntervalMs: 60_000 });
    s.stub.script.push('unavailable');
    s.sink.emit('tool.call', {});
    expect(await s.sink.flush()).toBe(false);
    expect(s.sink.stats.buffered).toBe(1);
    await s.timers.advance(1000);
    expect(s.stub.stored.size).toBe(1);
  });
});
