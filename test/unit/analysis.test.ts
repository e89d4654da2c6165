import { describe, expect, it } from 'vitest';
import { Recommendations } from '../../events/schemas.js';
import { validate } from '../../events/validate.js';
import {
  analyse,
  chooseObjective,
  discoverJourneys,
  fractionBelow,
  isProbe,
  journeyId,
  quantileMs,
  resolveSource,
  type AnalysisInput,
} from '../../core/analysis/index.js';
import { analysisFixture, BOUNDS_MS, WINDOW } from '../golden/fixtures.js';

const rec = analyse(analysisFixture(), { requestId: 'req-1' });
const journey = (id: string) => {
  const j = rec.journeys.find((x) => x.id === id);
  if (!j) throw new Error(`no journey ${id}; have ${rec.journeys.map((x) => x.id).join(', ')}`);
  return j;
};
const sli = (jid: string, kind: string) => {
  const s = journey(jid).slis.find((x) => x.kind === kind);
  if (!s) throw new Error(`no ${kind} SLI on ${jid}`);
  return s;
};

describe('analyse: output contract', () => {
  it('validates against the Recommendations schema', () => {
    const r = validate(Recommendations, rec);
    expect(r.ok ? 'ok' : r.error).toBe('ok');
  });

  it('is deterministic and stamps generated_at with the window end unless now is given', () => {
    expect(analyse(analysisFixture(), { requestId: 'req-1' })).toEqual(rec);
    expect(rec.generated_at).toBe('2026-03-01T06:00:00.000Z');
    const now = new Date('2026-03-02T00:00:00.000Z');
    expect(analyse(analysisFixture(), { requestId: 'x', now }).generated_at).toBe(now.toISOString());
  });

  it('rejects an empty or inverted window with a clear error', () => {
    const input: AnalysisInput = { ...analysisFixture(), window: { start: WINDOW.end, end: WINDOW.start } };
    expect(() => analyse(input, { requestId: 'r' })).toThrow(/window must end after it starts/);
  });
});

