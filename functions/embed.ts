/**
 * embed: embeds newly seen log templates, route templates and journey descriptions (all-MiniLM-L6-v2 via
 * Transformers.js, or the lexical fallback), and upserts them into the vector store.
 *
 * - Only what was never embedded is embedded: items are keyed by a content hash (model, kind, service, text) and
 *   looked up in `embedding_cache`; duplicates inside one request are embedded once.
 * - Work is batched (EMBED_BATCH texts per embedder call and vector upsert); the cache is written after the vectors,
 *   so a failure part-way re-embeds only the unfinished batches on redelivery.
 * - Vectors are partitioned by tenant and service (`<tenant>/<service>`; the tenant comes from the CloudEvent's
 *   `tenant` extension, default `default`).
 * - Metrics: slo_scout_embedding_queue_length (texts still to embed in the current request),
 *   slo_scout_embedding_cache_hits_total / _misses_total and slo_scout_embedding_cache_hit_ratio (since start).
 */
import { createHash } from 'node:crypto';
import type { EmbeddingRequest } from '../events/schemas.js';
import { embeddingCacheHas, embeddingCachePut } from '../adapters/db/repo.js';
import type { Embedder, Metrics } from '../core/ports.js';
import { done, port, type EventStage } from '../runtime/stage.js';

export const TEMPLATE_COLLECTION = 'templates';
/** Texts per embedder call / vector upsert. */
export const EMBED_BATCH = 64;
const ensured = new WeakSet<object>();

type Item = EmbeddingRequest['items'][number];

/** The cache key of an item: changes when the model, kind, service or text changes. */
export function contentHash(embedder: Pick<Embedder, 'model'>, item: Omit<Item, 'id'>): string {
  return createHash('sha256')
    .update(`${embedder.model}\u0000${item.kind}\u0000${item.service}\u0000${item.text}`)
    .digest('hex');
}

/** Running cache statistics of this process (exported as a ratio gauge). */
const stats = { hits: 0, misses: 0 };

function reportCache(metrics: Metrics, hits: number, misses: number): void {
  stats.hits += hits;
  stats.misses += misses;
  metrics.counter(
    'slo_scout_embedding_cache_hits_total',
    'Embedding requests served from the cache',
    {},
    hits,
  );
  metrics.counter(
    'slo_scout_embedding_cache_misses_total',
    'Embedding requests that needed the model',
    {},
    misses,
  );
  const seen = stats.hits + stats.misses;
  if (seen > 0) {
    metrics.gauge(
      'slo_scout_embedding_cache_hit_ratio',
      'Share of embedding requests served from the cache since the process started',
      stats.hits / seen,
    );
  }
}

const QUEUE = [
  'slo_scout_embedding_queue_length',
  'Texts of the current request still waiting to be embedded',
] as const;

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
        description: 'log templates, route templates and journeys',
      });
      ensured.add(vectors);
    }
    const tenant = input.event.extensions['tenant'] || 'default';
    // One entry per content hash; the last item with a given hash decides the vector id.
    const byHash = new Map<string, Item>();
    for (const it of input.data.items) byHash.set(contentHash(embedder, it), it);
    const known = await embeddingCacheHas(db, [...byHash.keys()], embedder.model);
    const todo = [...byHash].filter(([h]) => !known.has(h));
    reportCache(ctx.metrics, input.data.items.length - todo.length, todo.length);
    ctx.metrics.gauge(...QUEUE, todo.length);
    for (let i = 0; i < todo.length; i += EMBED_BATCH) {
      const batch = todo.slice(i, i + EMBED_BATCH);
      const vecs = await embedder.embed(batch.map(([, t]) => t.text));
      await vectors.upsert(
        TEMPLATE_COLLECTION,
        batch.map(([, t], k) => ({
          id: t.id,
          vector: vecs[k]!,
          partition: `${tenant}/${t.service}`,
          payload: {
            kind: t.kind,
            tenant,
            service: t.service,
            text: t.text.slice(0, 2000),
            model: embedder.model,
          },
        })),
      );
      await embeddingCachePut(
        db,
        batch.map(([h]) => h),
        { model: embedder.model, dim: embedder.dim },
      );
      ctx.metrics.gauge(...QUEUE, Math.max(0, todo.length - i - batch.length));
    }
    return done();
  },
};
