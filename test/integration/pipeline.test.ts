/**
 * The pipeline on real infrastructure: a real Apache Kafka (KRaft) as the bus, a real PostgreSQL as the database, a
 * real S3-compatible server as the archive and import store, and Milvus for vectors. Telemetry enters through the
 * collectors' real protocols; an OTLP file is imported through the object store with a MinIO-dialect notification
 * delivered over Kafka exactly as MinIO's Kafka target writes it (plain JSON, no CloudEvents headers).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { S3Client, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { demoWorkload } from '../../core/demo/workload.js';
import { encodeLogs, encodeMetrics, encodeTraces } from '../../core/otlp/encode.js';
import { s3NotificationFor } from '../../adapters/objects/archive-keys.js';
import { TOPICS } from '../../events/registry.js';
import { loadConfig, type Config } from '../../platform/config.js';
import { startPlatform, type Platform } from '../../platform/platform.js';
import { stageCounts } from '../../platform/demo.js';
import { otlpHttpExport, OtlpGrpcSender } from '../../platform/senders.js';
import { createLogger } from '../../runtime/observability.js';
import {
  assertReachable,
  requireService,
  S3_TEST_BUCKET,
  S3_TEST_CREDENTIALS,
  S3_TEST_REGION,
} from './services.js';

const run = randomUUID().slice(0, 8);
let platform: Platform;
let dbUrl: string;
let admin: pg.Client;
const end = new Date(Math.floor(Date.now() / 60_000) * 60_000);
const start = new Date(end.getTime() - 3_600_000);

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function one<T>(sql: string, params: unknown[] = []): Promise<T | undefined> {
  const r = await platform.ports.db!.query<T>(sql, params);
  return r.rows[0];
}

beforeAll(async () => {
  for (const s of ['kafka', 'postgres', 's3', 'milvus'] as const) await assertReachable(s);
  // A database of its own, so runs never see each other's rows.
  const base = requireService('postgres');
  admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE slo_scout_it_${run}`);
  const u = new URL(base);
  u.pathname = `/slo_scout_it_${run}`;
  dbUrl = u.toString();
  const cfg: Config = loadConfig(
    {
      SLO_SCOUT_LOG_LEVEL: 'warn',
      SLO_SCOUT_KAFKA_BROKERS: requireService('kafka'),
      SLO_SCOUT_DATABASE_URL: dbUrl,
      SLO_SCOUT_S3_BUCKET: S3_TEST_BUCKET,
      SLO_SCOUT_S3_ENDPOINT: requireService('s3'),
      SLO_SCOUT_S3_REGION: S3_TEST_REGION,
      SLO_SCOUT_S3_ACCESS_KEY_ID: S3_TEST_CREDENTIALS.accessKeyId,
      SLO_SCOUT_S3_SECRET_ACCESS_KEY: S3_TEST_CREDENTIALS.secretAccessKey,
      SLO_SCOUT_MILVUS_ADDRESS: requireService('milvus'),
      SLO_SCOUT_TENANT: `it-${run}`,
      // .ci/run lays out the real all-MiniLM-L6-v2 and exports its directory.
      SLO_SCOUT_MODEL_DIR: process.env['SLO_SCOUT_MODEL_DIR'],
    },
    { ports: { otlpGrpc: 0, otlpHttp: 0, logHttp: 0, forward: 0, api: 0 } },
  );
  platform = await startPlatform(cfg, { log: createLogger({ level: 'warn', name: 'it' }) });
}, 180_000);

afterAll(async () => {
  await platform?.close();
  if (admin) {
    await admin.query(`DROP DATABASE IF EXISTS slo_scout_it_${run} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
});

describe('pipeline on Kafka, PostgreSQL, S3 and Milvus', () => {
  it('ingests through the collectors, imports through S3, and produces guarded artifacts', async () => {
    const { endpoints } = platform;
    const grpc = new OtlpGrpcSender(`127.0.0.1:${endpoints.otlpGrpc}`);
    const http = `http://127.0.0.1:${endpoints.otlpHttp}`;
    let spans = 0;
    let importBytes: Uint8Array | undefined;
    try {
      for (const b of demoWorkload({ seed: 11, end, hours: 1 })) {
        const bytes = encodeTraces(b.traces);
        if (!importBytes) importBytes = bytes;
        else await grpc.export('traces', bytes);
        spans += b.traces.reduce((n, r) => n + r.spans.length, 0);
        if (b.metrics.length) await otlpHttpExport(http, 'metrics', encodeMetrics(b.metrics));
        if (b.logs.length) await otlpHttpExport(http, 'logs', encodeLogs(b.logs));
      }
    } finally {
      grpc.close();
    }
    expect(spans).toBeGreaterThan(500);

    // Backfill: the first minute goes through S3 + a MinIO-style notification on Kafka.
    const key = `imports/traces/it-${run}.pb`;
    const objects = platform.ports.objects!;
    const info = await objects.put(key, importBytes!);
    await platform.ports.bus.publish(TOPICS.objectsCreated.name, [
      {
        key: `${S3_TEST_BUCKET}/${key}`,
        value: new TextEncoder().encode(JSON.stringify(s3NotificationFor(S3_TEST_BUCKET, info, 'minio'))),
        headers: {},
      },
    ]);

    // The rollups for the imported minute prove the import path ran end to end.
    await until('rollups from the collectors', () =>
      one<{ n: number }>('SELECT count(*)::int AS n FROM rollups WHERE kind = $1', ['operation']).then((r) =>
        r && r.n > 20 ? r : undefined,
      ),
    );
    const importedMinute = new Date(end.getTime() - 3_600_000).toISOString();
    await until('rollups from the imported object', () =>
      one<{ n: number }>('SELECT count(*)::int AS n FROM rollups WHERE minute = $1', [importedMinute]).then(
        (r) => (r && r.n > 0 ? r : undefined),
      ),
    );
    // Let the last batches land before analysing.
    await new Promise((r) => setTimeout(r, 5000));

    const res = await fetch(`http://127.0.0.1:${endpoints.api}/api/v1/analyses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ window: { start: start.toISOString(), end: end.toISOString() } }),
    });
    expect(res.status).toBe(202);
    const { request_id: requestId } = (await res.json()) as { request_id: string };

    const set = await until('an artifact set', () =>
      one<{ id: string }>('SELECT id FROM artifact_sets WHERE request_id = $1', [requestId]),
    );
    const decision = await until('a policy decision', () =>
      one<{ decision: string }>('SELECT decision FROM policy_decisions WHERE artifact_set_id = $1', [set.id]),
    );
    expect(decision.decision).not.toBe('deny');
    const rec = await one<{ doc: { journeys: { name: string }[] } }>(
      'SELECT doc FROM recommendations WHERE request_id = $1',
      [requestId],
    );
    expect(rec!.doc.journeys.some((j) => /checkout/.test(j.name))).toBe(true);

    // Deployed artifacts and the raw archive are in the real bucket.
    const s3 = new S3Client({
      endpoint: requireService('s3'),
      region: S3_TEST_REGION,
      forcePathStyle: true,
      credentials: S3_TEST_CREDENTIALS,
    });
    const deployed = await s3.send(
      new ListObjectsV2Command({ Bucket: S3_TEST_BUCKET, Prefix: `deployed/${set.id}/` }),
    );
    const keys = (deployed.Contents ?? []).map((o) => o.Key!);
    expect(keys.some((k) => k.endsWith('.rules.yaml'))).toBe(true);
    expect(keys.some((k) => k.endsWith('.dashboard.json'))).toBe(true);
    expect(keys.some((k) => k.includes('/runbooks/'))).toBe(true);
    const raw = await s3.send(
      new ListObjectsV2Command({ Bucket: S3_TEST_BUCKET, Prefix: `raw/signal=traces/tenant=it-${run}/` }),
    );
    expect(raw.KeyCount ?? 0).toBeGreaterThan(0);
    s3.destroy();

    // Embeddings reached Milvus, and no stage dead-lettered anything.
    expect(await platform.ports.vectors!.count('templates')).toBeGreaterThan(0);
    expect(stageCounts(platform.metrics).deadLettered).toBe(0);
    if (process.env['SLO_SCOUT_MODEL_DIR']) expect(platform.ports.embedder!.kind).toBe('transformers');
  }, 240_000);
});
