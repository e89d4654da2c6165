import { beforeAll, describe, expect, it } from 'vitest';
import {
  DEMO_JOURNEYS,
  DEMO_SERVICES,
  demoGroundTruth,
  demoWorkload,
  HTTP_DURATION_BOUNDS,
  luhnCard,
  luhnValid,
  type DemoBatch,
} from '../../core/demo/workload.js';
import { rng } from '../../core/random.js';
import { decodeLogs, decodeMetrics, decodeTraces } from '../../core/otlp/decode.js';
import { encodeLogs, encodeMetrics, encodeTraces } from '../../core/otlp/encode.js';
import { SpanKind, StatusCode, type SpanModel } from '../../core/otlp/model.js';

const END = new Date('2024-06-01T12:00:30Z');
const opts = { seed: 42, end: END };

type Span = SpanModel;
let batches: DemoBatch[];
let spans: Span[];

function flatten(bs: readonly DemoBatch[]): Span[] {
  return bs.flatMap((b) =>
    b.traces.flatMap((g) => g.spans.map((s) => ({ ...s, resource: g.resource, scope: g.scope }))),
  );
}

beforeAll(() => {
  batches = [...demoWorkload(opts)];
  spans = flatten(batches);
});

const svc = (s: Span) => s.resource['service.name'] as string;
const ms = (nanos: string) => Number(BigInt(nanos) / 1_000_000n);

