/**
 * The SLI knowledge base in a vector store: index the catalogue into the `sli_patterns` collection and retrieve the
 * best patterns for a journey (vector similarity from the store, combined with inventory evidence by the pure
 * scoring in core/knowledge). Without a vector store the same ranking runs in memory.
 */
import type { Embedder, VectorStore } from '../../core/ports.js';
import {
  SLI_CATALOGUE,
  dot,
  journeyQueryText,
  patternText,
  rankPatterns,
  type PatternMatch,
  type RetrievalQuery,
  type SliCatalogue,
} from '../../core/knowledge/index.js';

export const PATTERN_COLLECTION = 'sli_patterns';
/** Partition of the catalogue in the collection (patterns are global, not per tenant or service). */
export const PATTERN_PARTITION = 'catalogue';

export interface KnowledgeDeps {
  readonly embedder: Embedder;
  /** When absent, similarities are computed in memory (embedding the catalogue once per embedder). */
  readonly vectors?: VectorStore;
  readonly catalogue?: SliCatalogue;
}

/** Embed every pattern and upsert it (idempotent: ids are the pattern ids). Returns how many were written. */
export async function indexPatterns(
  vectors: VectorStore,
  embedder: Embedder,
  catalogue: SliCatalogue = SLI_CATALOGUE,
): Promise<number> {
  await vectors.ensureCollection({
    name: PATTERN_COLLECTION,
    dim: embedder.dim,
    description: `SLO-Scout SLI pattern catalogue ${catalogue.version}`,
  });
  const texts = catalogue.patterns.map(patternText);
  const vecs = await embedder.embed(texts);
  await vectors.upsert(
    PATTERN_COLLECTION,
    catalogue.patterns.map((p, i) => ({
      id: p.id,
      vector: vecs[i]!,
      partition: PATTERN_PARTITION,
      payload: {
        version: p.version,
        catalogue: catalogue.version,
        model: embedder.model,
        category: p.category,
        sli_kind: p.sliKind,
        title: p.title,
      },
    })),
  );
  return catalogue.patterns.length;
}

const memo = new WeakMap<Embedder, Map<string, Promise<Float32Array[]>>>();

async function inMemorySimilarities(
  embedder: Embedder,
  catalogue: SliCatalogue,
  query: Float32Array,
): Promise<Map<string, number>> {
  let byCatalogue = memo.get(embedder);
  if (!byCatalogue) memo.set(embedder, (byCatalogue = new Map()));
  let vecs = byCatalogue.get(catalogue.version);
  if (!vecs) {
    vecs = embedder.embed(catalogue.patterns.map(patternText));
    byCatalogue.set(catalogue.version, vecs);
  }
  const all = await vecs;
  return new Map(catalogue.patterns.map((p, i) => [p.id, dot(query, all[i]!)]));
}

/** True when the stored catalogue was indexed by this model and catalogue version, with every pattern present. */
function indexCurrent(
  hits: readonly { id: string; payload: Readonly<Record<string, unknown>> }[],
  embedder: Embedder,
  catalogue: SliCatalogue,
): boolean {
  if (hits.length < catalogue.patterns.length) return false;
  return hits.every((h) => h.payload.model === embedder.model && h.payload.catalogue === catalogue.version);
}

/**
 * The retrieval half of the recommender: the best SLI patterns for a journey, its templates and the metric
 * inventory, each with a score in [0, 1] and a reason. With a vector store, the `sli_patterns` collection is
 * (re)indexed on first use when it is missing, stale (older catalogue) or was built by another embedding model.
 */
export async function retrievePatterns(deps: KnowledgeDeps, query: RetrievalQuery): Promise<PatternMatch[]> {
  const catalogue = deps.catalogue ?? SLI_CATALOGUE;
  const [qv] = await deps.embedder.embed([journeyQueryText(query.journey, query.templates)]);
  if (!qv) throw new Error('retrievePatterns: the embedder returned no vector');
  let similarities: Map<string, number>;
  if (!deps.vectors) {
    similarities = await inMemorySimilarities(deps.embedder, catalogue, qv);
  } else {
    const vectors = deps.vectors;
    const search = () =>
      vectors.search(PATTERN_COLLECTION, qv, {
        topK: catalogue.patterns.length,
        partition: PATTERN_PARTITION,
      });
    let hits = await search().catch(async (e: unknown) => {
      if (e instanceof Error && /does not exist/.test(e.message)) return [];
      throw e;
    });
    if (!indexCurrent(hits, deps.embedder, catalogue)) {
      await indexPatterns(vectors, deps.embedder, catalogue);
      hits = await search();
    }
    similarities = new Map(hits.map((h) => [h.id, h.score]));
  }
  return rankPatterns(similarities, query, catalogue);
}
