/** The SLI knowledge base: catalogue invariants, pure scoring, retrieval through pgvector, and the kb CLI. */
import { describe, expect, it } from 'vitest';
import { LexicalEmbedder } from '../../adapters/embedder/lexical.js';
import { PgliteDatabase } from '../../adapters/db/pglite.js';
import { PgVectorStore } from '../../adapters/vectors/pgvector.js';
import { PATTERN_COLLECTION, indexPatterns, retrievePatterns } from '../../adapters/vectors/knowledge.js';
import { EXIT } from '../../cli/main.js';
import { cli } from '../support/cli.js';
import type { MetricInventoryEntry } from '../../core/inventory.js';
import {
  SLI_CATALOGUE,
  findPattern,
  journeyQueryText,
  rankPatterns,
  renderPromql,
  scorePattern,
  type PatternCategory,
} from '../../core/knowledge/index.js';
import type { Embedder } from '../../core/ports.js';

const CATEGORIES: PatternCategory[] = [
  'http-server',
  'grpc-server',
  'messaging-consumer',
  'batch-job',
  'database',
  'cache',
  'queue',
  'ingress-nginx',
  'istio',
  'kubernetes',
];

const httpInventory: MetricInventoryEntry[] = [
  {
    name: 'http_server_request_duration_seconds',
    type: 'histogram',
    labels: ['http_request_method', 'http_response_status_code', 'http_route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    services: ['checkout'],
  },
];

describe('SLI catalogue', () => {
  it('has unique ids and covers every required category with sane objectives and templates', () => {
    const ids = SLI_CATALOGUE.patterns.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(SLI_CATALOGUE.patterns.map((p) => p.category))).toEqual(new Set(CATEGORIES));
    for (const p of SLI_CATALOGUE.patterns) {
      expect(p.version).toBeGreaterThanOrEqual(1);
      expect(p.metrics.length).toBeGreaterThan(0);
      expect(p.objective.min).toBeLessThanOrEqual(p.objective.typical);
      expect(p.objective.typical).toBeLessThanOrEqual(p.objective.max);
      expect(p.objective.max).toBeLessThan(1);
      for (const q of [p.promql.good, p.promql.total]) {
        expect(q, p.id).toContain('{{.window}}');
        expect(q, p.id).toContain('$SEL');
        // every $PARAM used has a default
        for (const [, name] of q.matchAll(/\$([A-Z_]+)/g)) {
          if (name === 'SEL' || name === 'METRIC') continue;
          expect(p.params?.[name!], `${p.id} uses $${name}`).toBeDefined();
        }
      }
      const r = renderPromql(p, { matchers: ['job="x"'], metric: 'm_last_success_unixtime' });
      for (const q of [r.good, r.total]) {
        expect(q, p.id).not.toMatch(/\$[A-Z]/);
        expect(q.split('(').length, p.id).toBe(q.split(')').length);
        expect((q.match(/\{/g) ?? []).length, p.id).toBe((q.match(/\}/g) ?? []).length);
      }
    }
  });

  it('renders selectors, parameters and empty selectors cleanly', () => {
    const p = findPattern('http-server.latency.otel')!;
    expect(renderPromql(p, { matchers: ['http_route="/pay"'] })).toEqual({
      good: 'sum(rate(http_server_request_duration_seconds_bucket{http_route="/pay",le="0.5"}[{{.window}}]))',
      total: 'sum(rate(http_server_request_duration_seconds_count{http_route="/pay"}[{{.window}}]))',
    });
    expect(renderPromql(findPattern('http-server.availability.promhttp')!).total).toBe(
      'sum(rate(http_requests_total[{{.window}}]))',
    );
    expect(renderPromql(p, { params: { LE: 0.25 } }).good).toContain('le="0.25"');
  });
});

