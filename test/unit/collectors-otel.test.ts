/**
 * The real OpenTelemetry JS SDK exporters against the OTLP collector: traces, metrics and logs over gRPC,
 * HTTP/protobuf and HTTP/JSON. Each export must succeed (ExportResultCode.SUCCESS) and land on the bus as valid
 * per-resource OTLP requests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OTLPTraceExporter as TraceGrpc } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as TraceHttpJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as TraceHttpProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPMetricExporter as MetricGrpc } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as MetricHttpJson } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as MetricHttpProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPLogExporter as LogGrpc } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as LogHttpJson } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as LogHttpProto } from '@opentelemetry/exporter-logs-otlp-proto';
import { TracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace';
import {
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import { LoggerProvider, SimpleLogRecordProcessor, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MemoryBus } from '../../adapters/bus/memory.js';
import type { BusRecord } from '../../core/ports.js';
import { decodeLogs, decodeMetrics, decodeTraces } from '../../core/otlp/decode.js';
import { fromBusRecord } from '../../events/cloudevents.js';
import { ALL_TOPICS, TOPICS, type TopicDef } from '../../events/registry.js';
import { startOtlpCollector, type OtlpCollector } from '../../collectors/otlp.js';

const bus = new MemoryBus({ autoCreate: false });
const published: { topic: string; record: BusRecord }[] = [];
let c: OtlpCollector;

beforeAll(async () => {
  await bus.ensureTopics(
    ALL_TOPICS.map((t) => ({ name: t.name, partitions: 3, retentionMs: t.retentionMs })),
  );
  c = await startOtlpCollector({
    bus: {
      kind: 'rec',
      publish: async (topic, records) => {
        await bus.publish(topic, records);
        for (const record of records) published.push({ topic, record });
      },
      subscribe: (a, b) => bus.subscribe(a, b),
      ensureTopics: (t) => bus.ensureTopics(t),
      close: () => bus.close(),
    },
    objects: null,
    grpcPort: 0,
    httpPort: 0,
  });
});
afterAll(async () => {
  await c.close();
  await bus.close();
});

function take(def: TopicDef): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = published.length - 1; i >= 0; i--) {
    if (published[i]!.topic !== def.name) continue;
    const ev = fromBusRecord(published[i]!.record);
    if (!ev.ok) throw new Error(ev.error);
    out.push(ev.value.data as Uint8Array);
    published.splice(i, 1);
  }
  return out;
}

/** Wraps an exporter to capture the result code of every export call. */
function capturing<
  T extends { export: (items: never, cb: (r: { code: number; error?: Error }) => void) => void },
>(e: T, codes: { code: number; error?: Error }[]): T {
  const orig = e.export.bind(e) as (items: unknown, cb: (r: { code: number; error?: Error }) => void) => void;
  (e as unknown as { export: typeof orig }).export = (items, cb) =>
    orig(items, (r) => {
      codes.push(r);
      cb(r);
    });
  return e;
}

const protocols = ['grpc', 'http/protobuf', 'http/json'] as const;
type Protocol = (typeof protocols)[number];

function endpoint(p: Protocol, path: string): { url: string } {
  return p === 'grpc'
    ? { url: `http://127.0.0.1:${c.grpcPort}` }
    : { url: `http://127.0.0.1:${c.httpPort}${path}` };
}

