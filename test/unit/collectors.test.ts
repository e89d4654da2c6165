import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { Packr } from 'msgpackr';
import { MemoryBus } from '../../adapters/bus/memory.js';
import { FsObjectStore } from '../../adapters/objects/fs.js';
import { UnavailableError, type Bus, type BusRecord, type ObjectStore } from '../../core/ports.js';
import { encodeLogs, encodeMetrics, encodeTraces } from '../../core/otlp/encode.js';
import { decodeTraces } from '../../core/otlp/decode.js';
import type { ResourceSpansModel } from '../../core/otlp/model.js';
import { walk } from '../../core/protowire.js';
import { fromBusRecord } from '../../events/cloudevents.js';
import { ALL_TOPICS, TOPICS, type TopicDef } from '../../events/registry.js';
import type { RawLogBatch } from '../../events/schemas.js';
import { decodePayload } from '../../events/validate.js';
import { createMetrics } from '../../runtime/observability.js';
import { startCollectors } from '../../collectors/index.js';
import { rawExportService, startOtlpCollector, type OtlpCollector } from '../../collectors/otlp.js';
import { startLogCollector, type LogCollector } from '../../collectors/logs.js';

/** Delegates to a MemoryBus, records what was durably published, and can hold publishes behind a gate. */
class RecordingBus {
  readonly inner = new MemoryBus({ autoCreate: false });
  readonly published: { topic: string; record: BusRecord }[] = [];
  private gate: Promise<void> | null = null;
  private open: (() => void) | null = null;
  entered = 0;

  asBus(): Bus {
    return {
      kind: 'recording',
      publish: async (topic, records) => {
        this.entered++;
        if (this.gate) await this.gate;
        await this.inner.publish(topic, records);
        for (const record of records) this.published.push({ topic, record });
      },
      subscribe: (o, h) => this.inner.subscribe(o, h),
      ensureTopics: (t) => this.inner.ensureTopics(t),
      close: () => this.inner.close(),
    };
  }
  hold(): void {
    this.gate = new Promise((r) => (this.open = r));
  }
  release(): void {
    this.open?.();
    this.gate = null;
  }
  on(topic: TopicDef) {
    return this.published.filter((p) => p.topic === topic.name).map((p) => p.record);
  }
}

const T0 = '1717171717000000000';
const groups: ResourceSpansModel[] = ['frontend', 'checkout'].map((service, i) => ({
  resource: { 'service.name': service },
  scope: 'test',
  spans: [
    {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: `00000000000000${i}1`,
      parentSpanId: '',
      name: `GET /${service}`,
      kind: 2,
      startTimeUnixNano: T0,
      endTimeUnixNano: '1717171717050000000',
      statusCode: 0,
      statusMessage: '',
      attributes: { 'http.route': `/${service}` },
    },
  ],
}));
const traceBytes = encodeTraces(groups);
const MALFORMED = new Uint8Array([0x0a, 0x10, 0x01, 0x02]); // field 1 claims 16 bytes, has 2

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'slo-scout-collectors-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Harness {
  rb: RecordingBus;
  store: ObjectStore;
  otlp: OtlpCollector;
  logs: LogCollector;
  metrics: ReturnType<typeof createMetrics>;
}
const open: Harness[] = [];
let n = 0;

async function harness(
  o: { maxInFlightBytes?: number; maxMessageBytes?: number; store?: ObjectStore } = {},
): Promise<Harness> {
  const rb = new RecordingBus();
  await rb.inner.ensureTopics(
    ALL_TOPICS.map((t) => ({ name: t.name, partitions: t.partitions, retentionMs: t.retentionMs })),
  );
  const store = o.store ?? new FsObjectStore({ root, bucket: `bucket-${++n}` });
  const metrics = createMetrics();
  const common = {
    bus: rb.asBus(),
    objects: store,
    metrics,
    ...(o.maxInFlightBytes !== undefined ? { maxInFlightBytes: o.maxInFlightBytes } : {}),
    ...(o.maxMessageBytes !== undefined ? { maxMessageBytes: o.maxMessageBytes } : {}),
  };
  const otlp = await startOtlpCollector({ ...common, grpcPort: 0, httpPort: 0 });
  const logs = await startLogCollector({ ...common, port: 0 });
  const h = { rb, store, otlp, logs, metrics };
  open.push(h);
  return h;
}

