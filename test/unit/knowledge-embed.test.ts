/**
 * The embed stage on the embedded default (PGlite embedding cache + pgvector) with the tiny generated BERT model:
 * only unseen texts are embedded, in batches, partitioned by tenant/service, with queue length and cache hit ratio
 * exported. The real model and Milvus run the same harness in test/integration/embedding.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteDatabase } from '../../adapters/db/pglite.js';
import { TransformersEmbedder } from '../../adapters/embedder/transformers.js';
import { PgVectorStore } from '../../adapters/vectors/pgvector.js';
import type { Embedder } from '../../core/ports.js';
import { EMBED_BATCH, TEMPLATE_COLLECTION } from '../../functions/embed.js';
import { writeTinyBert, type TinyBertModel } from '../support/tiny-bert.js';
import { embedRunner } from '../integration/embedding-harness.js';

let tiny: TinyBertModel;
let db: PgliteDatabase;
beforeAll(async () => {
  tiny = await writeTinyBert();
  db = await PgliteDatabase.open();
  await db.migrate();
});
afterAll(async () => {
  await db?.close();
  await tiny?.cleanup();
});

describe('embed stage (PGlite + pgvector + tiny BERT)', () => {
  it('embeds each text once, in batches, and exports queue length and cache hit ratio', async () => {
    const model = await TransformersEmbedder.load({
      modelDir: tiny.root,
      modelId: tiny.modelId,
      batchSize: 8,
    });
    const calls: number[] = [];
    const embedder: Embedder = {
      kind: model.kind,
      model: model.model,
      dim: model.dim,
      embed: (texts) => {
        calls.push(texts.length);
        return model.embed(texts);
      },
    };
    const vectors = new PgVectorStore(db);
    const run = embedRunner({ db, vectors, embedder });
    const n = EMBED_BATCH + 6;
    const items = Array.from({ length: n }, (_, i) => ({
      id: `t-${i}`,
      kind: 'log_template' as const,
      service: i % 2 ? 'cart' : 'pay',
      text: `payment ${i} failed for order <*>`,
    }));
    // a duplicate of the first text inside the same request is embedded once
    await run.send([...items, { ...items[0]!, id: 't-dup' }]);
    expect(calls).toEqual([EMBED_BATCH, 6]);
    expect(await vectors.count(TEMPLATE_COLLECTION)).toBe(n);
    expect(run.metrics.gauges.get('slo_scout_embedding_queue_length')).toEqual([n, 6, 0]);

    // the replayed stream is served from the cache
    await run.send(items);
    await run.send(items.slice(0, 10));
    expect(calls).toEqual([EMBED_BATCH, 6]);
    const hits = run.metrics.counters.get('slo_scout_embedding_cache_hits_total');
    const misses = run.metrics.counters.get('slo_scout_embedding_cache_misses_total');
    expect([hits, misses]).toEqual([1 + n + 10, n]);
    const ratio = run.metrics.gauges.get('slo_scout_embedding_cache_hit_ratio')!.at(-1)!;
    expect(ratio).toBeGreaterThan(0.5);

    // a changed text is new content; tenant/service partitioning is on the stored vectors
    await run.send([{ ...items[1]!, text: 'cart emptied by <*>' }], 'globex');
    expect(calls).toEqual([EMBED_BATCH, 6, 1]);
    const [q] = await embedder.embed(['cart emptied by <*>']);
    const hit = await vectors.search(TEMPLATE_COLLECTION, q!, { topK: 1, partition: 'globex/cart' });
    expect(hit.map((h) => [h.id, h.partition, h.payload.tenant])).toEqual([['t-1', 'globex/cart', 'globex']]);
    expect(await vectors.search(TEMPLATE_COLLECTION, q!, { topK: 5, partition: 'acme/none' })).toEqual([]);
    await run.close();
  });
});
