/**
 * Contract for the Embedder port: the lexical fallback and tiny generated model (unit tier), the real
 * all-MiniLM-L6-v2 model (integration tier).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Embedder } from '../../core/ports.js';

export interface EmbedderContractOptions {
  /** Expected dimension, when known up front. */
  readonly dim?: number;
  /**
   * Check that related texts score closer than unrelated ones. Needs a model with some notion of similarity
   * (lexical overlap or semantics); a random-weights model only guarantees the structural properties.
   */
  readonly similarity?: boolean;
}

const dot = (a: Float32Array, b: Float32Array): number => a.reduce((s, x, i) => s + x * (b[i] ?? 0), 0);

export function embedderContract(
  name: string,
  make: () => Promise<Embedder>,
  options: EmbedderContractOptions = {},
): void {
  describe(`Embedder contract: ${name}`, () => {
    let embedder: Embedder;
    beforeAll(async () => {
      embedder = await make();
    });

    it('declares kind, model and dimension, and returns one vector of that size per text in order', async () => {
      expect(['transformers', 'lexical']).toContain(embedder.kind);
      expect(embedder.model.length).toBeGreaterThan(0);
      if (options.dim !== undefined) expect(embedder.dim).toBe(options.dim);
      const texts = ['GET /users/{id}', 'payment failed for order <*>', 'GET /users/{id}'];
      const vs = await embedder.embed(texts);
      expect(vs).toHaveLength(3);
      for (const v of vs) {
        expect(v).toBeInstanceOf(Float32Array);
        expect(v.length).toBe(embedder.dim);
      }
      // order is kept: first and third are the same text
      expect(Array.from(vs[0]!)).toEqual(Array.from(vs[2]!));
      expect(dot(vs[0]!, vs[1]!)).toBeLessThan(0.999);
      expect(await embedder.embed([])).toEqual([]);
    });

    it('returns L2-normalised, finite vectors', async () => {
      const vs = await embedder.embed([
        'a',
        'connection refused to db-primary:5432',
        'x'.repeat(2000),
        '日本語のログ',
      ]);
      for (const v of vs) {
        expect(v.every((x) => Number.isFinite(x))).toBe(true);
        expect(Math.sqrt(dot(v, v))).toBeCloseTo(1, 4);
      }
    });

    it('is deterministic, including across batch boundaries', async () => {
      const texts = Array.from({ length: 40 }, (_, i) => `request ${i % 7} served in ${i} ms`);
      const a = await embedder.embed(texts);
      const b = await embedder.embed([...texts].reverse());
      const single = await embedder.embed([texts[33]!]);
      for (let i = 0; i < texts.length; i++) {
        const ai = a[i]!;
        const bi = b[texts.length - 1 - i]!;
        for (let k = 0; k < ai.length; k++) expect(ai[k]).toBeCloseTo(bi[k]!, 5);
      }
      expect(dot(single[0]!, a[33]!)).toBeCloseTo(1, 5);
    });

    if (options.similarity !== false) {
      it('scores related texts closer than unrelated ones', async () => {
        const [q, near, far] = await embedder.embed([
          'database connection refused while fetching user profile',
          'connection to database refused when loading the user profile',
          'shipping label printed for parcel',
        ]);
        expect(dot(q!, near!)).toBeGreaterThan(dot(q!, far!) + 0.1);
        const [r1, r2, r3] = await embedder.embed([
          'GET /api/orders/{id}',
          'GET /api/orders',
          'POST /auth/token',
        ]);
        expect(dot(r1!, r2!)).toBeGreaterThan(dot(r1!, r3!));
      });
    }
  });
}
