/**
 * The hosts contract over two small test stages (topic- and object-triggered) and a test HTTP stage, plus the
 * host-specific behaviour the contract does not cover: captured fixtures as-is, multi-stage Knative routing,
 * health/readiness/metrics, body limits, graceful close, Lambda context caching and the observability module.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { MemoryBus } from '../../adapters/bus/memory.js';
import type { Bus } from '../../core/ports.js';
import { newEvent, toHttpBinary } from '../../events/cloudevents.js';
import { TOPICS } from '../../events/registry.js';
import type { ObjectCreated, RawLogBatch } from '../../events/schemas.js';
import { createKnativeServer } from '../../runtime/hosts/knative.js';
import {
  lambdaBaseHandler,
  lambdaHandler,
  type HttpResultV2,
  type KafkaBatchResponse,
} from '../../runtime/hosts/lambda.js';
import { startLocalHost } from '../../runtime/hosts/local.js';
import { createLogger, createMetrics, noopLogger, parseLogLevel } from '../../runtime/observability.js';
import { done, type EventStage, type HttpStage, type StageContext } from '../../runtime/stage.js';
import { RecordingBus } from '../support/test-bus.js';
import {
  fixture,
  fixtureBody,
  hostsContract,
  knativeBinary,
  parseHttpV2,
  send,
  withKnative,
  type HttpFixture,
} from './hosts.contract.js';

// ---- test stages ------------------------------------------------------------------------------------------------

const fingerprinter: EventStage<RawLogBatch> = {
  kind: 'event',
  name: 'test-fingerprinter',
  description: 'Emits one fingerprint batch per raw log record.',
  trigger: { kind: 'topic', topics: ['rawLogs'] },
  needs: [],
  async handle(input) {
    return done(
      input.data.records.map((r) => {
        const service = String(r.resource['service.name'] ?? 'unknown');
        return {
          topic: 'fingerprints' as const,
          key: service,
          data: {
            records: [
              {
                kind: 'log' as const,
                service,
                operation: '',
                template_id: createHash('sha256').update(r.body).digest('hex').slice(0, 16),
                template: r.body,
                time_unix_nano: r.time_unix_nano,
                status: 'unset' as const,
                attributes: {},
              },
            ],
          },
        };
      }),
    );
  },
};

const importer: EventStage<ObjectCreated> = {
  kind: 'event',
  name: 'test-importer',
  description: 'Asks for an analysis of every object imported under imports/.',
  trigger: { kind: 'object', prefix: 'imports/' },
  needs: [],
  async handle(input) {
    const o = input.data;
    return done([
      {
        topic: 'analysisRequests',
        key: `${o.bucket}/${o.key}`,
        data: {
          request_id: `${o.bucket}/${o.key}`,
          window: { start: o.eventTime, end: o.eventTime },
          reason: `import of ${o.key} (${o.dialect})`,
        },
      },
    ]);
  },
};

const ping: HttpStage = {
  kind: 'http',
  name: 'test-ping',
  description: 'Answers pings.',
  routes: [
    { method: 'GET', path: '/v1/ping' },
    { method: 'POST', path: '/v1/echo/*' },
  ],
  needs: [],
  async handle(req) {
    if (req.method === 'GET') {
      return {
        status: 200,
        body: {
          pong: req.query['name'] ?? null,
          tags: req.query['tag'] ?? null,
          cookie: req.headers['cookie'] ?? null,
        },
      };
    }
    return {
      status: 201,
      headers: { 'content-type': 'application/octet-stream', 'x-path': req.path },
      body: req.body,
    };
  },
};

const logs: RawLogBatch = {
  source: 'fluentbit-forward',
  tag: 'payments.app',
  records: [
    {
      time_unix_nano: '1717243201000000000',
      body: 'charge ok in 41ms',
      attributes: {},
      resource: { 'service.name': 'payments' },
    },
    {
      time_unix_nano: '1717243202000000000',
      body: 'charge declined',
      severity: 'WARN',
      attributes: { code: 51 },
      resource: { 'service.name': 'payments' },
    },
  ],
};

async function makeCtx(bus: Bus): Promise<StageContext> {
  return { bus, metrics: createMetrics(), log: noopLogger, now: () => new Date('2024-06-01T12:00:00.000Z') };
}

hostsContract(
  [
    {
      stage: fingerprinter,
      valid: { topic: 'rawLogs', key: 'payments.app', data: logs },
      invalid: {
        data: { ...logs, records: [{ ...logs.records[0], time_unix_nano: 'yesterday' }] },
        field: 'time_unix_nano',
      },
      emits: [{ topic: 'fingerprints', count: 2 }],
    },
    {
      stage: importer,
      valid: {
        topic: 'objectsCreated',
        key: 'slo-scout-archive/imports/payments/2024-06-01.ndjson',
        data: (() => {
          const n = fixture('minio-webhook-put.json');
          n.Records[0].s3.object.key = 'imports%2Fpayments%2F2024-06-01.ndjson';
          n.Key = 'slo-scout-archive/imports/payments/2024-06-01.ndjson';
          return n;
        })(),
      },
      invalid: { data: { EventName: 's3:ObjectCreated:Put', Records: [] }, field: 'Records' },
      emits: [{ topic: 'analysisRequests', count: 1 }],
    },
    {
      stage: ping,
      request: { method: 'GET', path: '/v1/ping', query: 'name=contract' },
      expect: { status: 200, body: (b) => expect(b).toMatchObject({ pong: 'contract' }) },
    },
  ],
  makeCtx,
);

// ---- captured fixtures, unmodified ---------------------------------------------------------------------------------

describe('captured event fixtures run unmodified', () => {
  const setup = async () => {
    const bus = await RecordingBus.memory();
    return { bus, ctx: await makeCtx(bus) };
  };

  it('msk-event.json and self-managed-kafka-event.json: one fingerprint, no failures', async () => {
    for (const name of ['msk-event.json', 'self-managed-kafka-event.json']) {
      const { bus, ctx } = await setup();
      const res = (await lambdaHandler(fingerprinter, async () => ctx)(
        fixture(name),
        {} as never,
      )) as KafkaBatchResponse;
      expect(res).toEqual({ batchItemFailures: [] });
      expect(
        bus.payloads<{ records: { service: string; template: string }[] }>(TOPICS.fingerprints.name),
      ).toEqual([
        {
          records: [expect.objectContaining({ service: 'checkout', template: 'GET /api/cart/42 200 12ms' })],
        },
      ]);
      await bus.close();
    }
  });

  it('s3-put-event.json: AWS dialect, "+" decoded to a space', async () => {
    const { bus, ctx } = await setup();
    const res = await lambdaHandler(importer, async () => ctx)(fixture('s3-put-event.json'), {} as never);
    expect(res).toEqual({ records: 1, outcomes: ['done'] });
    expect(bus.payloads(TOPICS.analysisRequests.name)).toEqual([
      expect.objectContaining({
        request_id: 'slo-scout-archive/imports/checkout/2024-06-01 access.ndjson',
        reason: 'import of imports/checkout/2024-06-01 access.ndjson (aws)',
      }),
    ]);
    await bus.close();
  });

  it('s3-put-event.json outside the prefix is acked as ignored', async () => {
    const { bus, ctx } = await setup();
    const e = fixture('s3-put-event.json');
    e.Records[0].s3.object.key = 'raw/otlp/2024-06-01/x.pb';
    const res = await lambdaHandler(importer, async () => ctx)(e, {} as never);
    expect(res).toEqual({ records: 1, outcomes: ['ignored'] });
    expect(bus.total()).toBe(0);
    await bus.close();
  });

  it('the Knative fixtures (binary, structured, KafkaSource-wrapped, MinIO webhook) are accepted as-is', async () => {
    const { bus, ctx } = await setup();
    await withKnative([fingerprinter, importer], ctx, async (base) => {
      for (const name of ['knative-kafkasource-binary.json', 'knative-kafkasource-structured.json']) {
        const f = fixture<HttpFixture>(name);
        const r = await send(base, f.path, { headers: f.headers, body: fixtureBody(f) });
        expect([name, r.status, r.body.stage, r.body.outcome]).toEqual([
          name,
          202,
          'test-fingerprinter',
          'done',
        ]);
      }
      const wrapped = fixture<HttpFixture>('knative-kafka-event-wrapped.json');
      const w = await send(base, wrapped.path, { headers: wrapped.headers, body: fixtureBody(wrapped) });
      expect([w.status, w.body.stage, w.body.outcome]).toEqual([202, 'test-importer', 'done']);
      // The wrapped record gets the id a raw Kafka record gets everywhere: topic/partition/offset.
      expect(w.body.id).toBe(`${TOPICS.objectsCreated.name}/2/318`);
      const minio = fixture('minio-webhook-put.json');
      const m = await send(base, '/', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(minio),
      });
      expect([m.status, m.body.stage, m.body.outcome]).toEqual([202, 'test-importer', 'done']);
    });
    expect(bus.records(TOPICS.fingerprints.name)).toHaveLength(2);
    expect(bus.payloads<{ reason: string }>(TOPICS.analysisRequests.name).map((p) => p.reason)).toEqual([
      'import of imports/checkout/2024-06-01 access.ndjson (minio)',
      'import of imports/checkout/2024-06-01 access.ndjson (minio)',
    ]);
    await bus.close();
  });

  it('function-url-get.json reaches the HTTP stage with query, repeated params and cookies', async () => {
    const { bus, ctx } = await setup();
    const r = (await lambdaHandler(ping, async () => ctx)(
      fixture('function-url-get.json'),
      {} as never,
    )) as HttpResultV2;
    expect(r.statusCode).toBe(200);
    expect(parseHttpV2(r)).toEqual({ pong: 'scout', tags: 'a,b', cookie: 'session=abc123' });
    await bus.close();
  });

  it('apigw-v2-post-cloudevent.json is an event for an event stage', async () => {
    const { bus, ctx } = await setup();
    const r = (await lambdaHandler(fingerprinter, async () => ctx)(
      fixture('apigw-v2-post-cloudevent.json'),
      {} as never,
    )) as HttpResultV2;
    expect(r.statusCode).toBe(202);
    expect(parseHttpV2(r)).toMatchObject({ outcome: 'done', stage: 'test-fingerprinter' });
    expect(bus.records(TOPICS.fingerprints.name)).toHaveLength(1);
    await bus.close();
  });
});

// ---- Knative specifics ---------------------------------------------------------------------------------------------

describe('knative host', () => {
  const rawLogsEvent = () => newEvent(TOPICS.rawLogs, { source: '/t', data: logs });

  it('routes POST / by topic when several stages share a server; unknown types and paths are refused', async () => {
    const bus = await RecordingBus.memory();
    const ctx = await makeCtx(bus);
    await withKnative([fingerprinter, importer, ping], ctx, async (base) => {
      const a = await send(base, '/', knativeBinary(rawLogsEvent()));
      expect([a.status, a.body.stage]).toEqual([202, 'test-fingerprinter']);
      // Explicit stage path: the importer does not consume raw logs, so processEvent dead-letters it.
      const b = await send(base, '/test-importer', knativeBinary(rawLogsEvent()));
      expect([b.status, b.body.outcome]).toEqual([202, 'dead-lettered']);
      expect(b.body.reason).toContain('does not consume slo-scout.logs.raw.v1');
      const req = newEvent(TOPICS.analysisRequests, {
        source: '/t',
        data: {
          request_id: 'r1',
          window: { start: '2024-06-01T00:00:00Z', end: '2024-06-01T01:00:00Z' },
          reason: 'x',
        },
      });
      const c = await send(base, '/', knativeBinary(req));
      expect(c.status).toBe(400);
      expect(c.body.reason).toContain('no stage on this server consumes');
      expect((await send(base, '/nope', knativeBinary(rawLogsEvent()))).status).toBe(404);
      expect((await send(base, '/test-fingerprinter', { method: 'GET' })).status).toBe(405);
      const echo = await fetch(`${base}/v1/echo/abc?x=1`, {
        method: 'POST',
        body: new Uint8Array([1, 2, 255]),
      });
      expect(echo.status).toBe(201);
      expect(echo.headers.get('x-path')).toBe('/v1/echo/abc');
      expect(new Uint8Array(await echo.arrayBuffer())).toEqual(new Uint8Array([1, 2, 255]));
    });
    expect(bus.records(TOPICS.deadLetters.name)).toHaveLength(1);
    await bus.close();
  });

  it('a malformed CloudEvent (ce headers without id) is a 400, not a dead letter', async () => {
    const bus = await RecordingBus.memory();
    const ctx = await makeCtx(bus);
    const bin = toHttpBinary(rawLogsEvent());
    delete bin.headers['ce-id'];
    const r = await withKnative(fingerprinter, ctx, (base) =>
      send(base, '/', { headers: bin.headers, body: bin.body }),
    );
    expect(r.status).toBe(400);
    expect(r.body.reason).toContain('missing one of the required attributes');
    const s = await withKnative(fingerprinter, ctx, (base) =>
      send(base, '/', {
        headers: { 'content-type': 'application/cloudevents+json' },
        body: '{"specversion":"1.0"',
      }),
    );
    expect(s.status).toBe(400);
    expect(s.body.reason).toContain('structured CloudEvent is not JSON');
    expect(bus.total()).toBe(0);
    await bus.close();
  });

  it('serves /healthz, /readyz and Prometheus /metrics', async () => {
    const bus = await RecordingBus.memory();
    const ctx = await makeCtx(bus);
    await withKnative(fingerprinter, ctx, async (base) => {
      expect((await send(base, '/healthz', { method: 'GET' })).status).toBe(200);
      expect((await send(base, '/readyz', { method: 'GET' })).body).toEqual({ status: 'ready' });
      await send(base, '/', knativeBinary(rawLogsEvent()));
      const m = await fetch(`${base}/metrics`);
      expect(m.headers.get('content-type')).toContain('text/plain; version=0.0.4');
      const text = await m.text();
      expect(text).toContain('# TYPE slo_scout_stage_records_total counter');
      expect(text).toContain(
        'slo_scout_stage_records_total{result="done",stage="test-fingerprinter",transport="knative"} 1',
      );
      expect(text).toContain(
        'slo_scout_stage_seconds_count{stage="test-fingerprinter",transport="knative"} 1',
      );
    });
    const plain: StageContext = { ...ctx, metrics: { counter() {}, gauge() {}, observe() {} } };
    await withKnative(fingerprinter, plain, async (base) => {
      expect((await send(base, '/metrics', { method: 'GET' })).status).toBe(404);
    });
    await bus.close();
  });

  it('refuses bodies over the limit with 413, both declared and streamed', async () => {
    const bus = await RecordingBus.memory();
    const ctx = await makeCtx(bus);
    await withKnative(
      fingerprinter,
      ctx,
      async (base) => {
        const big = new Uint8Array(4096).fill(0x61);
        const r = await send(base, '/', { headers: { 'content-type': 'application/json' }, body: big });
        expect(r.status).toBe(413);
        const stream = new ReadableStream<Uint8Array>({
          start(c) {
            for (let i = 0; i < 8; i++) c.enqueue(new Uint8Array(512).fill(0x62));
            c.close();
          },
        });
        const s = await fetch(`${base}/`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
        expect(s.status).toBe(413);
      },
      { maxBodyBytes: 1024 },
    );
    await bus.close();
  });

  it('close() stops accepting but waits for in-flight requests', async () => {
    const bus = await RecordingBus.memory();
    const ctx = await makeCtx(bus);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow: EventStage<RawLogBatch> = {
      ...fingerprinter,
      async handle(input, c) {
        await gate;
        return fingerprinter.handle(input, c);
      },
    };
    const server = createKnativeServer(slow, ctx, { port: 0, host: '127.0.0.1' });
    const { port } = await server.listen();
    const base = `http://127.0.0.1:${port}`;
    const pending = send(base, '/', knativeBinary(rawLogsEvent()));
    await new Promise((r) => setTimeout(r, 50));
    let closed = false;
    const closing = server.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(false);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
    release();
    expect((await pending).status).toBe(202);
    await closing;
    expect(bus.records(TOPICS.fingerprints.name)).toHaveLength(2);
    await bus.close();
  });

  it('refuses two stages with one name', () => {
    expect(() =>
      createKnativeServer([fingerprinter, fingerprinter], {} as StageContext, { port: 0 }),
    ).toThrow(/two stages named/);
  });
});

// ---- Lambda specifics ----------------------------------------------------------------------------------------------

describe('lambda host', () => {
  it('creates the context once per container, and again after a failed creation', async () => {
    const bus = await RecordingBus.memory();
    const ctx = await makeCtx(bus);
    let calls = 0;
    const make = vi.fn(async () => {
      calls++;
      if (calls === 1) throw new Error('database not reachable yet');
      return ctx;
    });
    const handler = lambdaBaseHandler(fingerprinter, make);
    await expect(handler(fixture('msk-event.json'))).rejects.toThrow('database not reachable yet');
    await handler(fixture('msk-event.json'));
    await handler(fixture('self-managed-kafka-event.json'));
    expect(make).toHaveBeenCalledTimes(2);
    expect(bus.records(TOPICS.fingerprints.name)).toHaveLength(2);
    await bus.close();
  });

  it('the middy handler and the base handler answer the same', async () => {
    const bus = await RecordingBus.memory();
    const ctx = await makeCtx(bus);
    const event = fixture('function-url-get.json');
    const a = await lambdaBaseHandler(ping, async () => ctx)(event);
    const b = await lambdaHandler(ping, async () => ctx)(event, {} as never);
    expect(b).toEqual(a);
    await bus.close();
  });

  it('binary HTTP responses are base64-encoded', async () => {
    const ctx = await makeCtx(await RecordingBus.memory());
    const e = fixture('function-url-get.json');
    e.rawPath = '/v1/echo/x';
    e.requestContext.http.method = 'POST';
    e.body = Buffer.from([0, 1, 2, 250]).toString('base64');
    e.isBase64Encoded = true;
    const r = (await lambdaBaseHandler(ping, async () => ctx)(e)) as HttpResultV2;
    expect(r).toMatchObject({
      statusCode: 201,
      isBase64Encoded: true,
      body: Buffer.from([0, 1, 2, 250]).toString('base64'),
    });
  });

  it('unknown event shapes and wiring mistakes throw clear errors', async () => {
    const ctx = await makeCtx(await RecordingBus.memory());
    await expect(lambdaBaseHandler(fingerprinter, async () => ctx)({ detail: {} })).rejects.toThrow(
      /unrecognised Lambda event for stage test-fingerprinter/,
    );
    await expect(lambdaBaseHandler(ping, async () => ctx)(fixture('msk-event.json'))).rejects.toThrow(
      /HTTP stage and cannot consume aws:kafka events/,
    );
    const get = fixture('function-url-get.json');
    const r = (await lambdaBaseHandler(fingerprinter, async () => ctx)(get)) as HttpResultV2;
    expect(r.statusCode).toBe(405);
  });

  it('Kafka header bytes may arrive signed; a tombstone (no value) is dead-lettered', async () => {
    const bus = await RecordingBus.memory();
    const ctx = await makeCtx(bus);
    const e = fixture('msk-event.json');
    const rec = Object.values(e.records as Record<string, Record<string, unknown>[]>)[0]![0]!;
    // 'é' in UTF-8 is 0xC3 0xA9; Java serialises bytes as signed numbers.
    (rec['headers'] as Record<string, number[]>[]).push({ ce_tenant: [116, -61, -87] });
    const tomb = { ...rec, offset: 1042, value: null };
    (Object.values(e.records)[0] as unknown[]).push(tomb);
    const res = (await lambdaBaseHandler(fingerprinter, async () => ctx)(e)) as KafkaBatchResponse;
    expect(res.batchItemFailures).toEqual([]);
    expect(bus.records(TOPICS.fingerprints.name)).toHaveLength(1);
    const dl = bus.payloads<{ reason: string; original: { headers: Record<string, string> } }>(
      TOPICS.deadLetters.name,
    );
    expect(dl).toHaveLength(1);
    expect(dl[0]!.reason).toContain('not valid JSON');
    expect(dl[0]!.original.headers['ce_tenant']).toBe('té');
  });
});

// ---- local host specifics ------------------------------------------------------------------------------------------

describe('local host', () => {
  it('ignores HTTP stages and stops consuming on close()', async () => {
    const bus = await RecordingBus.memory();
    const ctx = await makeCtx(bus);
    const host = await startLocalHost([ping, fingerprinter], ctx, { backoffMs: 1 });
    await bus.inject(TOPICS.rawLogs.name, [
      { key: null, value: new TextEncoder().encode(JSON.stringify(logs)), headers: {} },
    ]);
    await bus.waitFor(TOPICS.fingerprints.name, 2);
    await host.close();
    await bus.inject(TOPICS.rawLogs.name, [
      { key: null, value: new TextEncoder().encode(JSON.stringify(logs)), headers: {} },
    ]);
    await new Promise((r) => setTimeout(r, 100));
    expect(bus.records(TOPICS.fingerprints.name)).toHaveLength(2);
    await bus.close();
  });

  it('processes batches with bounded concurrency and rejects bad options', async () => {
    const bus = await RecordingBus.memory();
    const ctx = await makeCtx(bus);
    await expect(startLocalHost([fingerprinter], ctx, { maxAttempts: 0 })).rejects.toThrow(/maxAttempts/);
    let active = 0;
    let peak = 0;
    const slow: EventStage<RawLogBatch> = {
      ...fingerprinter,
      async handle(input, c) {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 20));
        active--;
        return fingerprinter.handle(input, c);
      },
    };
    const records = Array.from({ length: 6 }, (_, i) => ({
      key: null,
      value: new TextEncoder().encode(JSON.stringify({ ...logs, records: [logs.records[0]!] })),
      headers: { 'x-n': String(i) },
    }));
    await bus.inject(TOPICS.rawLogs.name, records);
    const host = await startLocalHost([slow], ctx, { concurrency: 3 });
    await bus.waitFor(TOPICS.fingerprints.name, 6);
    await host.close();
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(3);
    await bus.close();
  });

  it('works over a plain MemoryBus too', async () => {
    const inner = new MemoryBus({ autoCreate: true });
    const bus = new RecordingBus(inner);
    const ctx = await makeCtx(bus);
    const host = await startLocalHost([fingerprinter], ctx);
    await bus.publish(TOPICS.rawLogs.name, [
      { key: 'k', value: newEvent(TOPICS.rawLogs, { source: '/t', data: logs }).data, headers: {} },
    ]);
    await bus.waitFor(TOPICS.fingerprints.name, 2);
    await host.close();
    await bus.close();
  });
});

// ---- observability -------------------------------------------------------------------------------------------------

describe('observability', () => {
  it('renders counters, gauges and cumulative histograms in the Prometheus text format', () => {
    const m = createMetrics({ buckets: [0.1, 1] });
    m.counter('jobs_total', 'Jobs done', { stage: 'a"b\\c\nd' });
    m.counter('jobs_total', 'Jobs done', { stage: 'a"b\\c\nd' }, 2);
    m.gauge('queue_depth', 'Queue depth', 7);
    m.observe('latency_seconds', 'Latency', 0.05, { stage: 'x' });
    m.observe('latency_seconds', 'Latency', 0.5, { stage: 'x' });
    m.observe('latency_seconds', 'Latency', 5, { stage: 'x' });
    expect(m.render()).toBe(
      [
        '# HELP jobs_total Jobs done',
        '# TYPE jobs_total counter',
        'jobs_total{stage="a\\"b\\\\c\\nd"} 3',
        '# HELP latency_seconds Latency',
        '# TYPE latency_seconds histogram',
        'latency_seconds_bucket{stage="x",le="0.1"} 1',
        'latency_seconds_bucket{stage="x",le="1"} 2',
        'latency_seconds_bucket{stage="x",le="+Inf"} 3',
        'latency_seconds_sum{stage="x"} 5.55',
        'latency_seconds_count{stage="x"} 3',
        '# HELP queue_depth Queue depth',
        '# TYPE queue_depth gauge',
        'queue_depth 7',
        '',
      ].join('\n'),
    );
    expect(m.value('jobs_total', { stage: 'a"b\\c\nd' })).toBe(3);
    expect(() => m.gauge('jobs_total', 'x', 1)).toThrow(/is a counter/);
    expect(() => m.counter('bad-name', 'x')).toThrow(/invalid metric name/);
    expect(() => m.counter('jobs_total', 'x', {}, -1)).toThrow(/only increase/);
  });

  it('logs JSON lines at or above the configured level', () => {
    const lines: string[] = [];
    const log = createLogger({
      level: 'warn',
      name: 'test',
      write: (l) => lines.push(l),
      now: () => new Date('2024-06-01T00:00:00.000Z'),
    });
    log.info('hidden');
    log.warn('shown', { n: 1, err: new Error('boom') });
    log.error('also shown');
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => l.endsWith('\n'))).toBe(true);
    const first = JSON.parse(lines[0]!);
    expect(first).toMatchObject({
      time: '2024-06-01T00:00:00.000Z',
      level: 'warn',
      name: 'test',
      msg: 'shown',
      n: 1,
    });
    expect(first.err.message).toBe('boom');
    expect(parseLogLevel('DEBUG')).toBe('debug');
    expect(() => parseLogLevel('loud')).toThrow(/invalid log level/);
  });
});
