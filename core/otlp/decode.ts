/**
 * OTLP protobuf decoding (opentelemetry-proto v1) into the core models. Only the fields SLO-Scout uses are
 * materialised; unknown fields are skipped, as protobuf requires. Malformed input is an error value, never a throw.
 *
 * Field numbers (opentelemetry-proto):
 *   common   AnyValue{string=1,bool=2,int=3,double=4,array=5,kvlist=6,bytes=7} ArrayValue{values=1}
 *            KeyValueList{values=1} KeyValue{key=1,value=2} InstrumentationScope{name=1,version=2}
 *   resource Resource{attributes=1}
 *   trace    ResourceSpans{resource=1,scope_spans=2} ScopeSpans{scope=1,spans=2}
 *            Span{trace_id=1,span_id=2,parent_span_id=4,name=5,kind=6,start=7 fixed64,end=8 fixed64,attributes=9,
 *            status=15} Status{message=2,code=3}
 *   logs     ResourceLogs{resource=1,scope_logs=2} ScopeLogs{scope=1,log_records=2}
 *            LogRecord{time=1 fixed64,severity_number=2,severity_text=3,body=5,attributes=6,trace_id=9,span_id=10,
 *            observed_time=11 fixed64}
 *   metrics  ResourceMetrics{resource=1,scope_metrics=2} ScopeMetrics{scope=1,metrics=2}
 *            Metric{name=1,description=2,unit=3,gauge=5,sum=7,histogram=9,exponential_histogram=10,summary=11}
 *            Gauge{data_points=1} Sum{data_points=1,aggregation_temporality=2,is_monotonic=3}
 *            Histogram{data_points=1,aggregation_temporality=2} ExponentialHistogram{data_points=1,...}
 *            Summary{data_points=1}
 *            NumberDataPoint{start=2,time=3,as_double=4,as_int=6 sfixed64,attributes=7}
 *            HistogramDataPoint{start=2,time=3,count=4 fixed64,sum=5 double,bucket_counts=6 fixed64,
 *            explicit_bounds=7 double,attributes=9}
 *            ExponentialHistogramDataPoint{attributes=1,start=2,time=3,count=4,sum=5,scale=6 sint32,
 *            zero_count=7 fixed64,positive=8,negative=9} Buckets{offset=1 sint32,bucket_counts=2 uint64}
 *            SummaryDataPoint{start=2,time=3,count=4 fixed64,sum=5 double,attributes=7}
 */
import { err, ok, type Result } from '../result.js';
import { walk, WIRE_I64, WIRE_LEN, WIRE_VARINT, type FieldRef } from '../protowire.js';
import type {
  Attrs,
  AttrValue,
  HistogramPointModel,
  LogModel,
  MetricPointModel,
  SpanModel,
} from './model.js';

class DecodeError extends Error {}

const utf8 = new TextDecoder('utf-8', { fatal: false });

function fields(
  buf: Uint8Array,
  start: number,
  end: number,
  what: string,
  visit: (f: FieldRef) => void,
): void {
  const r = walk(
    buf,
    (f) => {
      visit(f);
    },
    start,
    end,
  );
  if (!r.ok) throw new DecodeError(`${what}: ${r.error}`);
}

function expect(f: FieldRef, wire: number, what: string): void {
  if (f.wire !== wire)
    throw new DecodeError(`${what} (field ${f.field}) has wire type ${f.wire}, expected ${wire}`);
}

function str(buf: Uint8Array, f: FieldRef, what: string): string {
  expect(f, WIRE_LEN, what);
  return utf8.decode(buf.subarray(f.valueStart, f.end));
}

function hex(buf: Uint8Array, f: FieldRef, what: string): string {
  expect(f, WIRE_LEN, what);
  let s = '';
  for (let i = f.valueStart; i < f.end; i++) s += buf[i]!.toString(16).padStart(2, '0');
  return s;
}

