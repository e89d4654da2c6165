/**
 * Integration tier: the SLI knowledge base with the real all-MiniLM-L6-v2 (SLO_SCOUT_MODEL_DIR) — related log
 * templates and SLI patterns rank above unrelated ones — and retrieval through the `sli_patterns` collection in
 * Milvus (SLO_SCOUT_MILVUS_ADDRESS). Missing model or Milvus fails the run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbedder } from '../../adapters/embedder/index.js';
import { MilvusVectorStore } from '../../adapters/vectors/milvus.js';
import { retrievePatterns } from '../../adapters/vectors/knowledge.js';
import { dot } from '../../core/knowledge/index.js';
import type { Embedder } from '../../core/ports.js';
import { assertReachable, requireService } from './services.js';

let embedder: Embedder;
beforeAll(async () => {
  const modelDir = process.env.SLO_SCOUT_MODEL_DIR;
  if (!modelDir) throw new Error('SLO_SCOUT_MODEL_DIR is not set: run scripts/fetch-model.sh');
  const choice = await createEmbedder({ modelDir });
  if (choice.embedder.kind !== 'transformers')
    throw new Error(`no real model in ${modelDir}: ${choice.notice}`);
  embedder = choice.embedder;
});

/** Log templates / journey texts and the pattern category a person would pick for them. */
const CASES: readonly { text: string; kind?: string; category: string }[] = [
  {
    text: 'Consumer group billing is lagging behind on topic orders partition <*> by <*> messages',
    kind: 'async',
    category: 'messaging-consumer',
  },
  {
    text: 'GET /api/v1/products/{id} returned 503 Service Unavailable',
    kind: 'request',
    category: 'http-server',
  },
  {
    text: 'rpc error: code = Unavailable desc = connection refused calling /inventory.v1.Stock/Reserve',
    category: 'grpc-server',
  },
  { text: 'nightly report export finished, last successful run at <*>', kind: 'job', category: 'batch-job' },
  { text: 'cache miss for key session:<*>, falling back to origin', category: 'cache' },
  {
    text: 'Back-off restarting failed container checkout in pod <*> (CrashLoopBackOff)',
    category: 'kubernetes',
  },
  {
    text: 'upstream prematurely closed connection while reading response header from upstream, nginx ingress 502',
    category: 'ingress-nginx',
  },
  { text: 'ERROR: deadlock detected while executing UPDATE orders SET status = <*>', category: 'database' },
];

describe('real all-MiniLM-L6-v2: retrieval quality', () => {
  it('ranks a pattern of the related category in the top 3 of 35 for every case, well above unrelated ones', async () => {
    const misses: string[] = [];
    for (const c of CASES) {
      const ranked = await retrievePatterns(
        { embedder },
        {
          journey: { name: c.text, service: 'shop', ...(c.kind ? { kind: c.kind } : {}) },
          templates: [],
          inventory: [],
          topK: 40,
        },
      );
      const pos = ranked.findIndex((m) => m.pattern.category === c.category);
      if (pos > 2) misses.push(`${c.category} at ${pos} for "${c.text}" (top: ${ranked[0]?.pattern.id})`);
      const best = ranked.find((m) => m.pattern.category === c.category)!;
      const unrelated = ranked.filter((m) => m.pattern.category !== c.category);
      // related beats the median unrelated pattern by a clear margin
      const median = unrelated[Math.floor(unrelated.length / 2)]!;
      expect(best.similarity, c.text).toBeGreaterThan(median.similarity + 0.1);
    }
    expect(misses).toEqual([]);
  });

  it('places related log templates closer to each other than to unrelated ones', async () => {
    const [a, b, c, d] = await embedder.embed([
      'payment declined for order <*>: card expired',
      'card authorisation failed for order <*>, insufficient funds',
      'cache warm-up completed in <*> ms',
      'kafka consumer rebalanced, assigned partitions <*>',
    ]);
    const related = dot(a!, b!);
    expect(related).toBeGreaterThan(dot(a!, c!) + 0.15);
    expect(related).toBeGreaterThan(dot(a!, d!) + 0.15);
  });
});

describe('retrieval through Milvus (sli_patterns collection)', () => {
  let vectors: MilvusVectorStore;
  beforeAll(async () => {
    await assertReachable('milvus');
    vectors = new MilvusVectorStore({ address: requireService('milvus') });
  });
  afterAll(async () => {
    await vectors?.close();
  });

  it('indexes the catalogue and ranks like the in-memory twin, with inventory evidence', async () => {
    const query = {
      journey: { name: 'POST /checkout', service: 'checkout', kind: 'request', spanKind: 'server' },
      templates: ['order <*> placed', 'payment failed for order <*>: upstream timeout'],
      inventory: [
        {
          name: 'http_server_request_duration_seconds',
          type: 'histogram' as const,
          labels: ['http_request_method', 'http_response_status_code', 'http_route'],
          services: ['checkout'],
        },
      ],
      topK: 5,
    };
    const viaMilvus = await retrievePatterns({ embedder, vectors }, query);
    const inMemory = await retrievePatterns({ embedder }, query);
    expect(viaMilvus.map((m) => m.pattern.id)).toEqual(inMemory.map((m) => m.pattern.id));
    viaMilvus.forEach((m, i) => expect(m.similarity).toBeCloseTo(inMemory[i]!.similarity, 3));
    expect(
      viaMilvus
        .slice(0, 2)
        .map((m) => m.pattern.id)
        .sort(),
    ).toEqual(['http-server.availability.otel', 'http-server.latency.otel']);
    expect(viaMilvus[0]!.reason).toContain('emitted by checkout');
  });
});