describe('pattern scoring', () => {
  const journey = { name: 'POST /checkout', service: 'checkout', kind: 'request', spanKind: 'server' };

  it('lets hard evidence outrank similarity and explains why', () => {
    const q = { journey, templates: [], inventory: httpInventory };
    const withEvidence = scorePattern(findPattern('http-server.availability.otel')!, 0.2, q);
    const similarOnly = scorePattern(findPattern('http-server.availability.promhttp')!, 0.6, q);
    expect(withEvidence.score).toBeGreaterThan(similarOnly.score);
    expect(withEvidence.metricCoverage).toBe(1);
    expect(withEvidence.reason).toContain(
      'http_server_request_duration_seconds present (labels http_response_status_code present, emitted by checkout)',
    );
    expect(similarOnly.reason).toContain('no required metric in the inventory (wants http_requests_total)');
    expect(withEvidence.promql.good).toContain('http_response_status_code!~"5.."');
  });

  it('penalises missing labels and journeys of the wrong kind', () => {
    const noStatus: MetricInventoryEntry[] = [{ ...httpInventory[0]!, labels: ['http_route'] }];
    const p = findPattern('http-server.availability.otel')!;
    const full = scorePattern(p, 0.5, { journey, templates: [], inventory: httpInventory });
    const partial = scorePattern(p, 0.5, { journey, templates: [], inventory: noStatus });
    expect(partial.score).toBeLessThan(full.score);
    expect(partial.reason).toContain('missing labels http_response_status_code');
    const asConsumer = scorePattern(p, 0.5, {
      journey: { ...journey, kind: 'async' },
      templates: [],
      inventory: httpInventory,
    });
    expect(asConsumer.score).toBeLessThan(full.score);
    expect(asConsumer.reason).toContain('meant for request journeys');
  });

  it('matches metric families by pattern and requires every metric of multi-metric patterns', () => {
    const inv: MetricInventoryEntry[] = [
      { name: 'nightly_export_last_success_unixtime', type: 'gauge', labels: ['job'], services: [] },
      { name: 'redis_keyspace_hits_total', type: 'counter', labels: [], services: [] },
    ];
    const q = {
      journey: { name: 'nightly export', service: 'etl', kind: 'job' },
      templates: [],
      inventory: inv,
    };
    const fresh = scorePattern(findPattern('batch-job.freshness.last-success')!, 0.3, q);
    expect(fresh.metricCoverage).toBe(1);
    expect(fresh.promql.good).toContain('max(nightly_export_last_success_unixtime{$SEL})');
    const redis = scorePattern(findPattern('cache.redis.hit-ratio')!, 0.3, q);
    expect(redis.metricCoverage).toBe(0.5);
    expect(redis.reason).toContain('missing redis_keyspace_misses_total');
  });

  it('ranks deterministically, honours topK and evidenceRequired', () => {
    const q = { journey, templates: ['payment failed for order <*>'], inventory: httpInventory, topK: 3 };
    const ranked = rankPatterns(new Map(), q);
    expect(ranked).toHaveLength(3);
    expect(
      ranked
        .map((m) => m.pattern.id)
        .slice(0, 2)
        .sort(),
    ).toEqual(['http-server.availability.otel', 'http-server.latency.otel']);
    expect(rankPatterns(new Map(), { ...q, topK: 50, evidenceRequired: true })).toHaveLength(2);
    expect(() => rankPatterns(new Map(), { ...q, topK: 0 })).toThrow(/topK/);
    expect(journeyQueryText(journey, ['a <*>', 'b'])).toBe(
      'POST /checkout. service checkout. request journey. server span. a <*>. b',
    );
  });
});

describe('retrieval through the vector store (pgvector on PGlite)', () => {
  it('indexes the catalogue on first use, re-indexes for another model, and ranks with evidence', async () => {
    const db = await PgliteDatabase.open();
    const vectors = new PgVectorStore(db, { ownsDatabase: true });
    try {
      const lexical = new LexicalEmbedder();
      const query = {
        journey: { name: 'consume orders', service: 'billing', kind: 'async', spanKind: 'consumer' },
        templates: ['kafka consumer lag growing on topic orders partition <*>'],
        inventory: [
          {
            name: 'kafka_consumergroup_lag',
            type: 'gauge' as const,
            labels: ['consumergroup', 'partition', 'topic'],
            services: [],
          },
        ],
      };
      const first = await retrievePatterns({ embedder: lexical, vectors }, query);
      expect(await vectors.count(PATTERN_COLLECTION)).toBe(SLI_CATALOGUE.patterns.length);
      expect(first[0]?.pattern.id).toBe('messaging-consumer.lag.kafka-exporter');
      expect(first[0]?.reason).toMatch(/^similarity 0\.\d+ to "Kafka consumer lag/);
      // the in-memory twin ranks the same way
      const inMemory = await retrievePatterns({ embedder: lexical }, query);
      expect(inMemory.map((m) => [m.pattern.id, m.score])).toEqual(first.map((m) => [m.pattern.id, m.score]));

      // another model with the same dimension: the stored vectors are stale and get rebuilt
      const other: Embedder = {
        kind: 'lexical',
        model: 'lexical-variant',
        dim: lexical.dim,
        embed: (t) => lexical.embed(t.map((s) => s.toUpperCase())),
      };
      await retrievePatterns({ embedder: other, vectors }, query);
      const hit = await vectors.search(PATTERN_COLLECTION, (await other.embed(['x']))[0]!, { topK: 1 });
      expect(hit[0]?.payload.model).toBe('lexical-variant');
      expect(await indexPatterns(vectors, lexical)).toBe(SLI_CATALOGUE.patterns.length);
    } finally {
      await vectors.close();
    }
  });
});

describe('slo-scout kb', () => {
  it('lists the catalogue and searches it (lexical fallback announced)', async () => {
    const list = await cli('kb', 'list');
    expect(list.code).toBe(EXIT.ok);
    expect(list.out).toContain(
      `catalogue ${SLI_CATALOGUE.version}: ${SLI_CATALOGUE.patterns.length} patterns`,
    );
    expect(list.out).toContain('istio.availability  v1  availability  istio_requests_total');
    const prev = process.env.SLO_SCOUT_MODEL_DIR;
    process.env.SLO_SCOUT_MODEL_DIR = '/nonexistent-model-dir';
    try {
      const s = await cli('kb', 'search', '--json', '--top', '2', 'redis', 'cache', 'miss');
      expect(s.code).toBe(EXIT.ok);
      expect(s.err).toContain('using the lexical fallback embedder');
      const body = JSON.parse(s.out) as { embedder: string; matches: { id: string }[] };
      expect(body.embedder).toBe('lexical-hash-384');
      expect(body.matches).toHaveLength(2);
      expect(body.matches[0]?.id).toMatch(/^cache\./);
    } finally {
      if (prev === undefined) delete process.env.SLO_SCOUT_MODEL_DIR;
      else process.env.SLO_SCOUT_MODEL_DIR = prev;
    }
    expect((await cli('kb', 'search', '--kind', 'nope', 'x')).code).toBe(EXIT.usage);
  });
});
