/**
 * `npm run bench -- analyze [--spans N] [--json-spans N]`: spans -> per-minute rollups + call edges (streamed, never
 * held) -> recommendations (journeys, SLIs, objectives, back-tests).
 *
 * Main measurement: N (default 10M) in-memory span records (core/stream StreamSpan, what the OTLP/JSON walker
 * produces), generated chunk by chunk from a 12-span trace template (a gateway fanning out to three services, a DB
 * call, a queue consumer, probes) with fresh span ids and shifted timestamps, so memory stays bounded. Baseline in
 * the same run: generating the same spans without analysing them. Secondary measurement: the OTLP/JSON-lines path
 * (JSON.parse + walk + accumulate) on a smaller sample, with JSON.parse alone as its baseline.
 */
import { analyse } from '../core/analysis/index.js';
import { walkTracesJson } from '../core/stream/otlp-json.js';
import { SpanAccumulator, type StreamSpan } from '../core/stream/spans.js';
import type { Attrs } from '../core/otlp/model.js';
import { SpanKind } from '../core/otlp/model.js';

interface TSpan {
  readonly service: string;
  readonly id: number;
  readonly parent: number;
  readonly name: string;
  readonly kind: number;
  readonly offsetMs: number;
  readonly durationMs: number;
  readonly attributes: Attrs;
}

const http = (method: string, route: string, code = 200): Attrs => ({
  'http.request.method': method,
  'http.route': route,
  'http.response.status_code': code,
});

