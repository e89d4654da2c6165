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
import { TracesProtoReader } from '../core/stream/otlp-proto.js';
import { decodeTraces } from '../core/otlp/decode.js';
import { encodeTraces } from '../core/otlp/encode.js';
import { walk } from '../core/protowire.js';
import type { SpanModel } from '../core/otlp/model.js';
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

/** Traces whose span ids are distinct: ids repeat only after POOL_TRACES traces, far beyond any parent window. */
const POOL_TRACES = 1 << 15;
let idPool: string[] | undefined;

/**
 * OTLP span ids (8 bytes as 16 lower-case hex digits) for POOL_TRACES traces, as flat strings like JSON.parse and
 * TextDecoder produce (string concatenation would hand the accumulator rope strings, which cost more to read than
 * any parsed input does). Built once, outside every timed section.
 */
function ids(): string[] {
  if (!idPool) {
    const all: string[] = [];
    for (let t = 0; t < POOL_TRACES; t++) {
      const prefix = (t + 1).toString(16).padStart(14, '0');
      for (let i = 1; i <= 12; i++) all.push(prefix + i.toString(16).padStart(2, '0'));
    }
    idPool = JSON.parse(JSON.stringify(all)) as string[];
  }
  return idPool;
}

/** Emits `n` spans: traces from the template, 1 000 traces per simulated second, about 1% failing. */
function generate(n: number, onSpan: (service: string, s: StreamSpan) => void): void {
  const per = TEMPLATE.length;
  const pool = ids();
  let emitted = 0;
  for (let trace = 0; emitted < n; trace++) {
    const base = START + trace; // 1 ms apart: 60 000 traces per minute
    const slot = (trace % POOL_TRACES) * 12 - 1;
    const fail = trace % 97 === 0;
    for (let i = 0; i < per && emitted < n; i++, emitted++) {
      const t = TEMPLATE[i]!;
      onSpan(t.service, {
        spanId: pool[slot + t.id]!,
        parentSpanId: t.parent ? pool[slot + t.parent]! : '',
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

/** Traces per encoded request in the protobuf measurement. */
const BLOCK_TRACES = 512;

interface EncodedBlock {
  readonly bytes: Uint8Array;
  /** Offsets of the 8-byte span and parent span ids (first 4 bytes: the trace number, patched per block). */
  readonly idAt: Int32Array;
  /** Offsets of the fixed64 start/end timestamps (shifted per block). */
  readonly timeAt: Int32Array;
  readonly spans: number;
}

/**
 * One ExportTraceServiceRequest (one ResourceSpans per service) holding BLOCK_TRACES traces of the template, encoded
 * by core/otlp/encode.ts, with the offsets of the ids and timestamps so that later blocks are this one with fresh ids
 * and shifted times (patched in place: the baseline pays that too).
 */
function encodeBlock(): EncodedBlock {
  const byService = new Map<string, Omit<SpanModel, 'resource' | 'scope'>[]>();
  const hexId = (trace: number, idx: number) =>
    (trace + 1).toString(16).padStart(8, '0') + idx.toString(16).padStart(8, '0');
  const nanos = (ms: number) => (BigInt(Math.round(ms * 1000)) * 1000n).toString();
  let trace = 0;
  let k = 0;
  generate(BLOCK_TRACES * TEMPLATE.length, (svc, s) => {
    const t = TEMPLATE[k % TEMPLATE.length]!;
    trace = Math.floor(k++ / TEMPLATE.length);
    let list = byService.get(svc);
    if (!list) byService.set(svc, (list = []));
    list.push({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: hexId(trace, t.id),
      parentSpanId: t.parent ? hexId(trace, t.parent) : '',
      name: s.name,
      kind: s.kind,
      startTimeUnixNano: nanos(s.startMs),
      endTimeUnixNano: nanos(s.startMs + s.durationMs),
      statusCode: s.statusCode,
      statusMessage: '',
      attributes: s.attributes,
    });
  });
  const bytes = encodeTraces(
    [...byService].map(([svc, spans]) => ({ resource: { 'service.name': svc }, scope: 'bench', spans })),
  );
  const idAt: number[] = [];
  const timeAt: number[] = [];
  const fields = (start: number, end: number, fn: (field: number, vs: number, e: number) => void) => {
    const r = walk(bytes, (f) => void fn(f.field, f.valueStart, f.end), start, end);
    if (!r.ok) throw new Error(r.error);
  };
  fields(0, bytes.length, (_f, rs, re) =>
    fields(rs, re, (f, ss, se) => {
      if (f !== 2) return;
      fields(ss, se, (g, ps, pe) => {
        if (g !== 2) return;
        fields(ps, pe, (h, vs) => {
          if (h === 2 || h === 4) idAt.push(vs);
          else if (h === 7 || h === 8) timeAt.push(vs);
        });
      });
    }),
  );
  return { bytes, idAt: Int32Array.from(idAt), timeAt: Int32Array.from(timeAt), spans: k };
}

/** Turns the block into block number `n`: trace numbers + n * BLOCK_TRACES, times + n * BLOCK_TRACES ms. */
function patchBlock(b: EncodedBlock, n: number, prev: number): void {
  const buf = b.bytes;
  const dTrace = (n - prev) * BLOCK_TRACES;
  for (let i = 0; i < b.idAt.length; i++) {
    const p = b.idAt[i]!;
    const v = (((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) + dTrace) >>> 0;
    buf[p] = v >>> 24;
    buf[p + 1] = (v >>> 16) & 255;
    buf[p + 2] = (v >>> 8) & 255;
    buf[p + 3] = v & 255;
  }
  const d = BigInt(dTrace) * 1_000_000n; // ns
  const dLo = Number(d & 0xffffffffn);
  const dHi = Number(d >> 32n);
  for (let i = 0; i < b.timeAt.length; i++) {
    const p = b.timeAt[i]!;
    const lo = (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> 0;
    const hi = (buf[p + 4]! | (buf[p + 5]! << 8) | (buf[p + 6]! << 16) | (buf[p + 7]! << 24)) >>> 0;
    const sum = lo + dLo;
    const nlo = sum >>> 0;
    const nhi = (hi + dHi + (sum > 0xffffffff ? 1 : 0)) >>> 0;
    buf[p] = nlo & 255;
    buf[p + 1] = (nlo >>> 8) & 255;
    buf[p + 2] = (nlo >>> 16) & 255;
    buf[p + 3] = nlo >>> 24;
    buf[p + 4] = nhi & 255;
    buf[p + 5] = (nhi >>> 8) & 255;
    buf[p + 6] = (nhi >>> 16) & 255;
    buf[p + 7] = nhi >>> 24;
  }
}

/** Streams `spans` spans as encoded requests (whole blocks) to `onRequest`. */
function streamBlocks(block: EncodedBlock, spans: number, onRequest: (bytes: Uint8Array) => void): number {
  const n = Math.ceil(spans / block.spans);
  let prev = 0;
  for (let i = 0; i < n; i++) {
    patchBlock(block, i, prev);
    prev = i;
    onRequest(block.bytes);
  }
  patchBlock(block, 0, prev);
  return n * block.spans;
}

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const r3 = (x: number) => Math.round(x * 1000) / 1000;

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
  const protoSpans = arg('--proto-spans', spans);
  const decodeSpans = arg('--decode-spans', 200_000);
  ids();
  let peakRss = process.memoryUsage().rss;
  const sample = () => {
    const r = process.memoryUsage().rss;
    if (r > peakRss) peakRss = r;
  };
  const timer = setInterval(sample, 50);

  // baseline: generate the spans only
  let sink = 0;
  let c = cpu();
  let t = performance.now();
  generate(spans, (_svc, s) => {
    sink += s.durationMs;
  });
  const baselineS = (performance.now() - t) / 1000;
  const baselineCpu = cpu() - c;
  process.stderr.write(`bench analyze: baseline (generate ${spans} spans) ${baselineS.toFixed(2)} s\n`);

  // main: generate + accumulate + analyse
  const rssBefore = process.memoryUsage().rss;
  c = cpu();
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
  const cpuS = cpu() - c;
  sample();
  process.stderr.write(`bench analyze: ${spans} spans -> recommendations in ${seconds.toFixed(2)} s\n`);

  // protobuf: encoded ExportTraceServiceRequest batches -> core/stream/otlp-proto.ts -> accumulator -> analyse
  const block = encodeBlock();
  c = cpu();
  t = performance.now();
  let protoBytes = 0;
  streamBlocks(block, protoSpans, (b) => {
    protoBytes += b.length;
    sink += b[b.length - 1]!;
  });
  const protoBaseS = (performance.now() - t) / 1000;
  const protoBaseCpu = cpu() - c;
  c = cpu();
  t = performance.now();
  const acc3 = new SpanAccumulator();
  const reader = new TracesProtoReader();
  let failed = 0;
  let k3 = 0;
  const protoN = streamBlocks(block, protoSpans, (b) => {
    if (!reader.read(b, acc3).ok) failed++;
    if ((++k3 & 63) === 0) sample();
  });
  const input3 = acc3.result()!;
  const rec3 = analyse({ ...input3, inventory: [] }, { requestId: 'bench-proto' });
  const protoS = (performance.now() - t) / 1000;
  const protoCpu = cpu() - c;
  sample();
  if (failed) throw new Error(`bench analyze: ${failed} encoded requests failed to read`);
  process.stderr.write(
    `bench analyze: ${protoN} protobuf spans -> recommendations in ${protoS.toFixed(2)} s\n`,
  );
  // the general decoder (core/otlp decodeTraces -> SpanModel objects -> addModel) on a sample, for comparison
  c = cpu();
  t = performance.now();
  const acc4 = new SpanAccumulator();
  const decodedN = streamBlocks(block, decodeSpans, (b) => {
    const d = decodeTraces(b);
    if (d.ok) for (const s of d.value) acc4.addModel(s);
  });
  const decodeS = (performance.now() - t) / 1000;
  const decodeCpu = cpu() - c;
  // the same journeys (ranking may differ: encoded timestamps are whole microseconds)
  const sameJourneys =
    JSON.stringify(rec3.journeys.map((j) => j.name).sort()) ===
    JSON.stringify(rec.journeys.map((j) => j.name).sort());

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
      'from a 12-span trace template with shifted timestamps and 16-hex-digit span ids (flat strings, distinct ' +
      `within every ${POOL_TRACES * 12} consecutive spans); not decoded from bytes in the timed loop`,
    spans,
    seconds: Math.round(seconds * 1000) / 1000,
    cpu_seconds: r3(cpuS),
    spans_per_s: Math.round(spans / seconds),
    accumulate_seconds: Math.round((tAcc - t0) / 10) / 100,
    analyse_seconds: Math.round((seconds - (tAcc - t0) / 1000) * 100) / 100,
    peak_rss_mb: mb(peakRss),
    rss_growth_mb: mb(peakRss - rssBefore),
    baseline: {
      what: 'generating the same spans without analysing them',
      seconds: Math.round(baselineS * 1000) / 1000,
      cpu_seconds: r3(baselineCpu),
    },
    ratio_vs_baseline: Math.round((seconds / baselineS) * 100) / 100,
    otlp_protobuf: {
      input:
        `encoded ExportTraceServiceRequest batches (${block.spans} spans, ${block.bytes.length} bytes each, one ` +
        'ResourceSpans per service, encoded by core/otlp/encode.ts; each batch is the previous one with fresh span ' +
        'ids and shifted timestamps patched in place) read by core/stream/otlp-proto.ts into the accumulator',
      spans: protoN,
      bytes: protoBytes,
      seconds: r3(protoS),
      cpu_seconds: r3(protoCpu),
      spans_per_s: Math.round(protoN / protoS),
      mb_per_s: Math.round((protoBytes / 1048576 / protoS) * 10) / 10,
      baseline: {
        what: 'producing the same batches (patching ids and timestamps) without reading them',
        seconds: r3(protoBaseS),
        cpu_seconds: r3(protoBaseCpu),
      },
      ratio_vs_baseline: Math.round((protoS / protoBaseS) * 100) / 100,
      same_journeys_as_in_memory: sameJourneys,
      journeys: rec3.journeys.map((j) => j.name),
      general_decoder: {
        what: 'core/otlp decodeTraces (SpanModel objects) + SpanAccumulator.addModel on a sample, no analyse',
        spans: decodedN,
        seconds: r3(decodeS),
        cpu_seconds: r3(decodeCpu),
        spans_per_s: Math.round(decodedN / decodeS),
      },
    },
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