afterEach(async () => {
  for (const h of open.splice(0)) {
    h.rb.release();
    await Promise.all([h.otlp.close(), h.logs.close()]);
    await h.rb.inner.close();
  }
});

type GrpcResult = { error: grpc.ServiceError | null; response: Buffer | undefined };

function grpcExport(
  port: number,
  signal: 'traces' | 'metrics' | 'logs',
  body: Uint8Array,
): Promise<GrpcResult> {
  const Client = grpc.makeGenericClientConstructor(rawExportService(signal), 'Export');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    (
      client as unknown as {
        Export: (b: Buffer, cb: (e: grpc.ServiceError | null, r?: Buffer) => void) => void;
      }
    ).Export(Buffer.from(body), (error, response) => {
      client.close();
      resolve({ error, response });
    });
  });
}

async function listKeys(store: ObjectStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list(prefix)) keys.push(o.key);
  return keys;
}

function checkRecords(records: BusRecord[], def: TopicDef) {
  return records.map((r) => {
    const ev = fromBusRecord(r);
    expect(ev.ok).toBe(true);
    if (!ev.ok) throw new Error(ev.error);
    expect(ev.value.type).toBe(def.ceType);
    const payload = decodePayload(def, ev.value.data);
    expect(payload.ok).toBe(true);
    return { event: ev.value, payload: payload.ok ? payload.value : undefined };
  });
}

/** google.rpc.Status.message (field 2) of a protobuf error body. */
function statusMessage(bytes: Uint8Array): string {
  let msg = '';
  walk(bytes, (f) => {
    if (f.field === 2) msg = new TextDecoder().decode(bytes.subarray(f.valueStart, f.end));
  });
  return msg;
}

const post = (port: number, path: string, body: Uint8Array | string, headers: Record<string, string>) =>
  fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', body, headers });

