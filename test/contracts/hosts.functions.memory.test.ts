/**
 * The cross-host contract over the real functions in functions/: every stage SLO-Scout ships runs through the local,
 * Knative and Lambda hosts with the same inputs, on embedded twins (PGlite, pgvector on PGlite, filesystem object
 * store, lexical embedder).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bus, Database, ObjectStore } from '../../core/ports.js';
import { encodeTraces } from '../../core/otlp/encode.js';
import { SpanKind, StatusCode } from '../../core/otlp/model.js';
import { generateArtifacts } from '../../core/generate/index.js';
import type { Recommendations } from '../../events/schemas.js';
import { PgliteDatabase } from '../../adapters/db/pglite.js';
import { PgVectorStore } from '../../adapters/vectors/pgvector.js';
import { FsObjectStore } from '../../adapters/objects/fs.js';
import { s3NotificationFor } from '../../adapters/objects/archive-keys.js';
import { LexicalEmbedder } from '../../adapters/embedder/lexical.js';
import {
  analyze,
  api,
  embed,
  fingerprint,
  FUNCTIONS,
  generate,
  importer,
  policy,
  rollup,
} from '../../functions/index.js';
import { createMetrics, noopLogger } from '../../runtime/observability.js';
import type { StageContext } from '../../runtime/stage.js';
import { describe, expect, it } from 'vitest';
import { hostsContract, type HostCase } from './hosts.contract.js';

const BUCKET = 'slo-scout';
const IMPORT_KEY = 'imports/traces/contract.pb';

let shared: Promise<{ db: Database; objects: ObjectStore; vectors: PgVectorStore }> | undefined;

function sharedPorts() {
  shared ??= (async () => {
    const db = await PgliteDatabase.open({});
    await db.migrate();
    const objects = new FsObjectStore({
      root: mkdtempSync(join(tmpdir(), 'slo-scout-hosts-')),
      bucket: BUCKET,
    });
    const now = 1_764_000_000_000;
    const trace = encodeTraces([
      {
        resource: { 'service.name': 'checkout' },
        scope: 'contract',
        spans: [
          {
            traceId: '0af7651916cd43dd8448eb211c80319c',
            spanId: 'b7ad6b7169203331',
            parentSpanId: '',
            name: 'POST /checkout',
            kind: SpanKind.SERVER,
            startTimeUnixNano: String(BigInt(now) * 1_000_000n),
            endTimeUnixNano: String(BigInt(now + 42) * 1_000_000n),
            statusCode: StatusCode.UNSET,
            statusMessage: '',
            attributes: {
              'http.request.method': 'POST',
              'http.route': '/checkout',
              'http.response.status_code': 200,
            },
          },
        ],
      },
    ]);
    await objects.put(IMPORT_KEY, trace);
    return { db, objects, vectors: new PgVectorStore(db) };
  })();
  return shared;
}

async function makeCtx(bus: Bus): Promise<StageContext> {
  const { db, objects, vectors } = await sharedPorts();
  return {
    bus,
    db,
    objects,
    vectors,
    embedder: new LexicalEmbedder(),
    metrics: createMetrics(),
    log: noopLogger,
    now: () => new Date(),
  };
}

const recommendations = JSON.parse(
  readFileSync(new URL('../golden/generate/input.recommendations.json', import.meta.url), 'utf8'),
) as Recommendations;
const artifactSet = generateArtifacts(recommendations, {
  setId: 'as-contract',
  generatedAt: recommendations.generated_at,
});
const nanos = '1764000000000000000';

const cases: HostCase[] = [
  {
    stage: fingerprint,
    valid: {
      topic: 'rawLogs',
      key: 'kube.shop.users',
      data: {
        source: 'fluentbit-http',
        tag: 'kube.shop.users',
        records: [
          {
            time_unix_nano: nanos,
            body: 'login failed for alice@example.com from 203.0.113.9',
            severity: 'WARN',
            attributes: {},
            resource: { 'service.name': 'users' },
          },
        ],
      },
    },
    invalid: { data: { source: 'fluentbit-http', records: 'not a list' }, field: 'records' },
    emits: [{ topic: 'fingerprints', count: 1 }],
  },
  {
    stage: rollup,
    valid: {
      topic: 'fingerprints',
      key: 'checkout',
      data: {
        records: [
          {
            kind: 'span',
            service: 'checkout',
            operation: 'POST /checkout',
            template_id: 'op_0123456789abcdef',
            template: 'POST /checkout',
            time_unix_nano: nanos,
            duration_ms: 42,
            status: 'ok',
            span_kind: 'server',
            trace_id: '0af7651916cd43dd8448eb211c80319c',
            span_id: 'b7ad6b7169203331',
            attributes: {},
          },
        ],
      },
    },
    invalid: { data: { records: [] }, field: 'records' },
    emits: [{ topic: 'rollups', count: 1 }],
  },
  {
    stage: embed,
    valid: {
      topic: 'embeddingRequests',
      key: 'users',
      data: {
        items: [
          { id: 'tpl_contract', kind: 'log_template', service: 'users', text: 'login failed for <EMAIL>' },
        ],
      },
    },
    invalid: { data: { items: [{ id: 'tpl_contract', service: 'users', text: 'x' }] }, field: 'kind' },
    emits: [],
  },
  {
    stage: analyze,
    valid: {
      topic: 'analysisRequests',
      key: 'req-contract',
      data: {
        request_id: 'req-contract',
        window: { start: '2025-11-24T00:00:00Z', end: '2025-11-25T00:00:00Z' },
        reason: 'contract',
      },
    },
    invalid: { data: { request_id: 'req-contract', reason: 'contract' }, field: 'window' },
    emits: [{ topic: 'recommendations', count: 1 }],
  },
  {
    stage: generate,
    valid: { topic: 'recommendations', key: recommendations.request_id, data: recommendations },
    invalid: { data: { ...recommendations, schema_version: '2' }, field: 'schema_version' },
    emits: [{ topic: 'artifacts', count: 1 }],
  },
  {
    stage: policy,
    valid: { topic: 'artifacts', key: artifactSet.id, data: artifactSet },
    invalid: { data: { ...artifactSet, files: [] }, field: 'files' },
    emits: [{ topic: 'policyDecisions', count: 1 }],
  },
  {
    stage: importer,
    valid: {
      topic: 'objectsCreated',
      key: `${BUCKET}/${IMPORT_KEY}`,
      data: s3NotificationFor(
        BUCKET,
        { key: IMPORT_KEY, size: 1, etag: 'e', lastModified: new Date(1_764_000_000_000) },
        'minio',
      ),
    },
    invalid: {
      data: { EventName: 's3:ObjectCreated:Put', Key: `${BUCKET}/${IMPORT_KEY}` },
      field: 'Records',
    },
    emits: [{ topic: 'otlpTraces', count: 1 }],
  },
  { stage: api, request: { method: 'GET', path: '/healthz' }, expect: { status: 200 } },
  {
    stage: api,
    request: {
      method: 'POST',
      path: '/api/v1/analyses',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hours: 1 }),
    },
    expect: {
      status: 202,
      body: (b) => expect((b as { request_id: string }).request_id).toMatch(/^[0-9a-f-]{36}$/),
    },
  },
  {
    stage: api,
    request: {
      method: 'POST',
      path: '/api/v1/analyses',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hours: -1 }),
    },
    expect: { status: 400 },
  },
  {
    stage: api,
    request: {
      method: 'POST',
      path: '/api/v1/dead-letters',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({
        specversion: '1.0',
        id: 'undeliverable-1',
        source: '/apis/v1/namespaces/slo-scout/kafkasources/slo-scout-rollup#slo-scout.fingerprints.v1',
        type: 'io.sloscout.fingerprints.v1',
        datacontenttype: 'application/json',
        knativeerrorcode: '503',
        knativeerrordest: 'http://slo-scout-rollup.slo-scout.svc.cluster.local',
        knativeerrordata: Buffer.from('database unavailable').toString('base64'),
        data: { records: [] },
      }),
    },
    expect: { status: 202, body: (b) => expect(b).toEqual({ dead_lettered: 1 }) },
  },
  {
    stage: api,
    request: {
      method: 'POST',
      path: '/api/v1/dead-letters',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    },
    expect: { status: 400 },
  },
];

describe('every registered function has a hosts-contract case', () => {
  it('covers the registry', () => {
    const covered = new Set(cases.map((c) => c.stage.name));
    expect(FUNCTIONS.map((f) => f.name).filter((n) => !covered.has(n))).toEqual([]);
  });
});

hostsContract(cases, makeCtx);