function dv(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

function u64(buf: Uint8Array, pos: number): bigint {
  return dv(buf).getBigUint64(pos, true);
}

/** fixed64 nanoseconds -> decimal string. */
function nanos(buf: Uint8Array, f: FieldRef, what: string): string {
  expect(f, WIRE_I64, what);
  return u64(buf, f.valueStart).toString();
}

function f64(buf: Uint8Array, f: FieldRef, what: string): number {
  expect(f, WIRE_I64, what);
  return dv(buf).getFloat64(f.valueStart, true);
}

/** Varint as bigint (exact for all 64 bits). */
function varintBig(buf: Uint8Array, f: FieldRef, what: string): bigint {
  expect(f, WIRE_VARINT, what);
  let result = 0n;
  let shift = 0n;
  for (let pos = f.valueStart; pos < f.end; pos++) {
    const b = buf[pos]!;
    result |= BigInt(b & 0x7f) << shift;
    shift += 7n;
  }
  return result & ((1n << 64n) - 1n);
}

function varint(buf: Uint8Array, f: FieldRef, what: string): number {
  return Number(varintBig(buf, f, what));
}

function int64(buf: Uint8Array, f: FieldRef, what: string): number {
  return Number(BigInt.asIntN(64, varintBig(buf, f, what)));
}

function toNumber(b: bigint): number {
  return Number(b);
}

// ---- common ------------------------------------------------------------------------------------------------------

type JsonLike = string | number | boolean | null | JsonLike[] | { [k: string]: JsonLike };

function anyValue(buf: Uint8Array, start: number, end: number): JsonLike {
  let v: JsonLike = null;
  fields(buf, start, end, 'AnyValue', (f) => {
    switch (f.field) {
      case 1:
        v = str(buf, f, 'AnyValue.string_value');
        break;
      case 2:
        v = varint(buf, f, 'AnyValue.bool_value') !== 0;
        break;
      case 3:
        v = int64(buf, f, 'AnyValue.int_value');
        break;
      case 4:
        v = f64(buf, f, 'AnyValue.double_value');
        break;
      case 5: {
        expect(f, WIRE_LEN, 'AnyValue.array_value');
        const arr: JsonLike[] = [];
        fields(buf, f.valueStart, f.end, 'ArrayValue', (e) => {
          if (e.field !== 1) return;
          expect(e, WIRE_LEN, 'ArrayValue.values');
          arr.push(anyValue(buf, e.valueStart, e.end));
        });
        v = arr;
        break;
      }
      case 6: {
        expect(f, WIRE_LEN, 'AnyValue.kvlist_value');
        const obj: Record<string, JsonLike> = {};
        fields(buf, f.valueStart, f.end, 'KeyValueList', (e) => {
          if (e.field !== 1) return;
          expect(e, WIRE_LEN, 'KeyValueList.values');
          const [k, val] = keyValue(buf, e.valueStart, e.end);
          obj[k] = val;
        });
        v = obj;
        break;
      }
      case 7:
        expect(f, WIRE_LEN, 'AnyValue.bytes_value');
        v = Buffer.from(buf.subarray(f.valueStart, f.end)).toString('base64');
        break;
    }
  });
  return v;
}

function keyValue(buf: Uint8Array, start: number, end: number): [string, JsonLike] {
  let key = '';
  let value: JsonLike = null;
  fields(buf, start, end, 'KeyValue', (f) => {
    if (f.field === 1) key = str(buf, f, 'KeyValue.key');
    else if (f.field === 2) {
      expect(f, WIRE_LEN, 'KeyValue.value');
      value = anyValue(buf, f.valueStart, f.end);
    }
  });
  return [key, value];
}

function toAttr(v: JsonLike): AttrValue {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (v === null) return '';
  return JSON.stringify(v);
}

function addAttr(into: Attrs, buf: Uint8Array, f: FieldRef, what: string): void {
  expect(f, WIRE_LEN, what);
  const [k, v] = keyValue(buf, f.valueStart, f.end);
  into[k] = toAttr(v);
}

function resource(buf: Uint8Array, f: FieldRef): Attrs {
  expect(f, WIRE_LEN, 'resource');
  const attrs: Attrs = {};
  fields(buf, f.valueStart, f.end, 'Resource', (a) => {
    if (a.field === 1) addAttr(attrs, buf, a, 'Resource.attributes');
  });
  return attrs;
}

function scopeName(buf: Uint8Array, f: FieldRef): string {
  expect(f, WIRE_LEN, 'scope');
  let name = '';
  fields(buf, f.valueStart, f.end, 'InstrumentationScope', (s) => {
    if (s.field === 1) name = str(buf, s, 'InstrumentationScope.name');
  });
  return name;
}

/**
 * Walks ExportXServiceRequest{resource_x=1} -> ResourceX{resource=1, scope_x=2} -> ScopeX{scope=1, items=2} and
 * calls `item` for each leaf message with its resource attributes and scope name.
 */
function walkRequest(
  bytes: Uint8Array,
  kind: string,
  item: (buf: Uint8Array, f: FieldRef, resource: Attrs, scope: string) => void,
): void {
  fields(bytes, 0, bytes.length, `Export${kind}ServiceRequest`, (rf) => {
    if (rf.field !== 1) return;
    expect(rf, WIRE_LEN, `Resource${kind}`);
    let res: Attrs = {};
    const scopes: FieldRef[] = [];
    // Resource may legally follow the scope entries on the wire, so collect first.
    fields(bytes, rf.valueStart, rf.end, `Resource${kind}`, (f) => {
      if (f.field === 1) res = resource(bytes, f);
      else if (f.field === 2) {
        expect(f, WIRE_LEN, `Scope${kind}`);
        scopes.push(f);
      }
    });
    for (const sf of scopes) {
      let scope = '';
      const items: FieldRef[] = [];
      fields(bytes, sf.valueStart, sf.end, `Scope${kind}`, (f) => {
        if (f.field === 1) scope = scopeName(bytes, f);
        else if (f.field === 2) {
          expect(f, WIRE_LEN, `Scope${kind} item`);
          items.push(f);
        }
      });
      for (const it of items) item(bytes, it, res, scope);
    }
  });
}

function guard<T>(fn: () => T): Result<T, string> {
  try {
    return ok(fn());
  } catch (e) {
    if (e instanceof DecodeError) return err(`malformed OTLP protobuf: ${e.message}`);
    throw e;
  }
}

// ---- traces ------------------------------------------------------------------------------------------------------

export function decodeTraces(bytes: Uint8Array): Result<SpanModel[], string> {
  return guard(() => {
    const out: SpanModel[] = [];
    walkRequest(bytes, 'Trace', (buf, sf, res, scope) => {
      let traceId = '';
      let spanId = '';
      let parentSpanId = '';
      let name = '';
      let kind = 0;
      let start = '0';
      let end = '0';
      let statusCode = 0;
      let statusMessage = '';
      const attributes: Attrs = {};
      fields(buf, sf.valueStart, sf.end, 'Span', (f) => {
        switch (f.field) {
          case 1:
            traceId = hex(buf, f, 'Span.trace_id');
            break;
          case 2:
            spanId = hex(buf, f, 'Span.span_id');
            break;
          case 4:
            parentSpanId = hex(buf, f, 'Span.parent_span_id');
            break;
          case 5:
            name = str(buf, f, 'Span.name');
            break;
          case 6:
            kind = varint(buf, f, 'Span.kind');
            break;
          case 7:
            start = nanos(buf, f, 'Span.start_time_unix_nano');
            break;
          case 8:
            end = nanos(buf, f, 'Span.end_time_unix_nano');
            break;
          case 9:
            addAttr(attributes, buf, f, 'Span.attributes');
            break;
          case 15:
            expect(f, WIRE_LEN, 'Span.status');
            fields(buf, f.valueStart, f.end, 'Status', (s) => {
              if (s.field === 2) statusMessage = str(buf, s, 'Status.message');
              else if (s.field === 3) statusCode = varint(buf, s, 'Status.code');
            });
            break;
        }
      });
      out.push({
        traceId,
        spanId,
        parentSpanId,
        name,
        kind,
        startTimeUnixNano: start,
        endTimeUnixNano: end,
        statusCode,
        statusMessage,
        attributes,
        resource: res,
        scope,
      });
    });
    return out;
  });
}

// ---- logs --------------------------------------------------------------------------------------------------------

function bodyText(v: JsonLike): string {
  if (typeof v === 'string') return v;
  if (v === null) return '';
  return JSON.stringify(v);
}

export function decodeLogs(bytes: Uint8Array): Result<LogModel[], string> {
  return guard(() => {
    const out: LogModel[] = [];
    walkRequest(bytes, 'Logs', (buf, lf, res) => {
      let time = '0';
      let observed = '0';
      let severityNumber = 0;
      let severityText = '';
      let body = '';
      let traceId = '';
      let spanId = '';
      const attributes: Attrs = {};
      fields(buf, lf.valueStart, lf.end, 'LogRecord', (f) => {
        switch (f.field) {
          case 1:
            time = nanos(buf, f, 'LogRecord.time_unix_nano');
            break;
          case 2:
            severityNumber = varint(buf, f, 'LogRecord.severity_number');
            break;
          case 3:
            severityText = str(buf, f, 'LogRecord.severity_text');
            break;
          case 5:
            expect(f, WIRE_LEN, 'LogRecord.body');
            body = bodyText(anyValue(buf, f.valueStart, f.end));
            break;
          case 6:
            addAttr(attributes, buf, f, 'LogRecord.attributes');
            break;
          case 9:
            traceId = hex(buf, f, 'LogRecord.trace_id');
            break;
          case 10:
            spanId = hex(buf, f, 'LogRecord.span_id');
            break;
          case 11:
            observed = nanos(buf, f, 'LogRecord.observed_time_unix_nano');
            break;
        }
      });
      out.push({
        timeUnixNano: time,
        observedTimeUnixNano: observed,
        severityNumber,
        severityText,
        body,
        attributes,
        resource: res,
        traceId,
        spanId,
      });
    });
    return out;
  });
}

// ---- metrics -----------------------------------------------------------------------------------------------------

interface MetricHead {
  name: string;
  description: string;
  unit: string;
  resource: Attrs;
}

/** Repeated fixed64 (packed or not) or repeated double, appended to `into`. */
function repeated64(
  buf: Uint8Array,
  f: FieldRef,
  what: string,
  read: (pos: number) => number,
  into: number[],
): void {
  if (f.wire === WIRE_I64) {
    into.push(read(f.valueStart));
    return;
  }
  expect(f, WIRE_LEN, what);
  const len = f.end - f.valueStart;
  if (len % 8 !== 0) throw new DecodeError(`${what}: packed length ${len} is not a multiple of 8`);
  for (let p = f.valueStart; p < f.end; p += 8) into.push(read(p));
}

function numberPoint(buf: Uint8Array, f: FieldRef): { time: string; value: number; attributes: Attrs } {
  expect(f, WIRE_LEN, 'NumberDataPoint');
  let time = '0';
  let value = 0;
  const attributes: Attrs = {};
  fields(buf, f.valueStart, f.end, 'NumberDataPoint', (p) => {
    if (p.field === 3) time = nanos(buf, p, 'NumberDataPoint.time_unix_nano');
    else if (p.field === 4) value = f64(buf, p, 'NumberDataPoint.as_double');
    else if (p.field === 6) {
      expect(p, WIRE_I64, 'NumberDataPoint.as_int');
      value = toNumber(BigInt.asIntN(64, u64(buf, p.valueStart)));
    } else if (p.field === 7) addAttr(attributes, buf, p, 'NumberDataPoint.attributes');
  });
  return { time, value, attributes };
}

function histogramPoint(
  buf: Uint8Array,
  f: FieldRef,
): { time: string; hist: HistogramPointModel; attributes: Attrs } {
  expect(f, WIRE_LEN, 'HistogramDataPoint');
  let time = '0';
  let count = 0;
  let sum = 0;
  const bucketCounts: number[] = [];
  const explicitBounds: number[] = [];
  const attributes: Attrs = {};
  const view = dv(buf);
  fields(buf, f.valueStart, f.end, 'HistogramDataPoint', (p) => {
    switch (p.field) {
      case 3:
        time = nanos(buf, p, 'HistogramDataPoint.time_unix_nano');
        break;
      case 4:
        expect(p, WIRE_I64, 'HistogramDataPoint.count');
        count = toNumber(u64(buf, p.valueStart));
        break;
      case 5:
        sum = f64(buf, p, 'HistogramDataPoint.sum');
        break;
      case 6:
        repeated64(
          buf,
          p,
          'HistogramDataPoint.bucket_counts',
          (pos) => toNumber(u64(buf, pos)),
          bucketCounts,
        );
        break;
      case 7:
        repeated64(
          buf,
          p,
          'HistogramDataPoint.explicit_bounds',
          (pos) => view.getFloat64(pos, true),
          explicitBounds,
        );
        break;
      case 9:
        addAttr(attributes, buf, p, 'HistogramDataPoint.attributes');
        break;
    }
  });
  if (bucketCounts.length !== 0 && bucketCounts.length !== explicitBounds.length + 1) {
    throw new DecodeError(
      `HistogramDataPoint has ${bucketCounts.length} bucket counts for ${explicitBounds.length} bounds (expected bounds + 1)`,
    );
  }
  return { time, hist: { explicitBounds, bucketCounts, count, sum }, attributes };
}

function zigzag(b: bigint): number {
  return Number((b >> 1n) ^ -(b & 1n));
}

function expBuckets(buf: Uint8Array, f: FieldRef): { offset: number; counts: number[] } {
  expect(f, WIRE_LEN, 'ExponentialHistogramDataPoint.Buckets');
  let offset = 0;
  const counts: number[] = [];
  fields(buf, f.valueStart, f.end, 'Buckets', (b) => {
    if (b.field === 1) offset = zigzag(varintBig(buf, b, 'Buckets.offset'));
    else if (b.field === 2) {
      if (b.wire === WIRE_VARINT) counts.push(varint(buf, b, 'Buckets.bucket_counts'));
      else {
        expect(b, WIRE_LEN, 'Buckets.bucket_counts');
        let pos = b.valueStart;
        while (pos < b.end) {
          let v = 0;
          let mul = 1;
          for (;;) {
            if (pos >= b.end) throw new DecodeError('Buckets.bucket_counts: truncated packed varint');
            const byte = buf[pos++]!;
            v += (byte & 0x7f) * mul;
            mul *= 128;
            if (byte < 0x80) break;
          }
          counts.push(v);
        }
      }
    }
  });
  return { offset, counts };
}

/**
 * Exponential histograms are turned into explicit-bound histograms: bucket i of the positive range is
 * (base^(offset+i), base^(offset+i+1)] with base = 2^(2^-scale); zero and negative counts fall in the first bucket.
 */
function expHistogramPoint(
  buf: Uint8Array,
  f: FieldRef,
): { time: string; hist: HistogramPointModel; attributes: Attrs } {
  expect(f, WIRE_LEN, 'ExponentialHistogramDataPoint');
  let time = '0';
  let count = 0;
  let sum = 0;
  let scale = 0;
  let zeroCount = 0;
  let positive = { offset: 0, counts: [] as number[] };
  let negativeTotal = 0;
  const attributes: Attrs = {};
  fields(buf, f.valueStart, f.end, 'ExponentialHistogramDataPoint', (p) => {
    switch (p.field) {
      case 1:
        addAttr(attributes, buf, p, 'ExponentialHistogramDataPoint.attributes');
        break;
      case 3:
        time = nanos(buf, p, 'ExponentialHistogramDataPoint.time_unix_nano');
        break;
      case 4:
        expect(p, WIRE_I64, 'ExponentialHistogramDataPoint.count');
        count = toNumber(u64(buf, p.valueStart));
        break;
      case 5:
        sum = f64(buf, p, 'ExponentialHistogramDataPoint.sum');
        break;
      case 6:
        scale = zigzag(varintBig(buf, p, 'ExponentialHistogramDataPoint.scale'));
        break;
      case 7:
        expect(p, WIRE_I64, 'ExponentialHistogramDataPoint.zero_count');
        zeroCount = toNumber(u64(buf, p.valueStart));
        break;
      case 8:
        positive = expBuckets(buf, p);
        break;
      case 9:
        negativeTotal = expBuckets(buf, p).counts.reduce((a, b) => a + b, 0);
        break;
    }
  });
  const base = Math.pow(2, Math.pow(2, -scale));
  const n = positive.counts.length;
  const explicitBounds: number[] = [];
  for (let i = 0; i <= n && n > 0; i++) explicitBounds.push(Math.pow(base, positive.offset + i));
  const bucketCounts = n > 0 ? [zeroCount + negativeTotal, ...positive.counts, 0] : [];
  return { time, hist: { explicitBounds, bucketCounts, count, sum }, attributes };
}

function summaryPoint(
  buf: Uint8Array,
  f: FieldRef,
): { time: string; hist: HistogramPointModel; attributes: Attrs } {
  expect(f, WIRE_LEN, 'SummaryDataPoint');
  let time = '0';
  let count = 0;
  let sum = 0;
  const attributes: Attrs = {};
  fields(buf, f.valueStart, f.end, 'SummaryDataPoint', (p) => {
    if (p.field === 3) time = nanos(buf, p, 'SummaryDataPoint.time_unix_nano');
    else if (p.field === 4) {
      expect(p, WIRE_I64, 'SummaryDataPoint.count');
      count = toNumber(u64(buf, p.valueStart));
    } else if (p.field === 5) sum = f64(buf, p, 'SummaryDataPoint.sum');
    else if (p.field === 7) addAttr(attributes, buf, p, 'SummaryDataPoint.attributes');
  });
  return { time, hist: { explicitBounds: [], bucketCounts: [], count, sum }, attributes };
}

function metricData(
  buf: Uint8Array,
  f: FieldRef,
  head: MetricHead,
  type: MetricPointModel['type'],
  out: MetricPointModel[],
): void {
  expect(f, WIRE_LEN, `Metric.${type}`);
  let monotonic = false;
  const points: FieldRef[] = [];
  fields(buf, f.valueStart, f.end, type, (d) => {
    if (d.field === 1) {
      expect(d, WIRE_LEN, `${type}.data_points`);
      points.push(d);
    } else if (d.field === 3 && type === 'sum') monotonic = varint(buf, d, 'Sum.is_monotonic') !== 0;
  });
  for (const p of points) {
    const base = { name: head.name, description: head.description, unit: head.unit, type, monotonic };
    if (type === 'gauge' || type === 'sum') {
      const np = numberPoint(buf, p);
      out.push({
        ...base,
        timeUnixNano: np.time,
        attributes: np.attributes,
        resource: head.resource,
        value: np.value,
      });
    } else {
      const hp =
        type === 'histogram'
          ? histogramPoint(buf, p)
          : type === 'exponential_histogram'
            ? expHistogramPoint(buf, p)
            : summaryPoint(buf, p);
      out.push({
        ...base,
        timeUnixNano: hp.time,
        attributes: hp.attributes,
        resource: head.resource,
        histogram: hp.hist,
      });
    }
  }
}

const DATA_FIELDS: Record<number, MetricPointModel['type']> = {
  5: 'gauge',
  7: 'sum',
  9: 'histogram',
  10: 'exponential_histogram',
  11: 'summary',
};

/** One MetricPointModel per data point (gauge, sum, histogram, exponential histogram, summary). */
export function decodeMetrics(bytes: Uint8Array): Result<MetricPointModel[], string> {
  return guard(() => {
    const out: MetricPointModel[] = [];
    walkRequest(bytes, 'Metrics', (buf, mf, res) => {
      const head: MetricHead = { name: '', description: '', unit: '', resource: res };
      const data: { f: FieldRef; type: MetricPointModel['type'] }[] = [];
      fields(buf, mf.valueStart, mf.end, 'Metric', (f) => {
        if (f.field === 1) head.name = str(buf, f, 'Metric.name');
        else if (f.field === 2) head.description = str(buf, f, 'Metric.description');
        else if (f.field === 3) head.unit = str(buf, f, 'Metric.unit');
        else {
          const type = DATA_FIELDS[f.field];
          if (type) data.push({ f, type });
        }
      });
      for (const d of data) metricData(buf, d.f, head, d.type, out);
    });
    return out;
  });
}