/** One trace, children listed before parents (as exporters send them). */
const TEMPLATE: readonly TSpan[] = [
  { service: 'cart', id: 5, parent: 4, name: 'SELECT cart', kind: SpanKind.CLIENT, offsetMs: 3, durationMs: 2, attributes: { 'db.system': 'postgresql' } },
  { service: 'cart', id: 4, parent: 3, name: 'GET /v1/carts/{id}', kind: SpanKind.SERVER, offsetMs: 2, durationMs: 8, attributes: http('GET', '/v1/carts/{id}') },
  { service: 'web', id: 3, parent: 1, name: 'GET', kind: SpanKind.CLIENT, offsetMs: 1, durationMs: 10, attributes: { 'http.request.method': 'GET', 'server.address': 'cart', 'http.response.status_code': 200 } },
  { service: 'pricing', id: 7, parent: 6, name: 'pricing.v1.Pricing/Quote', kind: SpanKind.SERVER, offsetMs: 12, durationMs: 15, attributes: { 'rpc.system': 'grpc', 'rpc.service': 'pricing.v1.Pricing', 'rpc.method': 'Quote', 'rpc.grpc.status_code': 0 } },
  { service: 'web', id: 6, parent: 1, name: 'pricing.v1.Pricing/Quote', kind: SpanKind.CLIENT, offsetMs: 11, durationMs: 17, attributes: { 'rpc.system': 'grpc', 'rpc.service': 'pricing.v1.Pricing', 'rpc.method': 'Quote' } },
  { service: 'orders', id: 9, parent: 8, name: 'INSERT orders', kind: SpanKind.CLIENT, offsetMs: 31, durationMs: 4, attributes: { 'db.system': 'postgresql' } },
  { service: 'orders', id: 8, parent: 2, name: 'POST /v1/orders', kind: SpanKind.SERVER, offsetMs: 30, durationMs: 20, attributes: http('POST', '/v1/orders') },
  { service: 'web', id: 10, parent: 8, name: 'order-events publish', kind: SpanKind.PRODUCER, offsetMs: 45, durationMs: 1, attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': 'order-events' } },
  { service: 'mailer', id: 11, parent: 10, name: 'order-events process', kind: SpanKind.CONSUMER, offsetMs: 120, durationMs: 40, attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': 'order-events' } },
  { service: 'web', id: 2, parent: 1, name: 'POST', kind: SpanKind.CLIENT, offsetMs: 29, durationMs: 22, attributes: { 'http.request.method': 'POST', 'server.address': 'orders', 'http.response.status_code': 200 } },
  { service: 'web', id: 1, parent: 0, name: 'POST /api/checkout', kind: SpanKind.SERVER, offsetMs: 0, durationMs: 55, attributes: http('POST', '/api/checkout') },
  { service: 'web', id: 12, parent: 0, name: 'GET /healthz', kind: SpanKind.SERVER, offsetMs: 0, durationMs: 0.3, attributes: { ...http('GET', '/healthz'), 'user_agent.original': 'kube-probe/1.29' } },
]; // prettier-ignore

const ERR_ATTRS: Attrs = http('POST', '/api/checkout', 503);
const START = Date.UTC(2026, 2, 1);

/** Emits `n` spans: traces from the template, 1 000 traces per simulated second, about 1% failing. */
function generate(n: number, onSpan: (service: string, s: StreamSpan) => void): void {
  const per = TEMPLATE.length;
  const ids = TEMPLATE.map((t) => t.id.toString(16));
  let emitted = 0;
  for (let trace = 0; emitted < n; trace++) {
    const base = START + trace; // 1 ms apart: 60 000 traces per minute
    const prefix = trace.toString(36) + '.';
    const fail = trace % 97 === 0;
    for (let i = 0; i < per && emitted < n; i++, emitted++) {
      const t = TEMPLATE[i]!;
      onSpan(t.service, {
        spanId: prefix + ids[i]!,
        parentSpanId: t.parent ? prefix + t.parent.toString(16) : '',
        name: t.name,
        kind: t.kind,
        startMs: base + t.offsetMs,
        durationMs: t.durationMs * (1 + (trace % 7) / 3),
        statusCode: 0,
        attributes: fail && t.id === 1 ? ERR_ATTRS : t.attributes,
      });
    }
  }
}

const mb = (b: number) => Math.round((b / 1048576) * 10) / 10;

function jsonLines(spans: number): string[] {
  const lines: string[] = [];
  let batch = new Map<string, unknown[]>();
  let count = 0;
  const flush = () => {
    for (const [svc, list] of batch) {
      lines.push(
        JSON.stringify({
          resourceSpans: [
            {
              resource: { attributes: [{ key: 'service.name', value: { stringValue: svc } }] },
              scopeSpans: [{ scope: { name: 'bench' }, spans: list }],
            },
          ],
        }),
      );
    }
    batch = new Map();
  };
  generate(spans, (svc, s) => {
    let b = batch.get(svc);
    if (!b) batch.set(svc, (b = []));
    const ns = (ms: number) => `${Math.floor(ms)}${String(Math.round((ms % 1) * 1e6)).padStart(6, '0')}`;
    b.push({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: s.spanId,
      parentSpanId: s.parentSpanId,
      name: s.name,
      kind: s.kind,
      startTimeUnixNano: ns(s.startMs),
      endTimeUnixNano: ns(s.startMs + s.durationMs),
      attributes: Object.entries(s.attributes).map(([key, v]) => ({
        key,
        value: typeof v === 'string' ? { stringValue: v } : { intValue: String(v) },
      })),
      status: {},
    });
    if (++count % 512 === 0) flush();
  });
  flush();
  return lines;
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const arg = (name: string, def: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : def;
  };
  const spans = arg('--spans', 10_000_000);
  const jsonSpans = arg('--json-spans', 300_000);
  let peakRss = process.memoryUsage().rss;
  const sample = () => {
    const r = process.memoryUsage().rss;
    if (r > peakRss) peakRss = r;
  };
  const timer = setInterval(sample, 50);

  // baseline: generate the spans only
  let sink = 0;
  let t = performance.now();
  generate(spans, (_svc, s) => {
    sink += s.durationMs;
  });
  const baselineS = (performance.now() - t) / 1000;
  process.stderr.write(`bench analyze: baseline (generate ${spans} spans) ${baselineS.toFixed(2)} s\n`);

  // main: generate + accumulate + analyse
  const rssBefore = process.memoryUsage().rss;
  t = performance.now();
  const t0 = t;
  const acc = new SpanAccumulator();
  let k = 0;
  generate(spans, (svc, s) => {
    acc.add(svc, s);
    if ((++k & 0xfffff) === 0) sample();
  });
  const input = acc.result()!;
  const tAcc = performance.now();
  const rec = analyse({ ...input, inventory: [] }, { requestId: 'bench' });
  const seconds = (performance.now() - t) / 1000;
  sample();
  process.stderr.write(`bench analyze: ${spans} spans -> recommendations in ${seconds.toFixed(2)} s\n`);

  // secondary: OTLP/JSON lines
  const lines = jsonLines(jsonSpans);
  t = performance.now();
  for (const l of lines) sink += (JSON.parse(l) as { resourceSpans: unknown[] }).resourceSpans.length;
  const parseS = (performance.now() - t) / 1000;
  t = performance.now();
  const acc2 = new SpanAccumulator();
  for (const l of lines) walkTracesJson(JSON.parse(l), (svc, s) => acc2.add(svc, s));
  analyse({ ...acc2.result()!, inventory: [] }, { requestId: 'bench-json' });
  const jsonS = (performance.now() - t) / 1000;
  const bytes = lines.reduce((n, l) => n + l.length + 1, 0);
  clearInterval(timer);
  sample();

  return {
    input:
      'in-memory span records (core/stream StreamSpan, as the OTLP/JSON walker yields them), generated chunk-wise ' +
      'from a 12-span trace template with fresh ids and timestamps; not decoded from bytes in the timed loop',
    spans,
    seconds: Math.round(seconds * 1000) / 1000,
    spans_per_s: Math.round(spans / seconds),
    accumulate_seconds: Math.round((tAcc - t0) / 10) / 100,
    analyse_seconds: Math.round((seconds - (tAcc - t0) / 1000) * 100) / 100,
    peak_rss_mb: mb(peakRss),
    rss_growth_mb: mb(peakRss - rssBefore),
    baseline: {
      what: 'generating the same spans without analysing them',
      seconds: Math.round(baselineS * 1000) / 1000,
    },
    ratio_vs_baseline: Math.round((seconds / baselineS) * 100) / 100,
    journeys: rec.journeys.map((j) => j.name),
    slis: rec.journeys.reduce((n, j) => n + j.slis.length, 0),
    rollup_rows: input.stats.rollupRows,
    window_minutes: Math.round((input.window.end.getTime() - input.window.start.getTime()) / 60_000),
    otlp_json_lines: {
      spans: jsonSpans,
      bytes,
      seconds: Math.round(jsonS * 1000) / 1000,
      spans_per_s: Math.round(jsonSpans / jsonS),
      mb_per_s: Math.round((bytes / 1048576 / jsonS) * 10) / 10,
      baseline: { what: 'JSON.parse of the same lines only', seconds: Math.round(parseS * 1000) / 1000 },
      ratio_vs_baseline: Math.round((jsonS / parseS) * 100) / 100,
    },
    sink: sink > 0 ? 1 : 0,
  };
}
