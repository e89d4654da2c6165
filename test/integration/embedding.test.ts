/**
 * Integration tier: the embed stage with the real model (SLO_SCOUT_MODEL_DIR), the embedding cache in a real
 * PostgreSQL (SLO_SCOUT_DATABASE_URL, fresh schema) and vectors in Milvus (SLO_SCOUT_MILVUS_ADDRESS).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgDatabase } from '../../adapters/db/postgres.js';
import { createEmbedder } from '../../adapters/embedder/index.js';
import { MilvusVectorStore } from '../../adapters/vectors/milvus.js';
import type { Embedder } from '../../core/ports.js';
import { TEMPLATE_COLLECTION } from '../../functions/embed.js';
import { embedRunner } from './embedding-harness.js';
import { adminQuery, withSearchPath } from '../support/pg.js';
import { assertReachable, requireService } from './services.js';

const schema = `embed_${randomBytes(5).toString('hex')}`;
let db: PgDatabase;
let vectors: MilvusVectorStore;
let embedder: Embedder;
let url: string;

beforeAll(async () => {
  await assertReachable('postgres');
  await assertReachable('milvus');
  const modelDir = process.env.SLO_SCOUT_MODEL_DIR;
  if (!modelDir) throw new Error('SLO_SCOUT_MODEL_DIR is not set: run scripts/fetch-model.sh');
  embedder = (await createEmbedder({ modelDir })).embedder;
  if (embedder.kind !== 'transformers') throw new Error(`no real model in ${modelDir}`);
  url = requireService('postgres');
  await adminQuery(url, `CREATE SCHEMA ${schema}`);
  db = new PgDatabase({ connectionString: withSearchPath(url, schema), max: 2 });
  await db.migrate();
  vectors = new MilvusVectorStore({ address: requireService('milvus') });
});

afterAll(async () => {
  await db?.close();
  await vectors?.close();
  if (url) await adminQuery(url, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
});

describe('embed stage on PostgreSQL + Milvus + all-MiniLM-L6-v2', () => {
  it('embeds new fingerprints once, upserts them into Milvus partitioned by tenant/service, and finds them', async () => {
    const tenant = `t${randomBytes(4).toString('hex')}`;
    const run = embedRunner({ db, vectors, embedder });
    const items = [
      {
        id: `${tenant}-1`,
        kind: 'log_template' as const,
        service: 'payments',
        text: 'payment declined for order <*>: card expired',
      },
      {
        id: `${tenant}-2`,
        kind: 'route_template' as const,
        service: 'payments',
        text: 'payments POST /v1/charges',
      },
      {
        id: `${tenant}-3`,
        kind: 'journey' as const,
        service: 'catalog',
        text: 'browse the product catalog and view an item',
      },
    ];
    await run.send(items, tenant);
    await run.send(items, tenant);
    expect(run.metrics.counters.get('slo_scout_embedding_cache_misses_total')).toBe(3);
    expect(run.metrics.counters.get('slo_scout_embedding_cache_hits_total')).toBe(3);
    expect(run.metrics.gauges.get('slo_scout_embedding_cache_hit_ratio')?.at(-1)).toBe(0.5);

    const [q] = await embedder.embed(['credit card payment was rejected']);
    const hits = await vectors.search(TEMPLATE_COLLECTION, q!, { topK: 2, partition: `${tenant}/payments` });
    expect(hits[0]?.id).toBe(`${tenant}-1`);
    expect(hits[0]?.payload).toMatchObject({ tenant, service: 'payments', kind: 'log_template' });
    const other = await vectors.search(TEMPLATE_COLLECTION, q!, { topK: 5, partition: `${tenant}/catalog` });
    expect(other.map((h) => h.id)).toEqual([`${tenant}-3`]);
    await run.close();
  });
});
