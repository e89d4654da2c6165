/**
 * OTLP protobuf encoding (opentelemetry-proto v1) of the core models: ExportTraceServiceRequest,
 * ExportLogsServiceRequest and ExportMetricsServiceRequest. Hand-written on top of a tiny protobuf writer, so the
 * pure core needs no codegen. Field numbers follow opentelemetry/proto/{common,resource,trace,logs,metrics}/v1.
 *
 * Proto3 defaults (empty strings, zero numbers) are omitted, as a conforming encoder does.
 */
import type {
  AttrValue,
  Attrs,
  LogModel,
  MetricPointModel,
  ResourceLogsModel,
  ResourceMetricsModel,
  ResourceSpansModel,
  SpanModel,
} from './model.js';
import { WIRE_I32, WIRE_I64, WIRE_LEN, WIRE_VARINT } from '../protowire.js';

const utf8 = new TextEncoder();
const U64_MASK = (1n << 64n) - 1n;

/** A growable protobuf writer. Nested messages are written with `message(field, w => ...)`. */
export class ProtoWriter {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private pos = 0;

  get length(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** Unsigned varint of a non-negative safe integer or a bigint (bigints are taken modulo 2^64). */
  rawVarint(v: number | bigint): void {
    if (typeof v === 'number' && v >= 0 && v <= 0xffffffff && Number.isInteger(v)) {
      this.ensure(5);
      let n = v;
      while (n > 0x7f) {
        this.buf[this.pos++] = (n & 0x7f) | 0x80;
        n = Math.floor(n / 128);
      }
      this.buf[this.pos++] = n;
      return;
    }
    let b = (typeof v === 'bigint' ? v : BigInt(Math.trunc(v))) & U64_MASK;
    this.ensure(10);
    while (b > 0x7fn) {
      this.buf[this.pos++] = Number(b & 0x7fn) | 0x80;
      b >>= 7n;
    }
    this.buf[this.pos++] = Number(b);
  }

  tag(field: number, wire: number): void {
    this.rawVarint(field * 8 + wire);
  }

  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** int64/uint64/int32/enum/bool as a varint (negative values in two's complement, ten bytes). */
  varint(field: number, v: number | bigint): void {
    this.tag(field, WIRE_VARINT);
    this.rawVarint(v);
  }

  sint(field: number, v: number | bigint): void {
    const b = BigInt(v);
    this.varint(field, b >= 0n ? b << 1n : (-b << 1n) - 1n);
  }

  bool(field: number, v: boolean): void {
    this.varint(field, v ? 1 : 0);
  }

  /** fixed64/sfixed64 from a decimal string, number or bigint. */
  fixed64(field: number, v: string | number | bigint): void {
    this.tag(field, WIRE_I64);
    this.rawFixed64(v);
  }

  rawFixed64(v: string | number | bigint): void {
    const b = typeof v === 'bigint' ? v : BigInt(typeof v === 'number' ? Math.trunc(v) : v);
    this.ensure(8);
    this.view.setBigUint64(this.pos, b & U64_MASK, true);
    this.pos += 8;
  }

  fixed32(field: number, v: number): void {
    this.tag(field, WIRE_I32);
    this.ensure(4);
    this.view.setUint32(this.pos, v >>> 0, true);
    this.pos += 4;
  }

  double(field: number, v: number): void {
    this.tag(field, WIRE_I64);
    this.rawDouble(v);
  }

  rawDouble(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  bytes(field: number, v: Uint8Array): void {
    this.tag(field, WIRE_LEN);
    this.rawVarint(v.length);
    this.raw(v);
  }

  string(field: number, v: string): void {
    this.bytes(field, utf8.encode(v));
  }

  message(field: number, fill: (w: ProtoWriter) => void): void {
    const w = new ProtoWriter();
    fill(w);
    this.bytes(field, w.finish());
  }

  /** Packed repeated fixed64. */
  packedFixed64(field: number, values: readonly (number | string | bigint)[]): void {
    if (values.length === 0) return;
    this.tag(field, WIRE_LEN);
    this.rawVarint(values.length * 8);
    for (const v of values) this.rawFixed64(v);
  }

  /** Packed repeated double. */
  packedDouble(field: number, values: readonly number[]): void {
    if (values.length === 0) return;
    this.tag(field, WIRE_LEN);
    this.rawVarint(values.length * 8);
    for (const v of values) this.rawDouble(v);
  }

  /** Packed repeated varint (uint64). */
  packedVarint(field: number, values: readonly (number | bigint)[]): void {
    if (values.length === 0) return;
    const w = new ProtoWriter();
    for (const v of values) w.rawVarint(v);
    this.bytes(field, w.finish());
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** Lower/upper-case hex to bytes; throws on odd length or non-hex (callers validate user input first). */
export function hexToBytes(hex: string): Uint8Array {
  if (!HEX.test(hex)) throw new Error(`invalid hex id: ${JSON.stringify(hex.slice(0, 40))}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

// ---- common ------------------------------------------------------------------------------------------------------

/** AnyValue{string_value=1, bool_value=2, int_value=3, double_value=4, array_value=5, kvlist_value=6, bytes_value=7} */
export function writeAnyValue(w: ProtoWriter, v: AttrValue): void {
  if (typeof v === 'string') w.string(1, v);
  else if (typeof v === 'boolean') w.bool(2, v);
  else if (Number.isSafeInteger(v)) w.varint(3, BigInt(v));
  else w.double(4, v);
}

/** KeyValue{key=1, value=2} entries as repeated field `field`. */
export function writeAttrs(w: ProtoWriter, field: number, attrs: Attrs): void {
  for (const [k, v] of Object.entries(attrs)) {
    w.message(field, (kv) => {
      kv.string(1, k);
      kv.message(2, (av) => writeAnyValue(av, v));
    });
  }
}

/** Resource{attributes=1} */
function writeResource(w: ProtoWriter, attrs: Attrs): void {
  w.message(1, (r) => writeAttrs(r, 1, attrs));
}

/** InstrumentationScope{name=1, version=2} */
function writeScope(w: ProtoWriter, scope: string): void {
  w.message(1, (s) => {
    if (scope) s.string(1, scope);
  });
}

function nonZeroNanos(v: string): boolean {
  return v !== '' && v !== '0';
}

// ---- traces ------------------------------------------------------------------------------------------------------

function writeSpan(w: ProtoWriter, s: Omit<SpanModel, 'resource' | 'scope'>): void {
  if (s.traceId) w.bytes(1, hexToBytes(s.traceId));
  if (s.spanId) w.bytes(2, hexToBytes(s.spanId));
  if (s.parentSpanId) w.bytes(4, hexToBytes(s.parentSpanId));
  if (s.name) w.string(5, s.name);
  if (s.kind) w.varint(6, s.kind);
  if (nonZeroNanos(s.startTimeUnixNano)) w.fixed64(7, s.startTimeUnixNano);
  if (nonZeroNanos(s.endTimeUnixNano)) w.fixed64(8, s.endTimeUnixNano);
  writeAttrs(w, 9, s.attributes);
  if (s.statusCode || s.statusMessage) {
    // Status{message=2, code=3}
    w.message(15, (st) => {
      if (s.statusMessage) st.string(2, s.statusMessage);
      if (s.statusCode) st.varint(3, s.statusCode);
    });
  }
}

/** ExportTraceServiceRequest{resource_spans=1}; ResourceSpans{resource=1, scope_spans=2}; ScopeSpans{scope=1, spans=2} */
export function encodeTraces(groups: readonly ResourceSpansModel[]): Uint8Array {
  const w = new ProtoWriter();
  for (const g of groups) {
    w.message(1, (rs) => {
      writeResource(rs, g.resource);
      rs.message(2, (ss) => {
        writeScope(ss, g.scope);
        for (const s of g.spans) ss.message(2, (sw) => writeSpan(sw, s));
      });
    });
  }
  return w.finish();
}

// ---- logs --------------------------------------------------------------------------------------------------------

function writeLog(w: ProtoWriter, l: Omit<LogModel, 'resource'>): void {
  if (nonZeroNanos(l.timeUnixNano)) w.fixed64(1, l.timeUnixNano);
  if (l.severityNumber) w.varint(2, l.severityNumber);
  if (l.severityText) w.string(3, l.severityText);
  w.message(5, (av) => writeAnyValue(av, l.body));
  writeAttrs(w, 6, l.attributes);
  if (l.traceId) w.bytes(9, hexToBytes(l.traceId));
  if (l.spanId) w.bytes(10, hexToBytes(l.spanId));
  if (nonZeroNanos(l.observedTimeUnixNano)) w.fixed64(11, l.observedTimeUnixNano);
}

/** ExportLogsServiceRequest{resource_logs=1}; ResourceLogs{resource=1, scope_logs=2}; ScopeLogs{scope=1, log_records=2} */
export function encodeLogs(groups: readonly ResourceLogsModel[]): Uint8Array {
  const w = new ProtoWriter();
  for (const g of groups) {
    w.message(1, (rl) => {
      writeResource(rl, g.resource);
      rl.message(2, (sl) => {
        writeScope(sl, g.scope);
        for (const l of g.logs) sl.message(2, (lw) => writeLog(lw, l));
      });
    });
  }
  return w.finish();
}

// ---- metrics -----------------------------------------------------------------------------------------------------

/** AggregationTemporality used for sums and histograms we encode: the models carry per-interval values. */
export const TEMPORALITY_DELTA = 1;

function writeNumberPoint(w: ProtoWriter, p: Omit<MetricPointModel, 'resource'>): void {
  // NumberDataPoint{start_time_unix_nano=2, time_unix_nano=3, as_double=4, as_int=6, attributes=7}
  if (nonZeroNanos(p.timeUnixNano)) w.fixed64(3, p.timeUnixNano);
  const v = p.value ?? 0;
  if (Number.isSafeInteger(v)) w.fixed64(6, BigInt(v));
  else w.double(4, v);
  writeAttrs(w, 7, p.attributes);
}

function writeHistogramPoint(w: ProtoWriter, p: Omit<MetricPointModel, 'resource'>): void {
  // HistogramDataPoint{time=3, count=4, sum=5, bucket_counts=6 (packed fixed64), explicit_bounds=7 (packed double),
  // attributes=9}
  const h = p.histogram;
  if (!h) throw new Error(`histogram point of ${p.name} has no histogram`);
  if (nonZeroNanos(p.timeUnixNano)) w.fixed64(3, p.timeUnixNano);
  w.fixed64(4, h.count);
  w.double(5, h.sum);
  w.packedFixed64(6, h.bucketCounts);
  w.packedDouble(7, h.explicitBounds);
  writeAttrs(w, 9, p.attributes);
}

function writeSummaryPoint(w: ProtoWriter, p: Omit<MetricPointModel, 'resource'>): void {
  // SummaryDataPoint{time=3, count=4, sum=5, attributes=7}
  const h = p.histogram;
  if (nonZeroNanos(p.timeUnixNano)) w.fixed64(3, p.timeUnixNano);
  w.fixed64(4, h?.count ?? 0);
  w.double(5, h?.sum ?? 0);
  writeAttrs(w, 7, p.attributes);
}

/** Metric{name=1, description=2, unit=3, gauge=5, sum=7, histogram=9, summary=11}; one Metric per point. */
function writeMetric(w: ProtoWriter, p: Omit<MetricPointModel, 'resource'>): void {
  w.string(1, p.name);
  if (p.description) w.string(2, p.description);
  if (p.unit) w.string(3, p.unit);
  switch (p.type) {
    case 'gauge':
      // Gauge{data_points=1}
      w.message(5, (g) => g.message(1, (dp) => writeNumberPoint(dp, p)));
      break;
    case 'sum':
      // Sum{data_points=1, aggregation_temporality=2, is_monotonic=3}
      w.message(7, (s) => {
        s.message(1, (dp) => writeNumberPoint(dp, p));
        s.varint(2, TEMPORALITY_DELTA);
        if (p.monotonic) s.bool(3, true);
      });
      break;
    case 'histogram':
      // Histogram{data_points=1, aggregation_temporality=2}
      w.message(9, (h) => {
        h.message(1, (dp) => writeHistogramPoint(dp, p));
        h.varint(2, TEMPORALITY_DELTA);
      });
      break;
    case 'summary':
      w.message(11, (s) => s.message(1, (dp) => writeSummaryPoint(dp, p)));
      break;
    case 'exponential_histogram':
      throw new Error(`encoding exponential histograms is not supported (metric ${p.name})`);
  }
}

/**
 * ExportMetricsServiceRequest{resource_metrics=1}; ResourceMetrics{resource=1, scope_metrics=2};
 * ScopeMetrics{scope=1, metrics=2}. Each point becomes its own Metric (valid OTLP; receivers merge by identity).
 */
export function encodeMetrics(groups: readonly ResourceMetricsModel[]): Uint8Array {
  const w = new ProtoWriter();
  for (const g of groups) {
    w.message(1, (rm) => {
      writeResource(rm, g.resource);
      rm.message(2, (sm) => {
        writeScope(sm, g.scope);
        for (const p of g.points) sm.message(2, (mw) => writeMetric(mw, p));
      });
    });
  }
  return w.finish();
}
