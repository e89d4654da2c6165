/**
 * The Bus contract: every Bus adapter (MemoryBus, KafkaBus) must pass this suite.
 * Topic and group names are unique per run so runs against a shared Kafka never collide.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bus, BusRecord, ConsumedRecord, Subscription } from '../../core/ports.js';

export interface BusContractOptions {
  /** How long to wait for records to arrive (real brokers need group joins). */
  readonly deliveryTimeoutMs?: number;
  /** How long to watch for records that must NOT arrive. */
  readonly quietMs?: number;
}

const enc = new TextEncoder();

function until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (cond()) return resolve();
      if (Date.now() - started > timeoutMs)
        return reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function busContract(
  name: string,
  make: () => Promise<Bus>,
  cleanup?: (bus: Bus) => Promise<void>,
  options: BusContractOptions = {},
): void {
  const deliveryTimeout = options.deliveryTimeoutMs ?? 5_000;
  const quietMs = options.quietMs ?? 300;
  const run = `ct${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  let seq = 0;
  const uniq = (what: string): string => `${run}.${what}.${++seq}`;

  describe(`Bus contract: ${name}`, () => {
    const open: Bus[] = [];
    const subs: Subscription[] = [];

    async function bus(): Promise<Bus> {
      const b = await make();
      open.push(b);
      return b;
    }
    async function topic(b: Bus, partitions = 3): Promise<string> {
      const t = uniq('topic');
      await b.ensureTopics([{ name: t, partitions, retentionMs: 3_600_000 }]);
      return t;
    }
    /** Subscribes and collects everything delivered. */
    async function collect(
      b: Bus,
      topics: string[],
      group: string,
      opts: {
        fromBeginning?: boolean;
        maxBatch?: number;
        handler?: (batch: readonly ConsumedRecord[]) => Promise<void>;
      } = {},
    ): Promise<{ got: ConsumedRecord[]; sub: Subscription }> {
      const got: ConsumedRecord[] = [];
      const sub = await b.subscribe(
        {
          group,
          topics,
          ...(opts.fromBeginning === undefined ? {} : { fromBeginning: opts.fromBeginning }),
          ...(opts.maxBatch ? { maxBatch: opts.maxBatch } : {}),
        },
        async (batch) => {
          if (opts.handler) await opts.handler(batch);
          got.push(...batch);
        },
      );
      subs.push(sub);
      return { got, sub };
    }

    afterEach(async () => {
      for (const s of subs.splice(0)) await s.close();
      for (const b of open.splice(0)) {
        if (cleanup) await cleanup(b);
        await b.close().catch(() => undefined);
      }
    });

    it('round-trips keys, headers and binary values byte-exact', async () => {
      const b = await bus();
      const t = await topic(b);
      const binary = new Uint8Array(256).map((_, i) => i); // includes 0x00 and 0xff
      const records: BusRecord[] = [
        {
          key: 'k-ä✓',
          value: binary,
          headers: { 'ce-type': 'io.test.v1', 'x-unicode': 'é✓ 日本', 'x-nul': 'a\u0000b' },
        },
        { key: null, value: new Uint8Array([0, 0, 0]), headers: {} },
        { key: 'empty', value: new Uint8Array(0), headers: { e: '' } },
      ];
      await b.publish(t, records);
      const { got } = await collect(b, [t], uniq('g'));
      await until('3 records', () => got.length >= 3, deliveryTimeout);
      expect(got).toHaveLength(3);
      const byKey = new Map(got.map((r) => [r.key ?? '<null>', r]));
      const first = byKey.get('k-ä✓')!;
      expect(Buffer.from(first.value).equals(Buffer.from(binary))).toBe(true);
      expect(first.headers).toEqual({ 'ce-type': 'io.test.v1', 'x-unicode': 'é✓ 日本', 'x-nul': 'a\u0000b' });
      expect(first.topic).toBe(t);
      expect(first.partition).toBeGreaterThanOrEqual(0);
      expect(first.partition).toBeLessThan(3);
      expect(first.offset).toMatch(/^\d+$/);
      expect(Math.abs(first.timestamp - Date.now())).toBeLessThan(60_000);
      expect(Array.from(byKey.get('<null>')!.value)).toEqual([0, 0, 0]);
      expect(byKey.get('<null>')!.headers).toEqual({});
      expect(byKey.get('empty')!.value.length).toBe(0);
      expect(byKey.get('empty')!.headers).toEqual({ e: '' });
    });

    it('keeps order within a key, routes a key to one partition and hands out per-partition batches', async () => {
      const b = await bus();
      const t = await topic(b, 4);
      const keys = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta'];
      for (let round = 0; round < 5; round++) {
        await b.publish(
          t,
          keys.map((k) => ({ key: k, value: enc.encode(`${k}:${round}`), headers: {} })),
        );
      }
      const batches: ConsumedRecord[][] = [];
      const { got } = await collect(b, [t], uniq('g'), {
        maxBatch: 7,
        handler: async (batch) => void batches.push([...batch]),
      });
      await until('30 records', () => got.length >= 30, deliveryTimeout);
      for (const batch of batches) {
        expect(batch.length).toBeGreaterThan(0);
        expect(batch.length).toBeLessThanOrEqual(7);
        expect(new Set(batch.map((r) => r.partition)).size).toBe(1);
        const offsets = batch.map((r) => BigInt(r.offset));
        for (let i = 1; i < offsets.length; i++) expect(offsets[i]! > offsets[i - 1]!).toBe(true);
      }
      for (const k of keys) {
        const mine = got.filter((r) => r.key === k);
        expect(mine.map((r) => new TextDecoder().decode(r.value))).toEqual(
          [0, 1, 2, 3, 4].map((i) => `${k}:${i}`),
        );
        expect(new Set(mine.map((r) => r.partition)).size).toBe(1);
      }
      expect(new Set(got.map((r) => r.partition)).size).toBeGreaterThan(1);
    });

    it('delivers every record to each of two groups', async () => {
      const b = await bus();
      const t = await topic(b);
      const a = await collect(b, [t], uniq('ga'));
      const c = await collect(b, [t], uniq('gb'));
      await b.publish(
        t,
        Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: enc.encode(String(i)), headers: {} })),
      );
      await until('both groups to see 10', () => a.got.length >= 10 && c.got.length >= 10, deliveryTimeout);
      const vals = (rs: ConsumedRecord[]): string[] =>
        rs.map((r) => new TextDecoder().decode(r.value)).sort();
      expect(vals(a.got)).toEqual(vals(c.got));
      expect(new Set(vals(a.got)).size).toBe(10);
    });

    it('redelivers a rejected batch (at least once, nothing lost)', async () => {
      const b = await bus();
      const t = await topic(b, 1);
      const seen = new Map<string, number>();
      let failuresLeft = 2;
      const { got } = await collect(b, [t], uniq('g'), {
        handler: async (batch) => {
          for (const r of batch) seen.set(r.offset, (seen.get(r.offset) ?? 0) + 1);
          if (failuresLeft > 0) {
            failuresLeft--;
            throw new Error('injected handler failure');
          }
        },
      });
      await b.publish(
        t,
        Array.from({ length: 5 }, (_, i) => ({ key: 'same', value: enc.encode(`v${i}`), headers: {} })),
      );
      await until('5 committed records', () => got.length >= 5, deliveryTimeout + 5_000);
      expect(failuresLeft).toBe(0);
      expect(got.map((r) => new TextDecoder().decode(r.value))).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
      const firstOffset = [...seen.keys()].sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1))[0]!;
      expect(seen.get(firstOffset)).toBe(3); // two rejections, then success
    });

    it('does not redeliver committed records to the same group after close and resubscribe', async () => {
      const b = await bus();
      const t = await topic(b, 2);
      const group = uniq('g');
      await b.publish(
        t,
        [0, 1, 2].map((i) => ({ key: 'one-key', value: enc.encode(`old${i}`), headers: {} })),
      );
      const first = await collect(b, [t], group);
      await until('3 old records', () => first.got.length >= 3, deliveryTimeout);
      await first.sub.close();
      await b.publish(
        t,
        [0, 1].map((i) => ({ key: 'one-key', value: enc.encode(`new${i}`), headers: {} })),
      );
      const second = await collect(b, [t], group);
      await until('2 new records', () => second.got.length >= 2, deliveryTimeout);
      await sleep(quietMs);
      expect(second.got.map((r) => new TextDecoder().decode(r.value))).toEqual(['new0', 'new1']);
    });

    it('starts at the end with fromBeginning: false, and at the start by default', async () => {
      const b = await bus();
      const t = await topic(b, 1);
      await b.publish(t, [{ key: 'k', value: enc.encode('before'), headers: {} }]);
      const late = await collect(b, [t], uniq('late'), { fromBeginning: false });
      const early = await collect(b, [t], uniq('early'));
      await b.publish(t, [{ key: 'k', value: enc.encode('after'), headers: {} }]);
      await until(
        'after in both groups',
        () => late.got.length >= 1 && early.got.length >= 2,
        deliveryTimeout,
      );
      await sleep(quietMs);
      expect(late.got.map((r) => new TextDecoder().decode(r.value))).toEqual(['after']);
      expect(early.got.map((r) => new TextDecoder().decode(r.value))).toEqual(['before', 'after']);
    });

    it('ensureTopics is idempotent', async () => {
      const b = await bus();
      const name = uniq('topic');
      const spec = { name, partitions: 2, retentionMs: 60_000 };
      await b.ensureTopics([spec]);
      await b.ensureTopics([spec, { name: uniq('topic'), partitions: 1, retentionMs: 60_000 }]);
      await b.publish(name, [{ key: 'x', value: enc.encode('ok'), headers: {} }]);
      const { got } = await collect(b, [name], uniq('g'));
      await until('1 record', () => got.length >= 1, deliveryTimeout);
      expect(got[0]!.partition).toBeLessThan(2);
    });

    it('rejects publish on a closed bus', async () => {
      const b = await make();
      const t = uniq('topic');
      await b.ensureTopics([{ name: t, partitions: 1, retentionMs: 60_000 }]);
      await b.close();
      await expect(b.publish(t, [{ key: null, value: enc.encode('x'), headers: {} }])).rejects.toThrow();
    });
  });
}