describe('demo workload', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = [...demoWorkload({ seed: 7, end: END, hours: 0.5 })];
    const b = [...demoWorkload({ seed: 7, end: END, hours: 0.5 })];
    const c = [...demoWorkload({ seed: 8, end: END, hours: 0.5 })];
    expect(a).toEqual(b);
    expect(flatten(a).map((s) => s.traceId)).not.toEqual(flatten(c).map((s) => s.traceId));
  });

  it('covers the range minute by minute with bounded volume', () => {
    const truth = demoGroundTruth(opts);
    expect(truth.endMs).toBe(Date.parse('2024-06-01T12:00:00Z'));
    expect(batches).toHaveLength(360);
    expect(batches[0]!.minuteStartMs).toBe(truth.startMs);
    batches.forEach((b, i) => expect(b.minuteStartMs).toBe(truth.startMs + i * 60_000));
    expect(spans.length).toBeGreaterThan(30_000);
    expect(spans.length).toBeLessThan(60_000);
    for (const s of spans) {
      expect(ms(s.startTimeUnixNano)).toBeGreaterThanOrEqual(truth.startMs);
      expect(ms(s.startTimeUnixNano)).toBeLessThan(truth.endMs + 5_000);
      expect(BigInt(s.endTimeUnixNano) >= BigInt(s.startTimeUnixNano)).toBe(true);
    }
    // rpsScale scales user traffic.
    const quiet = flatten([...demoWorkload({ ...opts, hours: 1, rpsScale: 0 })]);
    expect(quiet.every((s) => ['/healthz', '/metrics'].includes(String(s.attributes['http.route'])))).toBe(
      true,
    );
  });

  it('emits every service, journey entry route, health check and scrape', () => {
    expect(new Set(spans.map(svc))).toEqual(new Set(DEMO_SERVICES));
    const roots = spans.filter((s) => s.parentSpanId === '');
    const ingressRoutes = new Set(
      roots.filter((s) => svc(s) === 'frontend').map((s) => s.attributes['http.route']),
    );
    for (const j of DEMO_JOURNEYS) expect(ingressRoutes, j.id).toContain(j.route);
    for (const service of DEMO_SERVICES) {
      const probes = roots.filter((s) => svc(s) === service && s.attributes['http.route'] === '/healthz');
      expect(probes).toHaveLength(2 * 360);
      expect(
        roots.filter((s) => svc(s) === service && s.attributes['http.route'] === '/metrics'),
      ).toHaveLength(360);
    }
    const unrouted = roots.filter(
      (s) => s.kind === SpanKind.SERVER && s.attributes['http.route'] === undefined,
    );
    expect(unrouted.length).toBeGreaterThan(50);
    expect(unrouted.every((s) => s.attributes['http.response.status_code'] === 404)).toBe(true);
    const admin = roots.filter((s) => s.attributes['http.route'] === '/admin/reports').length;
    expect(admin).toBeGreaterThan(5);
    expect(admin).toBeLessThan(80);
  });

  it('builds consistent trace trees across services', () => {
    const byTrace = new Map<string, Span[]>();
    for (const s of spans) byTrace.set(s.traceId, [...(byTrace.get(s.traceId) ?? []), s]);
    const ids = new Set<string>();
    for (const [traceId, list] of byTrace) {
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      const byId = new Map(list.map((s) => [s.spanId, s]));
      expect(byId.size).toBe(list.length);
      expect(list.filter((s) => s.parentSpanId === '')).toHaveLength(1);
      for (const s of list) {
        expect(s.spanId).toMatch(/^[0-9a-f]{16}$/);
        expect(ids.has(s.spanId)).toBe(false);
        ids.add(s.spanId);
        if (s.parentSpanId === '') continue;
        const parent = byId.get(s.parentSpanId);
        expect(parent, `parent of ${s.name}`).toBeDefined();
        if (s.kind === SpanKind.CONSUMER) {
          expect(parent!.kind).toBe(SpanKind.PRODUCER);
          expect(parent!.attributes['messaging.destination.name']).toBe('order-events');
          expect(s.attributes['messaging.system']).toBe('kafka');
          continue;
        }
        // Synchronous children nest inside their parent.
        expect(BigInt(s.startTimeUnixNano) >= BigInt(parent!.startTimeUnixNano)).toBe(true);
        if (parent!.kind !== SpanKind.CONSUMER)
          expect(BigInt(s.endTimeUnixNano) <= BigInt(parent!.endTimeUnixNano)).toBe(true);
        if (s.kind === SpanKind.SERVER) {
          // Every SERVER span with a parent is called by a CLIENT span of another service addressing it.
          expect(parent!.kind).toBe(SpanKind.CLIENT);
          expect(svc(parent!)).not.toBe(svc(s));
          expect(parent!.attributes['server.address']).toBe(svc(s));
        }
      }
      // Every HTTP/gRPC CLIENT span has exactly one SERVER child in the callee.
      for (const c of list.filter(
        (s) => s.kind === SpanKind.CLIENT && s.attributes['db.system'] === undefined,
      )) {
        const servers = list.filter((s) => s.parentSpanId === c.spanId && s.kind === SpanKind.SERVER);
        expect(servers).toHaveLength(1);
        expect(svc(servers[0]!)).toBe(c.attributes['server.address']);
      }
    }
  });

  it('uses the HTTP, RPC and messaging semantic conventions', () => {
    const httpServers = spans.filter(
      (s) => s.kind === SpanKind.SERVER && s.attributes['rpc.system'] === undefined,
    );
    for (const s of httpServers) {
      expect(typeof s.attributes['http.request.method']).toBe('string');
      expect(typeof s.attributes['http.response.status_code']).toBe('number');
      expect(typeof s.attributes['url.path']).toBe('string');
      expect(s.attributes['server.address']).toBe(svc(s));
    }
    // users' instrumentation lacks http.route; its url.path carries ids and uuids to template.
    const users = httpServers.filter((s) => svc(s) === 'users' && s.attributes['http.route'] === undefined);
    expect(users.length).toBeGreaterThan(100);
    expect(
      users.some((s) =>
        /^\/users\/\d+\/orders\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(
          String(s.attributes['url.path']),
        ),
      ),
    ).toBe(true);
    const grpc = spans.filter((s) => s.attributes['rpc.system'] === 'grpc');
    expect(new Set(grpc.map((s) => s.name))).toEqual(
      new Set([
        'shop.PaymentService/Charge',
        'shop.ShippingService/ShipOrder',
        'shop.CatalogService/GetProduct',
      ]),
    );
    expect(grpc.every((s) => typeof s.attributes['rpc.grpc.status_code'] === 'number')).toBe(true);
    expect(spans.some((s) => s.kind === SpanKind.CONSUMER && svc(s) === 'order-worker')).toBe(true);
  });

  it('contains the incidents: payment outage and catalog latency regression', () => {
    const truth = demoGroundTruth(opts);
    const outage = truth.incidents.find((i) => i.id === 'payment-outage')!;
    const slow = truth.incidents.find((i) => i.id === 'catalog-latency')!;
    const inside = (s: Span, i: { startMs: number; endMs: number }) =>
      ms(s.startTimeUnixNano) >= i.startMs && ms(s.startTimeUnixNano) < i.endMs;

    const checkouts = spans.filter(
      (s) => s.parentSpanId === '' && s.attributes['http.route'] === '/api/checkout',
    );
    const rate = (xs: Span[]) =>
      xs.filter((s) => s.attributes['http.response.status_code'] === 503).length / xs.length;
    expect(rate(checkouts.filter((s) => inside(s, outage)))).toBeGreaterThan(0.5);
    expect(rate(checkouts.filter((s) => !inside(s, outage)))).toBe(0);
    const charges = spans.filter(
      (s) => s.kind === SpanKind.SERVER && s.name === 'shop.PaymentService/Charge',
    );
    expect(
      charges.some((s) => s.attributes['rpc.grpc.status_code'] === 14 && s.statusCode === StatusCode.ERROR),
    ).toBe(true);

    const catalog = spans.filter((s) => svc(s) === 'catalog' && s.attributes['http.route'] === '/products');
    const median = (xs: Span[]) => {
      const d = xs
        .map((s) => Number(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)))
        .sort((a, b) => a - b);
      return d[Math.floor(d.length / 2)]!;
    };
    expect(median(catalog.filter((s) => inside(s, slow)))).toBeGreaterThan(
      2.5 * median(catalog.filter((s) => !inside(s, slow))),
    );
  });

  it('puts PII in log bodies and attributes', () => {
    const logs = batches.flatMap((b) => b.logs.flatMap((g) => g.logs));
    const text = logs.map((l) => `${l.body} ${JSON.stringify(l.attributes)}`).join('\n');
    expect(text).toMatch(/[a-z]+\.[a-z]+\d+@(?:mail\.)?example\.(?:com|org|net)/);
    expect(text).toMatch(/\b(?:203\.0\.113|198\.51\.100)\.\d{1,3}\b/);
    expect(text).toMatch(/Bearer eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/);
    expect(text).toMatch(/\+1-415-555-\d{4}|\+44 20 7946 \d{4}/);
    const cards = text.match(/\b4\d{15}\b/g) ?? [];
    expect(cards.length).toBeGreaterThan(10);
    expect(cards.every(luhnValid)).toBe(true);
    // Logs link to their traces.
    const traceIds = new Set(spans.map((s) => s.traceId));
    expect(logs.filter((l) => l.traceId).every((l) => traceIds.has(l.traceId))).toBe(true);
  });

  it('emits http.server.request.duration histograms matching the server spans', () => {
    for (const b of batches.slice(0, 30)) {
      const serverSpans = flatten([b]).filter(
        (s) => s.kind === SpanKind.SERVER && s.attributes['rpc.system'] === undefined,
      );
      const points = b.metrics.flatMap((g) => g.points);
      expect(points.every((p) => p.name === 'http.server.request.duration' && p.unit === 's')).toBe(true);
      let total = 0;
      for (const p of points) {
        expect(p.histogram!.explicitBounds).toEqual([...HTTP_DURATION_BOUNDS]);
        expect(p.histogram!.bucketCounts.reduce((a, c) => a + c, 0)).toBe(p.histogram!.count);
        total += p.histogram!.count;
      }
      expect(total).toBe(serverSpans.length);
    }
  });

  it('round-trips through the OTLP protobuf codec', () => {
    const b = batches[200]!;
    const t = decodeTraces(encodeTraces(b.traces));
    expect(t.ok && t.value).toEqual(flatten([b]));
    const l = decodeLogs(encodeLogs(b.logs));
    expect(l.ok && l.value.length).toBe(b.logs.reduce((n, g) => n + g.logs.length, 0));
    const m = decodeMetrics(encodeMetrics(b.metrics));
    expect(m.ok && m.value).toEqual(
      b.metrics.flatMap((g) => g.points.map((p) => ({ ...p, resource: g.resource }))),
    );
  });

  it('generates Luhn-valid card numbers', () => {
    const r = rng(1);
    for (let i = 0; i < 50; i++) expect(luhnValid(luhnCard(r))).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('4111111111111111')).toBe(true);
  });
});