describe('analyse: journeys', () => {
  it('finds server and consumer entry points, excluding probes, scrapes, client and internal spans', () => {
    expect(rec.journeys.map((j) => j.id).sort()).toEqual([
      'catalog-get-api-products-id',
      'checkout-post-api-checkout',
      'fraud-post-score',
      'inventory-inventory-v1-inventoryservice-reserve',
      'orders-worker-process-order-events',
      'payments-post-charge',
    ]);
  });

  it('recognises health checks, gRPC health and kube-probe traffic', () => {
    for (const operation of [
      'GET /healthz',
      'GET /readyz',
      'GET /livez',
      'GET /metrics',
      'GET /ping',
      'HEAD /health/',
      'GET /api/v1/healthz',
    ])
      expect(isProbe({ operation }), operation).toBe(true);
    expect(isProbe({ operation: 'grpc.health.v1.Health/Check' })).toBe(true);
    expect(isProbe({ operation: 'GET /warm', userAgents: ['kube-probe/1.30'] })).toBe(true);
    expect(isProbe({ operation: 'GET /warm', userAgents: ['kube-probe/1.30', 'Mozilla/5.0'] })).toBe(false);
    expect(isProbe({ operation: 'GET /api/health-insurance' })).toBe(false);
    expect(isProbe({ operation: 'POST /api/checkout' })).toBe(false);
  });

  it('names journeys readably with stable slug ids and marks consumers async', () => {
    const c = journey('checkout-post-api-checkout');
    expect(c.name).toBe('checkout: POST /api/checkout');
    expect(c.entrypoint).toBe('POST /api/checkout');
    expect(c.kind).toBe('request');
    expect(journey('orders-worker-process-order-events').kind).toBe('async');
    expect(journeyId('checkout', 'POST /api/checkout')).toBe('checkout-post-api-checkout');
    const long = journeyId(
      'a-really-long-service-name',
      'GET /api/v2/customers/{customerId}/orders/{orderId}/items',
    );
    expect(long.length).toBeLessThanOrEqual(48);
    expect(long).toBe(
      journeyId('a-really-long-service-name', 'GET /api/v2/customers/{customerId}/orders/{orderId}/items'),
    );
    expect(long).not.toBe(
      journeyId('a-really-long-service-name', 'GET /api/v2/customers/{customerId}/orders/{orderId}/itemz'),
    );
  });

  it('computes rps and error ratio over the window only (rollups outside are ignored)', () => {
    const c = journey('checkout-post-api-checkout');
    // 30/min for 360 minutes = 10800 requests over 21600 s; 18 errors (one every 20 minutes).
    expect(c.rps).toBe(0.5);
    expect(c.error_ratio).toBeCloseTo(18 / 10800, 6);
  });

  it('computes latency quantiles from the buckets', () => {
    // Per minute: [0,2,5,10,8,3,1,1,...] over bounds 5,10,25,50,100,250,500,1000 ms.
    expect(journey('checkout-post-api-checkout').latency_ms).toMatchObject({
      p50: 45,
      p90: 200,
      p95: 375,
      p99: 850,
    });
    expect(quantileMs(BOUNDS_MS, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5], 0.5)).toBe(10000);
    expect(quantileMs(BOUNDS_MS, new Array(12).fill(0), 0.5)).toBe(0);
    expect(fractionBelow([10, 20], [5, 5, 0], 15)).toBe(0.75);
  });

  it('lists transitive dependencies from the call graph, surviving cycles', () => {
    const c = journey('checkout-post-api-checkout');
    expect(c.dependencies).toEqual(
      expect.arrayContaining([
        'payments: POST /charge',
        'fraud: POST /score',
        'orders-worker: process order-events',
        'checkout: SELECT orders',
      ]),
    );
    expect(c.dependencies.indexOf('payments: POST /charge')).toBeLessThan(
      c.dependencies.indexOf('fraud: POST /score'),
    );
    expect((c as { dependency_services?: string[] }).dependency_services).toEqual([
      'fraud',
      'inventory',
      'orders-worker',
      'payments',
    ]);
    expect(journey('catalog-get-api-products-id').dependencies).toEqual([]);
  });

  it('ranks by traffic, user-facing-ness and errors; flags but keeps low-traffic journeys', () => {
    expect(rec.journeys[0]!.id).toBe('checkout-post-api-checkout');
    expect(journey('checkout-post-api-checkout').criticality).toBe('high');
    expect(journey('payments-post-charge').criticality).toBe('medium');
    const cat = journey('catalog-get-api-products-id');
    expect(cat.low_traffic).toBe(true);
    expect(cat.criticality).not.toBe('high');
    expect(journey('checkout-post-api-checkout').low_traffic).toBe(false);
    expect(rec.journeys.map((j) => (j as { rank?: number }).rank)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('attaches the most error-prone log templates of the service', () => {
    const t = (journey('checkout-post-api-checkout') as { log_templates?: { template_id: string }[] })
      .log_templates;
    expect(t?.map((x) => x.template_id)).toEqual(['t-declined', 't-created']);
  });
});

describe('analyse: SLIs and queries', () => {
  it('targets OTel semconv HTTP metrics when the inventory has them', () => {
    const a = sli('checkout-post-api-checkout', 'availability') as {
      bad_query?: string;
      total_query?: string;
    };
    expect(a.bad_query).toBe(
      'sum(rate(http_server_request_duration_seconds_count{service_name="checkout", http_route="/api/checkout", http_request_method="POST", http_response_status_code=~"5.."}[{{.window}}]))',
    );
    expect(a.total_query).toContain('http_server_request_duration_seconds_count{service_name="checkout"');
  });

  it('targets client-library http_requests_total for services that expose it', () => {
    const a = sli('payments-post-charge', 'availability') as { bad_query?: string };
    expect(a.bad_query).toBe(
      'sum(rate(http_requests_total{job="payments", handler="/charge", method="POST", code=~"5.."}[{{.window}}]))',
    );
    expect(sli('payments-post-charge', 'availability').evidence.join('\n')).toMatch(
      /no service label; selecting by job="payments"/,
    );
  });

  it('counts gRPC server-fault codes as bad', () => {
    const a = sli('inventory-inventory-v1-inventoryservice-reserve', 'availability') as {
      bad_query?: string;
    };
    expect(a.bad_query).toContain(
      'grpc_code=~"Unknown|DeadlineExceeded|Unimplemented|Internal|Unavailable|DataLoss"',
    );
    expect(a.bad_query).toContain('grpc_service="inventory.v1.InventoryService", grpc_method="Reserve"');
    const otel = resolveSource({ service: 's', entrypoint: 'pkg.v1.Svc/Do', kind: 'request' }, [
      {
        name: 'rpc_server_call_duration_seconds',
        type: 'histogram',
        labels: ['rpc_grpc_status_code', 'rpc_method', 'rpc_service', 'service_name'],
      },
    ]);
    expect(otel.kind).toBe('otel-rpc');
    expect(otel.badMatcher).toBe('rpc_grpc_status_code=~"2|4|12|13|14|15"');
  });

  it('falls back to span metrics, and says so in evidence, when the inventory has nothing relevant', () => {
    const a = sli('fraud-post-score', 'availability') as { bad_query?: string };
    expect(a.bad_query).toBe(
      'sum(rate(slo_scout_span_calls_total{service="fraud", operation="POST /score", status="error"}[{{.window}}]))',
    );
    expect(sli('fraud-post-score', 'availability').evidence.join('\n')).toMatch(
      /no HTTP server metric .* using SLO-Scout span metrics slo_scout_span_calls_total/,
    );
    const l = sli('fraud-post-score', 'latency');
    expect(l.good_query).toBe(
      'sum(rate(slo_scout_span_duration_seconds_bucket{service="fraud", operation="POST /score", le="0.25"}[{{.window}}]))',
    );
  });

  it('chooses latency thresholds on a histogram bucket boundary above p99 * headroom', () => {
    const c = sli('checkout-post-api-checkout', 'latency');
    // p99 850 ms * 1.2 = 1020 ms; inventory buckets ... 1, 2.5 s -> 2500 ms.
    expect(c.threshold_ms).toBe(2500);
    expect(c.good_query).toContain('le="2.5"');
    // catalog: p99 49.75 ms * 1.2 = 59.7 -> 0.075 s bucket of the OTel histogram (not a rollup bound: interpolated).
    const cat = sli('catalog-get-api-products-id', 'latency');
    expect(cat.threshold_ms).toBe(75);
    expect(cat.evidence.join('\n')).toMatch(/interpolated/);
    // payments: client-library histogram buckets 0.01..1 s; p99 97 ms * 1.2 -> 250 ms.
    expect(sli('payments-post-charge', 'latency').threshold_ms).toBe(250);
  });

  it('matches integer le values in both Prometheus 2 and 3 formats', () => {
    const j = discoverJourneys(analysisFixture()).find((x) => x.id === 'checkout-post-api-checkout')!;
    const slow = { ...j, latencyMs: { ...j.latencyMs, p99: 2000 } };
    const src = resolveSource(slow, analysisFixture().inventory);
    expect(src.histogram?.boundsMs).toContain(2500);
    const r = analyse(
      { ...analysisFixture(), inventory: [{ ...analysisFixture().inventory[0]!, buckets: [0.5, 1, 5] }] },
      { requestId: 'r' },
    );
    const l = r.journeys
      .find((x) => x.id === 'checkout-post-api-checkout')!
      .slis.find((s) => s.kind === 'latency')!;
    expect(l.threshold_ms).toBe(5000);
    expect(l.good_query).toContain('le=~"5|5\\\\.0"');
  });

  it('uses a consumer-lag gauge for async freshness when present, processing latency otherwise', () => {
    const f = sli('orders-worker-process-order-events', 'freshness');
    expect(f.ratio_query).toBe(
      'avg_over_time((max(kafka_consumergroup_lag{topic="order-events", consumergroup="orders-worker"}) <= bool 1000)[{{.window}}:1m])',
    );
    expect(journey('orders-worker-process-order-events').slis.map((s) => s.kind)).toEqual([
      'availability',
      'freshness',
    ]);
    const noLag = analyse({ ...analysisFixture(), inventory: [] }, { requestId: 'r' });
    const f2 = noLag.journeys
      .find((j) => j.id === 'orders-worker-process-order-events')!
      .slis.find((s) => s.kind === 'freshness')!;
    expect(f2.threshold_ms).toBe(2500); // p99 850 ms * 1.2 = 1020 ms -> next span-metric bound 2500 ms
    expect(f2.good_query).toContain('slo_scout_span_duration_seconds_bucket');
    expect(f2.evidence.join('\n')).toMatch(/no consumer-lag metric/);
  });

  it('every SLI uses the 30d window, has evidence and a {{.window}} placeholder', () => {
    for (const j of rec.journeys)
      for (const s of j.slis) {
        expect(s.window).toBe('30d');
        expect(s.evidence.length).toBeGreaterThanOrEqual(3);
        expect(s.good_query ?? s.ratio_query).toContain('{{.window}}');
      }
  });
});

describe('analyse: objectives', () => {
  it('recommends the strictest ladder target history meets with 70% margin, with expected burn', () => {
    const a = sli('checkout-post-api-checkout', 'availability');
    // Error ratio 0.1667%: 99.9 (budget 0.1%) fails, 99.5 (0.35% allowed) passes.
    expect(a.objective).toBe(99.5);
    expect(a.observed.expected_burn_rate).toBeCloseTo(0.001667 / 0.005, 3);
    expect(a.evidence.join('\n')).toMatch(
      /rejected 99.99% .*99.95% .*99.9% \(steady-state 0.1667% > 70% of budget 0.1%\)/,
    );
    // One error in 10800 requests: steady state 0.0093% rejects 99.99 (0.007% allowed), 99.95 holds.
    expect(sli('payments-post-charge', 'availability').objective).toBe(99.95);
  });

  it('sets the target from the steady state (calm hours) and makes incidents fit in the period budget', () => {
    const hours = (n: number, bad: (i: number) => number, total = 1000) =>
      Array.from({ length: n }, (_, i) => ({
        hour: new Date(Date.UTC(2026, 0, 1, i)).toISOString(),
        total,
        bad: bad(i),
      }));
    // Two days; day 2 runs at 0.3% errors: the hourly p75 is 0.3%, so 99.9 is rejected and 99.5 accepted.
    const h = hours(48, (i) => (i >= 24 ? 3 : 0));
    const c = chooseObjective({ total: 48000, bad: 72, hours: h });
    expect(c.objective).toBe(99.5);
    expect(c.evidence.join('\n')).toMatch(/p75 of 48 calm hourly ratios 0.3%/);
    // One incident hour (5%) among 10 clean ones does not set the steady state, but its 50 bad events must fit in
    // half of a 30d budget at 10k events per 10 h: 99.99 (36 allowed) is rejected, 99.95 (180) accepted.
    const spike = chooseObjective({ total: 10000, bad: 50, hours: hours(10, (i) => (i === 5 ? 50 : 0)) });
    expect(spike.observed.p90_hour_error_ratio).toBe(0);
    expect(spike.observed.incident_hours).toBe(1);
    expect(spike.objective).toBe(99.95);
    expect(spike.evidence.join('\n')).toMatch(/99.99% \(50 bad events > 50% of one 30d budget 72/);
  });

  it('needs enough volume for strict targets and falls back to the lowest rung with low confidence', () => {
    expect(chooseObjective({ total: 500, bad: 0, hours: [] }).objective).toBe(99.5); // 99.9 would allow 0.5 events
    const bad = chooseObjective({ total: 1000, bad: 300, hours: [] });
    expect(bad.objective).toBe(90);
    expect(bad.meetsHistory).toBe(false);
    expect(bad.evidence.join('\n')).toMatch(/no objective on the ladder is supported by history/);
    expect(bad.confidence).toBeLessThan(0.3);
    const big = chooseObjective({ total: 1e6, bad: 0, hours: [] });
    expect(big.objective).toBe(99.99);
    expect(big.confidence).toBeGreaterThan(bad.confidence);
  });
});
