/**
 * embed: embeds newly seen templates and journeys (all-MiniLM-L6-v2 via Transformers.js, or the lexical fallback),
 * caching by content hash so a text is embedded once, and upserts them into the vector store partitioned by service.
 */
import { createHash } from 'node:crypto';
import type { EmbeddingRequest } from '../events/schemas.js';
import { embeddingCacheHas, embeddingCachePut } from '../adapters/db/repo.js';
import { done, port, type EventStage } from '../runtime/stage.js';

export const TEMPLATE_COLLECTION = 'templates';
const ensured = new WeakSet<object>();

export const embed: EventStage<EmbeddingRequest> = {
  kind: 'event',
  name: 'embed',
  description:
    'Embeds new templates and journeys and writes them to the vector store (cache by content hash).',
  trigger: { kind: 'topic', topics: ['embeddingRequests'] },
  needs: ['db', 'vectors', 'embedder'],
  scaling: { minScale: 0, maxScale: 4, concurrency: 1 },
  async handle(input, ctx) {
    const db = port(ctx, 'db');
    const vectors = port(ctx, 'vectors');
    const embedder = port(ctx, 'embedder');
    if (!ensured.has(vectors)) {
      await vectors.ensureCollection({
        name: TEMPLATE_COLLECTION,
        dim: embedder.dim,
        description: 'templates and journeys',
      });
      ensured.add(vectors);
    }
    const items = input.data.items.map((it) => ({
      ...it,
      hash: createHash('sha256')
        .update(`${embedder.model}\u0000${it.kind}\u0000${it.service}\u0000${it.text}`)
        .digest('hex'),
    }));
    const known = await embeddingCacheHas(
      db,
      items.map((i) => i.hash),
    );
    const todo = items.filter((i) => !known.has(i.hash));
    ctx.metrics.counter(
      'slo_scout_embedding_cache_hits_total',
      'Embedding requests served from the cache',
      {},
      items.length - todo.length,
    );
    ctx.metrics.counter(
      'slo_scout_embedding_cache_misses_total',
      'Embedding requests that needed the model',
      {},
      todo.length,
    );
    ctx.metrics.gauge(
      'slo_scout_embedding_queue_length',
      'Texts waiting to be embedded in the current batch',
      todo.length,
    );
    if (todo.length === 0) return done();
    const vecs = await embedder.embed(todo.map((t) => t.text));
    await vectors.upsert(
      TEMPLATE_COLLECTION,
      todo.map((t, i) => ({
        id: t.id,
        vector: vecs[i]!,
        partition: t.service,
        payload: { kind: t.kind, service: t.service, text: t.text.slice(0, 2000), model: embedder.model },
      })),
    );
    await embeddingCachePut(
      db,
      todo.map((t) => t.hash),
      { model: embedder.model, dim: embedder.dim },
    );
    ctx.metrics.gauge(
      'slo_scout_embedding_queue_length',
      'Texts waiting to be embedded in the current batch',
      0,
    );
    return done();
  },
};