describe('OTLP gRPC', () => {
  it('accepts an Export, splits per resource, publishes valid events keyed by service and archives the batch', async () => {
    const h = await harness();
    const r = await grpcExport(h.otlp.grpcPort, 'traces', traceBytes);
    expect(r.error).toBeNull();
    expect(r.response?.length).toBe(0);
    const recs = h.rb.on(TOPICS.otlpTraces);
    expect(recs.map((x) => x.key)).toEqual(['frontend', 'checkout']);
    const checked = checkRecords(recs, TOPICS.otlpTraces);
    expect(checked[0]!.event.extensions).toMatchObject({
      signal: 'traces',
      tenant: 'default',
      service: 'frontend',
    });
    const spans = decodeTraces(checked[1]!.event.data);
    expect(spans.ok && spans.value.map((s) => [s.resource['service.name'], s.name])).toEqual([
      ['checkout', 'GET /checkout'],
    ]);
    const keys = await listKeys(h.store, 'raw/signal=traces/');
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(
      /^raw\/signal=traces\/tenant=default\/dt=\d{4}-\d{2}-\d{2}\/hour=\d{2}\/[0-9a-f]{64}\.pb\.gz$/,
    );
    const archived = await h.store.get(keys[0]!);
    expect(new Uint8Array(gunzipSync(archived!))).toEqual(traceBytes);
    // Same bytes again: idempotent archive key, still one object.
    expect((await grpcExport(h.otlp.grpcPort, 'traces', traceBytes)).error).toBeNull();
    expect(await listKeys(h.store, 'raw/signal=traces/')).toHaveLength(1);
  });

  it('serves metrics and logs too', async () => {
    const h = await harness();
    const m = encodeMetrics([
      {
        resource: { 'service.name': 'catalog' },
        scope: 's',
        points: [
          {
            name: 'g',
            description: '',
            unit: '',
            type: 'gauge',
            monotonic: false,
            timeUnixNano: T0,
            attributes: {},
            value: 1,
          },
        ],
      },
    ]);
    const l = encodeLogs([
      {
        resource: { 'service.name': 'cart' },
        scope: 's',
        logs: [
          {
            timeUnixNano: T0,
            observedTimeUnixNano: T0,
            severityNumber: 9,
            severityText: 'INFO',
            body: 'hello',
            attributes: {},
            traceId: '',
            spanId: '',
          },
        ],
      },
    ]);
    expect((await grpcExport(h.otlp.grpcPort, 'metrics', m)).error).toBeNull();
    expect((await grpcExport(h.otlp.grpcPort, 'logs', l)).error).toBeNull();
    expect(checkRecords(h.rb.on(TOPICS.otlpMetrics), TOPICS.otlpMetrics)).toHaveLength(1);
    expect(h.rb.on(TOPICS.otlpLogs).map((r) => r.key)).toEqual(['cart']);
  });

  it('rejects malformed requests with INVALID_ARGUMENT and a reason, publishing nothing', async () => {
    const h = await harness();
    const r = await grpcExport(h.otlp.grpcPort, 'traces', MALFORMED);
    expect(r.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(r.error?.details).toMatch(/not a valid OTLP protobuf export request/);
    expect(h.rb.published).toHaveLength(0);
    expect(await listKeys(h.store, 'raw/')).toHaveLength(0);
  });

  it('answers UNAVAILABLE with RetryInfo while the bus is down, and nothing is acked', async () => {
    const h = await harness();
    h.rb.inner.setAvailable(false);
    const r = await grpcExport(h.otlp.grpcPort, 'traces', traceBytes);
    expect(r.error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(r.error?.metadata.get('grpc-status-details-bin')).toHaveLength(1);
    expect(h.rb.published).toHaveLength(0);
    h.rb.inner.setAvailable(true);
    expect((await grpcExport(h.otlp.grpcPort, 'traces', traceBytes)).error).toBeNull();
    expect(h.rb.published).toHaveLength(2);
  });

  it('answers RESOURCE_EXHAUSTED when the in-flight limit is reached, and acks only after publish resolves', async () => {
    const h = await harness({ maxInFlightBytes: 100 });
    h.rb.hold();
    let firstDone = false;
    const first = grpcExport(h.otlp.grpcPort, 'traces', traceBytes).then((r) => {
      firstDone = true;
      return r;
    });
    await expect.poll(() => h.rb.entered).toBe(1);
    const second = await grpcExport(h.otlp.grpcPort, 'traces', traceBytes);
    expect(second.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(firstDone).toBe(false); // publish is still pending, so no ack yet
    h.rb.release();
    expect((await first).error).toBeNull();
    expect(h.rb.published).toHaveLength(2);
  });
});

describe('OTLP/HTTP', () => {
  it('accepts protobuf, gzip-compressed protobuf and JSON', async () => {
    const h = await harness();
    const port = h.otlp.httpPort;
    const pb = await post(port, '/v1/traces', traceBytes, { 'content-type': 'application/x-protobuf' });
    expect(pb.status).toBe(200);
    expect(pb.headers.get('content-type')).toBe('application/x-protobuf');
    expect((await pb.arrayBuffer()).byteLength).toBe(0);

    const gz = await post(port, '/v1/traces', gzipSync(traceBytes), {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'gzip',
    });
    expect(gz.status).toBe(200);

    const json = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'users' } }] },
          scopeSpans: [
            {
              spans: [
                {
                  traceId: '5b8efff798038103d269b633813fc60c',
                  spanId: 'eee19b7ec3c1b174',
                  name: 'GET /api/users/{id}',
                  kind: 2,
                  startTimeUnixNano: T0,
                  endTimeUnixNano: '1717171717010000000',
                },
              ],
            },
          ],
        },
      ],
    };
    const js = await post(port, '/v1/traces', JSON.stringify(json), { 'content-type': 'application/json' });
    expect(js.status).toBe(200);
    expect(await js.text()).toBe('{}');

    const recs = h.rb.on(TOPICS.otlpTraces);
    expect(recs.map((r) => r.key)).toEqual(['frontend', 'checkout', 'frontend', 'checkout', 'users']);
    const checked = checkRecords(recs, TOPICS.otlpTraces);
    const users = decodeTraces(checked[4]!.event.data);
    expect(users.ok && users.value[0]).toMatchObject({
      name: 'GET /api/users/{id}',
      spanId: 'eee19b7ec3c1b174',
    });
    expect(await listKeys(h.store, 'raw/signal=traces/')).toHaveLength(2); // pb and gzip pb are the same batch
    const jsonKeys = (await listKeys(h.store, 'raw/signal=traces/')).filter((k) => k.endsWith('.json.gz'));
    expect(jsonKeys).toHaveLength(1);
  });

  it('rejects malformed bodies with 400 and a reason, publishing nothing', async () => {
    const h = await harness();
    const port = h.otlp.httpPort;
    const pb = await post(port, '/v1/traces', MALFORMED, { 'content-type': 'application/x-protobuf' });
    expect(pb.status).toBe(400);
    expect(statusMessage(new Uint8Array(await pb.arrayBuffer()))).toMatch(/not a valid OTLP protobuf/);
    const js = await post(port, '/v1/logs', '{"resourceLogs": 5}', { 'content-type': 'application/json' });
    expect(js.status).toBe(400);
    expect(((await js.json()) as { message: string }).message).toMatch(/resourceLogs: expected an array/);
    const badGzip = await post(port, '/v1/traces', traceBytes, {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'gzip',
    });
    expect(badGzip.status).toBe(400);
    expect(h.rb.published).toHaveLength(0);
  });

  it('maps bus outage to 503 and a full limiter to 429, both with Retry-After', async () => {
    const h = await harness({ maxInFlightBytes: 100 });
    const port = h.otlp.httpPort;
    h.rb.inner.setAvailable(false);
    const down = await post(port, '/v1/traces', traceBytes, { 'content-type': 'application/x-protobuf' });
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('2');
    expect(h.rb.published).toHaveLength(0);
    h.rb.inner.setAvailable(true);

    h.rb.hold();
    const first = post(port, '/v1/traces', traceBytes, { 'content-type': 'application/x-protobuf' });
    await expect.poll(() => h.rb.entered).toBeGreaterThanOrEqual(2);
    const busy = await post(port, '/v1/traces', traceBytes, { 'content-type': 'application/x-protobuf' });
    expect(busy.status).toBe(429);
    expect(busy.headers.get('retry-after')).toBe('2');
    h.rb.release();
    expect((await first).status).toBe(200);
  });

  it('close() drains in-flight requests before resolving', async () => {
    const h = await harness();
    h.rb.hold();
    const pending = post(h.otlp.httpPort, '/v1/traces', traceBytes, {
      'content-type': 'application/x-protobuf',
    });
    const grpcPending = grpcExport(h.otlp.grpcPort, 'traces', traceBytes);
    await expect.poll(() => h.rb.entered).toBe(2);
    let closed = false;
    const closing = h.otlp.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(closed).toBe(false);
    h.rb.release();
    expect((await pending).status).toBe(200);
    expect((await grpcPending).error).toBeNull();
    await closing;
    expect(h.rb.published).toHaveLength(4);
  });

  it('answers 503 when the archive cannot be written, before anything is published', async () => {
    const failing: ObjectStore = {
      kind: 'failing',
      bucket: 'x',
      put: () => Promise.reject(new UnavailableError('s3 down', 's3')),
      get: async () => null,
      head: async () => null,
      list: async function* () {},
      delete: async () => undefined,
      close: async () => undefined,
    };
    const h = await harness({ store: failing });
    const r = await post(h.otlp.httpPort, '/v1/traces', traceBytes, {
      'content-type': 'application/x-protobuf',
    });
    expect(r.status).toBe(503);
    expect(h.rb.published).toHaveLength(0);
    const g = await grpcExport(h.otlp.grpcPort, 'traces', traceBytes);
    expect(g.error?.code).toBe(grpc.status.UNAVAILABLE);
  });

  it('handles 413, 415, 404, 405 and the ops endpoints', async () => {
    const h = await harness({ maxMessageBytes: 64 });
    const port = h.otlp.httpPort;
    expect(
      (await post(port, '/v1/traces', traceBytes, { 'content-type': 'application/x-protobuf' })).status,
    ).toBe(413);
    expect((await post(port, '/v1/traces', 'x', { 'content-type': 'text/csv' })).status).toBe(415);
    expect((await post(port, '/v2/traces', 'x', { 'content-type': 'application/json' })).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/v1/traces`)).status).toBe(405);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    const m = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(m.status).toBe(200);
    expect(await m.text()).toMatch(/slo_scout_collector_requests_rejected_total\{.*reason="too_large"/);
  });
});

describe('Fluent Bit log collector', () => {
  const k8s = {
    namespace_name: 'shop',
    pod_name: 'cart-7d9f-abc',
    container_name: 'cart',
    labels: { 'app.kubernetes.io/name': 'cart' },
  };

  it('accepts format json (array, date as double) gzip-compressed, tag from the path', async () => {
    const h = await harness();
    const body = JSON.stringify([
      { date: 1717171717.25, log: 'GET /api/cart 200', level: 'info', stream: 'stdout', kubernetes: k8s },
      { date: 1717171718.5, message: { nested: true }, user: { id: 42, email: 'a@b.co' } },
      { date: 1717171719, foo: 'bar' },
    ]);
    const r = await post(h.logs.port, '/kube.shop.cart', gzipSync(body), {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    expect(r.status).toBe(200);
    const recs = h.rb.on(TOPICS.rawLogs);
    expect(recs).toHaveLength(1);
    expect(recs[0]!.key).toBe('kube.shop.cart');
    const payload = checkRecords(recs, TOPICS.rawLogs)[0]!.payload as RawLogBatch;
    expect(payload.source).toBe('fluentbit-http');
    expect(payload.tag).toBe('kube.shop.cart');
    expect(payload.records[0]).toEqual({
      time_unix_nano: '1717171717250000000',
      body: 'GET /api/cart 200',
      severity: 'info',
      attributes: { stream: 'stdout' },
      resource: {
        'k8s.namespace.name': 'shop',
        'k8s.pod.name': 'cart-7d9f-abc',
        'k8s.container.name': 'cart',
        'service.name': 'cart',
      },
    });
    expect(payload.records[1]).toMatchObject({
      body: '{"nested":true}',
      attributes: { 'user.id': '42', 'user.email': 'a@b.co' },
    });
    expect(payload.records[2]!.body).toBe('{"foo":"bar"}');
    expect(await listKeys(h.store, 'raw/signal=fluentbit/')).toHaveLength(1);
  });

  it('accepts json_lines and json_stream, tag from the header, iso8601 dates', async () => {
    const h = await harness();
    const lines =
      '{"date":"2024-05-31T16:08:37.123456Z","log":"a"}\n{"date":"2024-05-31 16:08:38.5","log":"b"}\n';
    const r1 = await post(h.logs.port, '/', lines, {
      'content-type': 'application/x-ndjson',
      'fluent-tag': 'app.x',
    });
    expect(r1.status).toBe(200);
    const r2 = await post(h.logs.port, '/', '{"log":"c","date":1717171717}{"log":"d","date":1717171717123}', {
      'content-type': 'application/stream+json',
      'x-fluent-tag': 'app.y',
    });
    expect(r2.status).toBe(200);
    const batches = checkRecords(h.rb.on(TOPICS.rawLogs), TOPICS.rawLogs).map(
      (c) => c.payload as RawLogBatch,
    );
    expect(batches.map((b) => b.tag)).toEqual(['app.x', 'app.y']);
    expect(batches[0]!.records.map((r) => [r.time_unix_nano, r.body])).toEqual([
      ['1717171717123456000', 'a'],
      ['1717171718500000000', 'b'],
    ]);
    expect(batches[1]!.records.map((r) => r.time_unix_nano)).toEqual([
      '1717171717000000000',
      '1717171717123000000',
    ]);
  });

  it('accepts msgpack event streams (EventTime, v2 metadata form), gzip, and chunks large requests', async () => {
    const h = await harness();
    const packr = new Packr({ useRecords: false });
    // EventTime: fixext8 (0xd7), ext type 0, big-endian uint32 seconds + uint32 nanoseconds.
    const eventTime = (s: number, ns: number) => {
      const b = Buffer.alloc(10);
      b[0] = 0xd7;
      b[1] = 0;
      b.writeUInt32BE(s, 2);
      b.writeUInt32BE(ns, 6);
      return b;
    };
    const arr2 = Buffer.from([0x92]);
    const stream = Buffer.concat([
      arr2,
      eventTime(1717171717, 5),
      packr.pack({ log: 'first', level: 'warn' }),
      arr2,
      arr2,
      eventTime(1717171718, 0),
      packr.pack({}),
      packr.pack({ log: 'second' }),
      packr.pack([1717171719, { msg: 'third' }]),
    ]);
    const r = await post(h.logs.port, '/mp', gzipSync(stream), {
      'content-type': 'application/msgpack',
      'content-encoding': 'gzip',
    });
    expect(r.status).toBe(200);
    const [batch] = checkRecords(h.rb.on(TOPICS.rawLogs), TOPICS.rawLogs).map(
      (c) => c.payload as RawLogBatch,
    );
    expect(batch!.records.map((x) => [x.time_unix_nano, x.body, x.severity])).toEqual([
      ['1717171717000000005', 'first', 'warn'],
      ['1717171718000000000', 'second', undefined],
      ['1717171719000000000', 'third', undefined],
    ]);

    const many = packr.pack(Array.from({ length: 2500 }, (_, i) => [1717171717 + i, { log: `line ${i}` }]));
    const big = await post(h.logs.port, '/bulk', many, { 'content-type': 'application/msgpack' });
    expect(big.status).toBe(200);
    const bulk = h.rb.on(TOPICS.rawLogs).filter((x) => x.key === 'bulk');
    expect(bulk).toHaveLength(3);
    const sizes = checkRecords(bulk, TOPICS.rawLogs).map((c) => (c.payload as RawLogBatch).records.length);
    expect(sizes).toEqual([1000, 1000, 500]);
  });

  it('rejects bad bodies with 400, back-pressure with 429/503 + Retry-After', async () => {
    const h = await harness({ maxInFlightBytes: 10 });
    const bad = await post(h.logs.port, '/t', '[{"log": "unterminated"', {
      'content-type': 'application/json',
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/not valid JSON/);
    const scalar = await post(h.logs.port, '/t', '[1,2]', { 'content-type': 'application/json' });
    expect(scalar.status).toBe(400);
    expect(h.rb.published).toHaveLength(0);

    h.rb.inner.setAvailable(false);
    const down = await post(h.logs.port, '/t', '[{"log":"x"}]', { 'content-type': 'application/json' });
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('2');
    h.rb.inner.setAvailable(true);

    h.rb.hold();
    const first = post(h.logs.port, '/t', '[{"log":"x"}]', { 'content-type': 'application/json' });
    await expect.poll(() => h.rb.entered).toBeGreaterThanOrEqual(2);
    const busy = await post(h.logs.port, '/t', '[{"log":"y"}]', { 'content-type': 'application/json' });
    expect(busy.status).toBe(429);
    expect(busy.headers.get('retry-after')).toBe('2');
    h.rb.release();
    expect((await first).status).toBe(200);
  });
});

describe('startCollectors', () => {
  it('starts both collectors and closes them', async () => {
    const rb = new RecordingBus();
    await rb.inner.ensureTopics(
      ALL_TOPICS.map((t) => ({ name: t.name, partitions: t.partitions, retentionMs: t.retentionMs })),
    );
    const c = await startCollectors({
      bus: rb.asBus(),
      objects: null,
      otlp: { grpcPort: 0, httpPort: 0 },
      logs: { port: 0 },
    });
    try {
      expect(c.ports.otlpGrpc).toBeGreaterThan(0);
      expect((await grpcExport(c.ports.otlpGrpc, 'traces', traceBytes)).error).toBeNull();
      expect(
        (await post(c.ports.logs, '/x', '[{"log":"x"}]', { 'content-type': 'application/json' })).status,
      ).toBe(200);
      expect(rb.published).toHaveLength(3);
    } finally {
      await c.close();
      await rb.inner.close();
    }
    await expect(fetch(`http://127.0.0.1:${c.ports.otlpHttp}/healthz`)).rejects.toThrow();
  });
});
