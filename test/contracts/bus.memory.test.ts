import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { UnavailableError } from '../../core/ports.js';
import { MemoryBus, partitionForKey } from '../../adapters/bus/memory.js';
import { busContract } from './bus.contract.js';

busContract('memory', async () => new MemoryBus());

const enc = new TextEncoder();
const rec = (key: string | null, v: string) => ({ key, value: enc.encode(v), headers: {} });

describe('MemoryBus specifics', () => {
  it('partitions keys like the kafkajs default partitioner', () => {
    const kafkajs = Partitioners.DefaultPartitioner();
    for (const n of [1, 3, 12]) {
      const partitionMetadata = Array.from({ length: n }, (_, i) => ({
        partitionId: i,
        leader: 0,
        partitionErrorCode: 0,
        replicas: [0],
        isr: [0],
      }));
      for (const key of ['a', 'ab', 'abc', 'abcd', 'checkout-service', 'tenant/svc-é', '']) {
        const expected = kafkajs({ topic: 't', partitionMetadata, message: { key, value: 'x' } });
        expect(partitionForKey(key, n)).toBe(expected);
      }
    }
  });

  it('rejects unknown topics unless autoCreate is set', async () => {
    const strict = new MemoryBus();
    await expect(strict.publish('nope', [rec('k', 'v')])).rejects.toThrow(/unknown topic nope/);
    await expect(strict.subscribe({ group: 'g', topics: ['nope'] }, async () => undefined)).rejects.toThrow(
      /unknown topic nope/,
    );
    const lax = new MemoryBus({ autoCreate: true });
    await lax.publish('auto', [rec('k', 'v')]);
    expect(lax.lag()).toEqual({});
    const sub = await lax.subscribe({ group: 'g', topics: ['auto'] }, async () => undefined);
    await lax.waitForIdle(1000);
    expect(lax.lag()).toEqual({ g: 0 });
    await sub.close();
    await Promise.all([strict.close(), lax.close()]);
  });

  it('setAvailable(false) makes publish reject with UnavailableError', async () => {
    const bus = new MemoryBus();
    await bus.ensureTopics([{ name: 't', partitions: 1, retentionMs: 1 }]);
    bus.setAvailable(false);
    const p = bus.publish('t', [rec(null, 'x')]);
    await expect(p).rejects.toBeInstanceOf(UnavailableError);
    await expect(p).rejects.toMatchObject({ service: 'memory-bus' });
    bus.setAvailable(true);
    await bus.publish('t', [rec(null, 'x')]);
    await bus.close();
  });

  it('never delivers inside publish()', async () => {
    const bus = new MemoryBus();
    await bus.ensureTopics([{ name: 't', partitions: 1, retentionMs: 1 }]);
    let delivered = 0;
    await bus.subscribe({ group: 'g', topics: ['t'] }, async (b) => void (delivered += b.length));
    const p = bus.publish('t', [rec('k', '1')]);
    expect(delivered).toBe(0);
    await p;
    expect(delivered).toBe(0);
    await bus.waitForIdle(1000);
    expect(delivered).toBe(1);
    await bus.close();
  });

  it('waitForIdle waits for a chain of stages and lag() reports per group', async () => {
    const bus = new MemoryBus();
    await bus.ensureTopics([
      { name: 'a', partitions: 3, retentionMs: 1 },
      { name: 'b', partitions: 2, retentionMs: 1 },
    ]);
    const out: string[] = [];
    await bus.subscribe({ group: 'stage-a', topics: ['a'] }, async (batch) => {
      await new Promise((r) => setTimeout(r, 5));
      await bus.publish(
        'b',
        batch.map((r) => ({ key: r.key, value: r.value, headers: { from: 'a' } })),
      );
    });
    await bus.subscribe({ group: 'stage-c', topics: ['b'], maxBatch: 2 }, async (batch) => {
      await new Promise((r) => setTimeout(r, 5));
      out.push(...batch.map((r) => new TextDecoder().decode(r.value)));
    });
    await bus.publish(
      'a',
      Array.from({ length: 20 }, (_, i) => rec(`k${i % 5}`, String(i))),
    );
    expect(bus.lag()['stage-a']).toBe(20);
    await bus.waitForIdle(5000);
    expect(out.sort()).toEqual(Array.from({ length: 20 }, (_, i) => String(i)).sort());
    expect(bus.lag()).toEqual({ 'stage-a': 0, 'stage-c': 0 });
    await bus.close();
  });

  it('waitForIdle rejects with the lagging group when a handler keeps failing', async () => {
    const bus = new MemoryBus({ initialBackoffMs: 5, maxBackoffMs: 20 });
    await bus.ensureTopics([{ name: 't', partitions: 1, retentionMs: 1 }]);
    const errors: unknown[] = [];
    const sub = await bus.subscribe({ group: 'stuck', topics: ['t'] }, async () => {
      errors.push(1);
      throw new Error('always');
    });
    await bus.publish('t', [rec('k', 'x')]);
    await expect(bus.waitForIdle(200)).rejects.toThrow(/stuck: lag 1/);
    expect(errors.length).toBeGreaterThan(2);
    await sub.close();
    await bus.close();
  });

  it('members of one group share partitions; each record is handled once', async () => {
    const bus = new MemoryBus();
    await bus.ensureTopics([{ name: 't', partitions: 4, retentionMs: 1 }]);
    const byMember: string[][] = [[], []];
    for (const i of [0, 1]) {
      await bus.subscribe(
        { group: 'g', topics: ['t'] },
        async (b) => void byMember[i]!.push(...b.map((r) => r.offset + '@' + r.partition)),
      );
    }
    await bus.publish(
      't',
      Array.from({ length: 40 }, (_, i) => rec(`k${i}`, String(i))),
    );
    await bus.waitForIdle(2000);
    const all = [...byMember[0]!, ...byMember[1]!];
    expect(all).toHaveLength(40);
    expect(new Set(all).size).toBe(40);
    expect(byMember[0]!.length).toBeGreaterThan(0);
    expect(byMember[1]!.length).toBeGreaterThan(0);
    await bus.close();
  });

  it('retainRecords trims consumed records; late groups start at the earliest retained offset', async () => {
    const bus = new MemoryBus({ retainRecords: 2 });
    await bus.ensureTopics([{ name: 't', partitions: 1, retentionMs: 1 }]);
    await bus.subscribe({ group: 'first', topics: ['t'] }, async () => undefined);
    await bus.publish(
      't',
      Array.from({ length: 10 }, (_, i) => rec('k', String(i))),
    );
    await bus.waitForIdle(1000);
    await new Promise((r) => setTimeout(r, 10));
    const late: string[] = [];
    await bus.subscribe(
      { group: 'late', topics: ['t'] },
      async (b) => void late.push(...b.map((r) => r.offset)),
    );
    await bus.waitForIdle(1000);
    expect(late).toEqual(['8', '9']);
    await bus.close();
  });

  it('publish copies the value so later mutation by the caller does not leak', async () => {
    const bus = new MemoryBus();
    await bus.ensureTopics([{ name: 't', partitions: 1, retentionMs: 1 }]);
    const v = new Uint8Array([1, 2, 3]);
    await bus.publish('t', [{ key: null, value: v, headers: {} }]);
    v[0] = 9;
    const got: number[] = [];
    await bus.subscribe({ group: 'g', topics: ['t'] }, async (b) => void got.push(...b[0]!.value));
    await bus.waitForIdle(1000);
    expect(got).toEqual([1, 2, 3]);
    await bus.close();
  });
});
