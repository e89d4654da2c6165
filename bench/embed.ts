/**
 * `npm run bench -- embed [--model-dir DIR] [--journeys N] [--days N] [--points-per-hour N] [--vectors N] [--queries N]`
 *
 * - embeddings_per_s: the embedder chosen like the product does (SLO_SCOUT_MODEL_DIR or --model-dir: the real
 *   all-MiniLM-L6-v2; otherwise the lexical fallback — `embedder` says which), against the lexical embedder on the
 *   same texts in the same run (`lexical_embeddings_per_s`, `model_vs_lexical`).
 * - cache_hit_ratio: a replayed stream of template fingerprints (Zipf-distributed over a fixed vocabulary, as a
 *   redelivering bus and recurring logs produce) through the embed stage on PGlite + pgvector; the steady-state ratio
 *   is over the second half of the stream, `cache_hit_ratio_overall` over all of it.
 * - pgvector_search_p99_ms / milvus_search_p99_ms: top-10 searches over --vectors 384-d vectors (HNSW, cosine);
 *   Milvus only when SLO_SCOUT_MILVUS_ADDRESS is set (null otherwise). Baseline: exact brute force in JS.
 * - rollup_query_ms: daily series over 30 days for 500 journeys (loadRollupSeries, served by rollups_hourly) on PGlite
 *   and, when SLO_SCOUT_DATABASE_URL is set, on PostgreSQL; baseline: the same aggregation over the minute table.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { MemoryBus } from '../adapters/bus/memory.js';
import { PgDatabase } from '../adapters/db/postgres.js';
import { PgliteDatabase } from '../adapters/db/pglite.js';
import { loadRollupSeries } from '../adapters/db/repo.js';
import { createEmbedder } from '../adapters/embedder/index.js';
import { LexicalEmbedder } from '../adapters/embedder/lexical.js';
import { MilvusVectorStore } from '../adapters/vectors/milvus.js';
import { PgVectorStore } from '../adapters/vectors/pgvector.js';
import type { Database, Embedder, Metrics, VectorStore } from '../core/ports.js';
import { newEvent } from '../events/cloudevents.js';
import { TOPICS } from '../events/registry.js';
import { embed } from '../functions/embed.js';
import { rng } from '../core/random.js';

function arg(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
  return n;
}
function argStr(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
}

const progress = (s: string) => process.stderr.write(`[bench embed] ${s}\n`);
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const r2 = (x: number) => Math.round(x * 100) / 100;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

const VERBS = ['created', 'failed', 'timed out', 'retried', 'declined', 'shipped', 'cached', 'evicted'];
const NOUNS = ['order', 'payment', 'session', 'cart', 'invoice', 'shipment', 'user', 'product'];
function templateText(i: number): string {
  return `${NOUNS[i % 8]} <*> ${VERBS[Math.floor(i / 8) % 8]} after <*> ms in step ${Math.floor(i / 64)}`;
}

async function throughput(e: Embedder, texts: string[]): Promise<number> {
  await e.embed(texts.slice(0, 4)); // warm-up
  const t0 = process.hrtime.bigint();
  await e.embed(texts);
  return texts.length / (ms(t0) / 1000);
}

async function cacheReplay(
  embedder: Embedder,
): Promise<{ steady: number; overall: number; requests: number }> {
  const db = await PgliteDatabase.open();
  await db.migrate();
  const vectors = new PgVectorStore(db);
  const counts = { hits: 0, misses: 0 };
  const window: { hits: number; misses: number }[] = [];
  const metrics: Metrics = {
    counter: (name, _h, _l, by = 1) => {
      if (name === 'slo_scout_embedding_cache_hits_total') counts.hits += by;
      if (name === 'slo_scout_embedding_cache_misses_total') counts.misses += by;
    },
    gauge: () => undefined,
    observe: () => undefined,
  };
  const bus = new MemoryBus();
  const ctx = {
    bus,
    db,
    vectors,
    embedder,
    metrics,
    log: { debug() {}, info() {}, warn() {}, error() {} },
    now: () => new Date(),
  };
  const vocab = 400;
  const rand = rng(7);
  // Zipf(1.1) over the vocabulary
  const weights = Array.from({ length: vocab }, (_, i) => 1 / (i + 1) ** 1.1);
  const total = weights.reduce((a, b) => a + b, 0);
  const cdf: number[] = [];
  weights.reduce((acc, w, i) => ((cdf[i] = acc + w / total), acc + w / total), 0);
  const pick = () => {
    const u = rand();
    const i = cdf.findIndex((c) => c >= u);
    return i < 0 ? vocab - 1 : i;
  };
  const requests = 200;
  for (let r = 0; r < requests; r++) {
    const items = Array.from({ length: 50 }, () => {
      const i = pick();
      return {
        id: `tpl-${i}`,
        kind: 'log_template' as const,
        service: `svc-${i % 7}`,
        text: templateText(i),
      };
    });
    const before = { ...counts };
    const event = newEvent(TOPICS.embeddingRequests, { source: 'bench', data: { items } });
    await embed.handle(
      {
        event,
        data: { items },
        topic: TOPICS.embeddingRequests.name,
        key: null,
        transport: 'bus',
        attempt: 1,
      },
      ctx,
    );
    window.push({ hits: counts.hits - before.hits, misses: counts.misses - before.misses });
  }
  await bus.close();
  await db.close();
  const half = window.slice(requests / 2);
  const h = half.reduce((a, w) => a + w.hits, 0);
  const m = half.reduce((a, w) => a + w.misses, 0);
  return { steady: h / (h + m), overall: counts.hits / (counts.hits + counts.misses), requests };
}

function randomUnit(rand: () => number, dim: number): Float32Array {
  const v = new Float32Array(dim);
  let n = 0;
  for (let i = 0; i < dim; i++) {
    const x = rand() * 2 - 1;
    v[i] = x;
    n += x * x;
  }
  n = Math.sqrt(n);
  for (let i = 0; i < dim; i++) v[i] = v[i]! / n;
  return v;
}

async function searchLatency(
  store: VectorStore,
  collection: string,
  data: Float32Array[],
  queries: Float32Array[],
): Promise<{ p50: number; p99: number; load_s: number }> {
  await store.ensureCollection({ name: collection, dim: 384 });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < data.length; i += 500) {
    await store.upsert(
      collection,
      data
        .slice(i, i + 500)
        .map((v, k) => ({ id: `v${i + k}`, vector: v, partition: `p${(i + k) % 4}`, payload: {} })),
    );
  }
  const load = ms(t0) / 1000;
  for (const q of queries.slice(0, 5)) await store.search(collection, q, { topK: 10 });
  const lat: number[] = [];
  for (const q of queries) {
    const t = process.hrtime.bigint();
    await store.search(collection, q, { topK: 10 });
    lat.push(ms(t));
  }
  return { p50: r2(pct(lat, 50)), p99: r2(pct(lat, 99)), load_s: r2(load) };
}

async function rollupBench(
  db: Database,
  journeys: number,
  days: number,
  pointsPerHour: number,
): Promise<{
  rows: number;
  load_s: number;
  query_ms: number;
  one_journey_ms: number;
  baseline_minute_table_ms: number;
}> {
  await db.migrate();
  const start = new Date(Date.UTC(2025, 0, 1));
  const end = new Date(start.getTime() + days * 86_400_000);
  await db.query('SELECT slo_scout_ensure_rollup_partitions($1::timestamptz, $2::timestamptz)', [start, end]);
  const t0 = process.hrtime.bigint();
  const step = Math.floor(60 / pointsPerHour);
  for (let d = 0; d < days; d++) {
    const dayStart = new Date(start.getTime() + d * 86_400_000);
    await db.query(
      `INSERT INTO rollups (minute, service, kind, key, count, errors, sum_ms, bounds_ms, buckets)
       SELECT t, 'svc-' || (j % 25), 'operation', 'journey-' || j, 100, j % 3, 2500.0,
              '{10,50,100,250,500,1000}', '{20,30,30,15,3,1,1}'
       FROM generate_series($1::timestamptz, $1::timestamptz + interval '1 day' - interval '1 minute',
                            make_interval(mins => $3::int)) t
       CROSS JOIN generate_series(1, $2::int) j`,
      [dayStart, journeys, step],
    );
  }
  const load = ms(t0) / 1000;
  await db.query('ANALYZE rollups').catch(() => undefined);
  await db.query('ANALYZE rollups_hourly').catch(() => undefined);
  const rows = Number((await db.query<{ n: unknown }>('SELECT count(*) AS n FROM rollups')).rows[0]?.n);
  const q = () => loadRollupSeries(db, { start, end, bucketHours: 24, kind: 'operation' });
  const times = async (f: () => Promise<unknown>, n: number) => {
    await f();
    const xs: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = process.hrtime.bigint();
      await f();
      xs.push(ms(t));
    }
    return pct(xs, 50);
  };
  const got = await q();
  if (got.length !== journeys * days)
    throw new Error(`rollup bench: ${got.length} buckets, want ${journeys * days}`);
  const queryMs = await times(q, 5);
  const one = await times(
    () => loadRollupSeries(db, { start, end, bucketHours: 1, keys: ['journey-7'], services: ['svc-7'] }),
    10,
  );
  const baseline = await times(
    () =>
      db.query(
        `SELECT date_bin(interval '1 day', minute, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket, service, kind, key,
                bounds_ms, sum(count), sum(errors), sum(sum_ms), slo_scout_sum_buckets(buckets)
         FROM rollups WHERE minute >= $1 AND minute < $2 AND kind = 'operation'
         GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5`,
        [start, end],
      ),
    3,
  );
  return {
    rows,
    load_s: r2(load),
    query_ms: r2(queryMs),
    one_journey_ms: r2(one),
    baseline_minute_table_ms: r2(baseline),
  };
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const journeys = arg(args, '--journeys', 500);
  const days = arg(args, '--days', 30);
  const pointsPerHour = arg(args, '--points-per-hour', 2);
  const nVectors = arg(args, '--vectors', 5000);
  const nQueries = arg(args, '--queries', 200);
  const modelDir = argStr(args, '--model-dir') ?? process.env.SLO_SCOUT_MODEL_DIR;
  const out: Record<string, unknown> = {};

  // ---- embedding throughput
  const choice = await createEmbedder(modelDir ? { modelDir } : {});
  if (choice.notice) progress(choice.notice);
  const texts = Array.from({ length: 256 }, (_, i) => templateText(i));
  progress(`embedding ${texts.length} texts with ${choice.embedder.model}`);
  const eps = await throughput(choice.embedder, texts);
  const lexEps = await throughput(new LexicalEmbedder(), texts);
  Object.assign(out, {
    embedder: `${choice.embedder.kind}:${choice.embedder.model}`,
    embeddings_per_s: r2(eps),
    lexical_embeddings_per_s: r2(lexEps),
    model_vs_lexical: r2(eps / lexEps),
  });

  // ---- cache hit ratio on a replayed stream
  progress('replaying 200 embedding requests x 50 items (Zipf over 400 templates)');
  const cache = await cacheReplay(choice.embedder);
  Object.assign(out, {
    cache_hit_ratio: r2(cache.steady),
    cache_hit_ratio_overall: r2(cache.overall),
    cache_replay: { requests: cache.requests, items_per_request: 50, vocabulary: 400 },
  });

  // ---- vector search
  const rand = rng(42);
  const data = Array.from({ length: nVectors }, () => randomUnit(rand, 384));
  const queries = Array.from({ length: nQueries }, () => randomUnit(rand, 384));
  const bt: number[] = [];
  for (const q of queries.slice(0, 50)) {
    const t = process.hrtime.bigint();
    const scores = data.map((v) => {
      let s = 0;
      for (let i = 0; i < 384; i++) s += v[i]! * q[i]!;
      return s;
    });
    scores.sort((a, b) => b - a);
    bt.push(ms(t));
  }
  out.bruteforce_search_p99_ms = r2(pct(bt, 99));
  progress(`pgvector (PGlite): ${nVectors} vectors, ${nQueries} queries`);
  const pgl = await PgliteDatabase.open();
  const pgv = await searchLatency(new PgVectorStore(pgl), 'bench_vectors', data, queries);
  await pgl.close();
  Object.assign(out, {
    pgvector_search_p99_ms: pgv.p99,
    pgvector_search_p50_ms: pgv.p50,
    pgvector_load_s: pgv.load_s,
  });
  const milvusAddr = process.env.SLO_SCOUT_MILVUS_ADDRESS;
  if (milvusAddr) {
    progress(`Milvus at ${milvusAddr}`);
    const store = new MilvusVectorStore({ address: milvusAddr });
    const name = `bench_${randomBytes(4).toString('hex')}`;
    try {
      const mv = await searchLatency(store, name, data, queries);
      Object.assign(out, {
        milvus_search_p99_ms: mv.p99,
        milvus_search_p50_ms: mv.p50,
        milvus_load_s: mv.load_s,
      });
    } finally {
      const { MilvusClient } = await import('@zilliz/milvus2-sdk-node');
      const c = new MilvusClient({ address: milvusAddr, logLevel: 'error' });
      await c.dropCollection({ collection_name: name }).catch(() => undefined);
      await c.closeConnection();
      await store.close();
    }
  } else {
    out.milvus_search_p99_ms = null;
    out.milvus_note = 'SLO_SCOUT_MILVUS_ADDRESS not set';
  }
  out.vector_search = { vectors: nVectors, queries: nQueries, dim: 384, top_k: 10 };

  // ---- rollup range query
  progress(`rollups on PGlite: ${journeys} journeys x ${days} days x ${24 * pointsPerHour} points/day`);
  const dir = await mkdtemp(join(tmpdir(), 'slo-scout-bench-'));
  const lite = await PgliteDatabase.open({ dataDir: join(dir, 'pg') });
  try {
    const r = await rollupBench(lite, journeys, days, pointsPerHour);
    Object.assign(out, {
      rollup_query_ms: r.query_ms,
      rollup_pglite: r,
    });
  } finally {
    await lite.close();
    await rm(dir, { recursive: true, force: true });
  }
  const url = process.env.SLO_SCOUT_DATABASE_URL;
  if (url) {
    progress('rollups on PostgreSQL');
    const schema = `bench_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    const u = new URL(url);
    u.searchParams.set('options', `-c search_path=${schema},public`);
    const pgdb = new PgDatabase({ connectionString: u.toString(), max: 2 });
    try {
      const r = await rollupBench(pgdb, journeys, days, pointsPerHour);
      out.rollup_postgres = { ...r, timescale: (await pgdb.features()).timescale };
      out.rollup_query_ms_postgres = r.query_ms;
    } finally {
      await pgdb.close();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
  } else {
    out.rollup_postgres = null;
  }
  out.rollup_shape = { journeys, days, points_per_hour: pointsPerHour, bucket: '1 day' };
  return out;
}