describe('OpenTelemetry JS SDK exporters → OTLP collector', () => {
  for (const p of protocols) {
    it(`traces over ${p}`, async () => {
      const codes: { code: number; error?: Error }[] = [];
      const Exp = p === 'grpc' ? TraceGrpc : p === 'http/json' ? TraceHttpJson : TraceHttpProto;
      const exporter = capturing(new Exp(endpoint(p, '/v1/traces')) as unknown as SpanExporter, codes);
      const provider = new TracerProvider({
        resource: resourceFromAttributes({ 'service.name': `checkout-${p}` }),
        spanProcessors: [new SimpleSpanProcessor({ exporter })],
      });
      const tracer = provider.getTracer('test');
      for (let i = 0; i < 5; i++) {
        const span = tracer.startSpan(`GET /cart/${i}`, { attributes: { 'http.route': '/cart/:id' } });
        span.end();
      }
      await provider.forceFlush();
      await provider.shutdown();
      expect(codes.length).toBeGreaterThan(0);
      expect(codes.map((x) => x.error?.message ?? x.code)).toEqual(codes.map(() => 0));
      const spans = take(TOPICS.otlpTraces).flatMap((b) => {
        const d = decodeTraces(b);
        if (!d.ok) throw new Error(d.error);
        return d.value;
      });
      expect(spans).toHaveLength(5);
      expect(new Set(spans.map((s) => s.resource['service.name']))).toEqual(new Set([`checkout-${p}`]));
      expect(spans.map((s) => s.name).sort()).toEqual([0, 1, 2, 3, 4].map((i) => `GET /cart/${i}`));
    });

    it(`metrics over ${p}`, async () => {
      const codes: { code: number; error?: Error }[] = [];
      const Exp = p === 'grpc' ? MetricGrpc : p === 'http/json' ? MetricHttpJson : MetricHttpProto;
      const exporter = capturing(new Exp(endpoint(p, '/v1/metrics')) as unknown as PushMetricExporter, codes);
      const provider = new MeterProvider({
        resource: resourceFromAttributes({ 'service.name': `cart-${p}` }),
        readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 600_000 })],
      });
      const meter = provider.getMeter('test');
      meter.createCounter('http.server.requests').add(3, { 'http.route': '/cart' });
      meter
        .createHistogram('http.server.request.duration', { unit: 's' })
        .record(0.12, { 'http.route': '/cart' });
      await provider.forceFlush();
      await provider.shutdown();
      expect(codes.length).toBeGreaterThan(0);
      expect(codes.map((x) => x.error?.message ?? x.code)).toEqual(codes.map(() => 0));
      const points = take(TOPICS.otlpMetrics).flatMap((b) => {
        const d = decodeMetrics(b);
        if (!d.ok) throw new Error(d.error);
        return d.value;
      });
      const names = new Set(points.map((x) => x.name));
      expect(names).toEqual(new Set(['http.server.requests', 'http.server.request.duration']));
      expect(points.every((x) => x.resource['service.name'] === `cart-${p}`)).toBe(true);
    });

    it(`logs over ${p}`, async () => {
      const codes: { code: number; error?: Error }[] = [];
      const Exp = p === 'grpc' ? LogGrpc : p === 'http/json' ? LogHttpJson : LogHttpProto;
      const exporter = capturing(new Exp(endpoint(p, '/v1/logs')) as unknown as LogRecordExporter, codes);
      const provider = new LoggerProvider({
        resource: resourceFromAttributes({ 'service.name': `payments-${p}` }),
        processors: [new SimpleLogRecordProcessor({ exporter })],
      });
      const logger = provider.getLogger('test');
      logger.emit({ body: 'charge declined for order 42', severityText: 'WARN', attributes: { order: 42 } });
      logger.emit({ body: 'charge ok', severityText: 'INFO' });
      await provider.forceFlush();
      await provider.shutdown();
      expect(codes.length).toBeGreaterThan(0);
      expect(codes.map((x) => x.error?.message ?? x.code)).toEqual(codes.map(() => 0));
      const logs = take(TOPICS.otlpLogs).flatMap((b) => {
        const d = decodeLogs(b);
        if (!d.ok) throw new Error(d.error);
        return d.value;
      });
      expect(logs.map((l) => l.body).sort()).toEqual(['charge declined for order 42', 'charge ok']);
      expect(logs.every((l) => l.resource['service.name'] === `payments-${p}`)).toBe(true);
    });
  }
});
