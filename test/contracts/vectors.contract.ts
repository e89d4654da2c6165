/**
 * Contract for the VectorStore port: pgvector on PGlite (unit tier) and Milvus (integration tier).
 * Collections are named with a per-run suffix so reruns against a long-lived server do not collide.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VectorItem, VectorStore } from '../../core/ports.js';

const DIM = 8;

function unit(v: readonly number[]): number[] {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** Deterministic pseudo-random unit vectors. */
function randomVectors(count: number, seed: number): number[][] {
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  return Array.from({ length: count }, () => unit(Array.from({ length: DIM }, next)));
}

export function vectorsContract(
  name: string,
  make: () => Promise<VectorStore>,
  cleanup?: () => Promise<void>,
): void {
  describe(`VectorStore contract: ${name}`, () => {
    let store: VectorStore;
    const suffix = randomBytes(4).toString('hex');
    const coll = `contract_${suffix}`;
    const vectors = randomVectors(40, 7);
    const items: VectorItem[] = vectors.map((v, i) => ({
      id: `item-${i}`,
      vector: Float32Array.from(v),
      partition: i % 2 === 0 ? 'even' : 'odd',
      payload: { i, label: `L${i}`, even: i % 2 === 0 },
    }));

    beforeAll(async () => {
      store = await make();
    });
    afterAll(async () => {
      await store?.close();
      await cleanup?.();
    });

    it('creates a collection idempotently', async () => {
      await store.ensureCollection({ name: coll, dim: DIM, description: 'contract test' });
      await store.ensureCollection({ name: coll, dim: DIM });
      expect(await store.count(coll)).toBe(0);
    });

    it('rejects invalid collection names and a conflicting dimension', async () => {
      await expect(store.ensureCollection({ name: 'Bad-Name', dim: DIM })).rejects.toThrow(/collection name/);
      await expect(store.ensureCollection({ name: '1abc', dim: DIM })).rejects.toThrow(/collection name/);
      await expect(store.ensureCollection({ name: coll, dim: DIM + 1 })).rejects.toThrow(/dim/);
    });

    it('upserts idempotently by id', async () => {
      await store.upsert(coll, items);
      expect(await store.count(coll)).toBe(items.length);
      await store.upsert(coll, items);
      expect(await store.count(coll)).toBe(items.length);
    });

    it('returns the nearest first, with score ~1 for an identical vector', async () => {
      const target = items[5]!;
      const hits = await store.search(coll, target.vector, { topK: 5 });
      expect(hits).toHaveLength(5);
      expect(hits[0]?.id).toBe('item-5');
      expect(hits[0]?.score).toBeCloseTo(1, 4);
      expect(hits[0]?.partition).toBe('odd');
      expect(hits[0]?.payload).toEqual({ i: 5, label: 'L5', even: false });
      for (let i = 1; i < hits.length; i++)
        expect(hits[i - 1]!.score).toBeGreaterThanOrEqual(hits[i]!.score - 1e-6);
      // agrees with brute-force cosine ranking
      const q = vectors[5]!;
      const brute = vectors
        .map((v, i) => ({ i, s: v.reduce((acc, x, k) => acc + x * (q[k] ?? 0), 0) }))
        .sort((a, b) => b.s - a.s)
        .slice(0, 5);
      expect(hits.map((h) => h.id)).toEqual(brute.map((b) => `item-${b.i}`));
      expect(hits[1]?.score).toBeCloseTo(brute[1]!.s, 3);
    });

    it('scores an opposite vector near -1', async () => {
      const neg = vectors[3]!.map((x) => -x);
      const hits = await store.search(coll, neg, { topK: items.length });
      const self = hits.find((h) => h.id === 'item-3');
      expect(self?.score).toBeCloseTo(-1, 3);
    });

    it('filters by partition', async () => {
      const hits = await store.search(coll, items[4]!.vector, { topK: 10, partition: 'odd' });
      expect(hits).toHaveLength(10);
      expect(hits.every((h) => h.partition === 'odd')).toBe(true);
      expect(hits.some((h) => h.id === 'item-4')).toBe(false);
      expect(await store.search(coll, items[4]!.vector, { topK: 3, partition: 'nobody' })).toEqual([]);
    });

    it('replaces vector, partition and payload on upsert', async () => {
      const moved: VectorItem = {
        id: 'item-0',
        vector: items[1]!.vector,
        partition: 'moved',
        payload: { v: 2 },
      };
      await store.upsert(coll, [moved]);
      expect(await store.count(coll)).toBe(items.length);
      const hits = await store.search(coll, items[1]!.vector, { topK: 1, partition: 'moved' });
      expect(hits).toEqual([
        { id: 'item-0', score: expect.closeTo(1, 4) as number, partition: 'moved', payload: { v: 2 } },
      ]);
    });

    it('rejects vectors of the wrong dimension with an Error', async () => {
      await expect(
        store.upsert(coll, [{ id: 'bad', vector: [1, 2, 3], partition: 'even', payload: {} }]),
      ).rejects.toThrow(/dimension/);
      await expect(store.search(coll, new Float32Array(DIM + 2), { topK: 1 })).rejects.toThrow(/dimension/);
      expect(await store.count(coll)).toBe(items.length);
    });

    it('fails clearly for an unknown collection', async () => {
      await expect(store.search(`missing_${suffix}`, vectors[0]!, { topK: 1 })).rejects.toThrow(
        /does not exist/,
      );
    });
  });
}
