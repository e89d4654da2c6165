/**
 * OTLP/JSON (the protobuf JSON mapping as profiled by the OTLP spec: lowerCamelCase keys, trace/span ids as hex,
 * 64-bit integers as decimal strings or numbers, enums as integers) transcoded to OTLP protobuf.
 *
 * The transcoder is driven by a table of the opentelemetry-proto messages, so it is lossless for every field it knows
 * (span events and links, scope versions, exemplars, ...); unknown keys are ignored as the spec requires. snake_case
 * keys and enum names (e.g. "SPAN_KIND_SERVER") are accepted too, leniently. The JSON -> model functions go through
 * protobuf, so JSON and protobuf input decode identically.
 */
import { err, ok, type Result } from '../result.js';
import { ProtoWriter, hexToBytes } from './encode.js';
import { decodeLogs, decodeMetrics, decodeTraces } from './decode.js';
import type { LogModel, MetricPointModel, SpanModel } from './model.js';

export type OtlpSignal = 'traces' | 'metrics' | 'logs';

type Scalar =
  | 'string'
  | 'bool'
  | 'int64'
  | 'uint32'
  | 'sint32'
  | 'fixed64'
  | 'sfixed64'
  | 'fixed32'
  | 'double'
  | 'hex'
  | 'base64'
  | 'packedFixed64'
  | 'packedDouble'
  | 'packedUint64';

interface FieldDef {
  readonly n: number;
  /** A scalar type, `enum:<Name>` or a message name. */
  readonly t: Scalar | `enum:${string}` | string;
  readonly rep?: boolean;
}

type MsgDef = Record<string, FieldDef>;

const SCALARS = new Set<string>([
  'string',
  'bool',
  'int64',
  'uint32',
  'sint32',
  'fixed64',
  'sfixed64',
  'fixed32',
  'double',
  'hex',
  'base64',
  'packedFixed64',
  'packedDouble',
  'packedUint64',
]);

/** OTLP/JSON spells enums by name: Span.SpanKind and Status.StatusCode names to their protobuf numbers. */
export const SPAN_KINDS: Readonly<Record<string, number>> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};
export const STATUS_CODES: Readonly<Record<string, number>> = {
  STATUS_CODE_UNSET: 0,
  STATUS_CODE_OK: 1,
  STATUS_CODE_ERROR: 2,
};

const ENUMS: Record<string, Readonly<Record<string, number>>> = {
  SpanKind: SPAN_KINDS,
  StatusCode: STATUS_CODES,
  AggregationTemporality: {
    AGGREGATION_TEMPORALITY_UNSPECIFIED: 0,
    AGGREGATION_TEMPORALITY_DELTA: 1,
    AGGREGATION_TEMPORALITY_CUMULATIVE: 2,
  },
  SeverityNumber: Object.fromEntries(
    [
      'UNSPECIFIED',
      'TRACE',
      'TRACE2',
      'TRACE3',
      'TRACE4',
      'DEBUG',
      'DEBUG2',
      'DEBUG3',
      'DEBUG4',
      'INFO',
      'INFO2',
    ]
      .concat([
        'INFO3',
        'INFO4',
        'WARN',
        'WARN2',
        'WARN3',
        'WARN4',
        'ERROR',
        'ERROR2',
        'ERROR3',
        'ERROR4',
        'FATAL',
      ])
      .concat(['FATAL2', 'FATAL3', 'FATAL4'])
      .map((n, i) => [`SEVERITY_NUMBER_${n}`, i]),
  ),
};

const KV: FieldDef = { n: 0, t: 'KeyValue', rep: true };
const at = (n: number): FieldDef => ({ ...KV, n });

/** opentelemetry-proto v1 messages, keyed by their JSON (lowerCamelCase) field names. */
const MESSAGES: Record<string, MsgDef> = {
  // common/v1
  AnyValue: {
    stringValue: { n: 1, t: 'string' },
    boolValue: { n: 2, t: 'bool' },
    intValue: { n: 3, t: 'int64' },
    doubleValue: { n: 4, t: 'double' },
    arrayValue: { n: 5, t: 'ArrayValue' },
    kvlistValue: { n: 6, t: 'KeyValueList' },
    bytesValue: { n: 7, t: 'base64' },
  },
  ArrayValue: { values: { n: 1, t: 'AnyValue', rep: true } },
  KeyValueList: { values: at(1) },
  KeyValue: { key: { n: 1, t: 'string' }, value: { n: 2, t: 'AnyValue' } },
  InstrumentationScope: {
    name: { n: 1, t: 'string' },
    version: { n: 2, t: 'string' },
    attributes: at(3),
    droppedAttributesCount: { n: 4, t: 'uint32' },
  },
  Resource: { attributes: at(1), droppedAttributesCount: { n: 2, t: 'uint32' } },
  // trace/v1
  ExportTraceServiceRequest: { resourceSpans: { n: 1, t: 'ResourceSpans', rep: true } },
  ResourceSpans: {
    resource: { n: 1, t: 'Resource' },
    scopeSpans: { n: 2, t: 'ScopeSpans', rep: true },
    schemaUrl: { n: 3, t: 'string' },
  },
  ScopeSpans: {
    scope: { n: 1, t: 'InstrumentationScope' },
    spans: { n: 2, t: 'Span', rep: true },
    schemaUrl: { n: 3, t: 'string' },
  },
  Span: {
    traceId: { n: 1, t: 'hex' },
    spanId: { n: 2, t: 'hex' },
    traceState: { n: 3, t: 'string' },
    parentSpanId: { n: 4, t: 'hex' },
    name: { n: 5, t: 'string' },
    kind: { n: 6, t: 'enum:SpanKind' },
    startTimeUnixNano: { n: 7, t: 'fixed64' },
    endTimeUnixNano: { n: 8, t: 'fixed64' },
    attributes: at(9),
    droppedAttributesCount: { n: 10, t: 'uint32' },
    events: { n: 11, t: 'SpanEvent', rep: true },
    droppedEventsCount: { n: 12, t: 'uint32' },
    links: { n: 13, t: 'SpanLink', rep: true },
    droppedLinksCount: { n: 14, t: 'uint32' },
    status: { n: 15, t: 'Status' },
    flags: { n: 16, t: 'fixed32' },
  },
  SpanEvent: {
    timeUnixNano: { n: 1, t: 'fixed64' },
    name: { n: 2, t: 'string' },
    attributes: at(3),
    droppedAttributesCount: { n: 4, t: 'uint32' },
  },
  SpanLink: {
    traceId: { n: 1, t: 'hex' },
    spanId: { n: 2, t: 'hex' },
    traceState: { n: 3, t: 'string' },
    attributes: at(4),
    droppedAttributesCount: { n: 5, t: 'uint32' },
    flags: { n: 6, t: 'fixed32' },
  },
  Status: { message: { n: 2, t: 'string' }, code: { n: 3, t: 'enum:StatusCode' } },
  // logs/v1
  ExportLogsServiceRequest: { resourceLogs: { n: 1, t: 'ResourceLogs', rep: true } },
  ResourceLogs: {
    resource: { n: 1, t: 'Resource' },
    scopeLogs: { n: 2, t: 'ScopeLogs', rep: true },
    schemaUrl: { n: 3, t: 'string' },
  },
  ScopeLogs: {
    scope: { n: 1, t: 'InstrumentationScope' },
    logRecords: { n: 2, t: 'LogRecord', rep: true },
    schemaUrl: { n: 3, t: 'string' },
  },
  LogRecord: {
    timeUnixNano: { n: 1, t: 'fixed64' },
    severityNumber: { n: 2, t: 'enum:SeverityNumber' },
    severityText: { n: 3, t: 'string' },
    body: { n: 5, t: 'AnyValue' },
    attributes: at(6),
    droppedAttributesCount: { n: 7, t: 'uint32' },
    flags: { n: 8, t: 'fixed32' },
    traceId: { n: 9, t: 'hex' },
    spanId: { n: 10, t: 'hex' },
    observedTimeUnixNano: { n: 11, t: 'fixed64' },
    eventName: { n: 12, t: 'string' },
  },
  // metrics/v1
  ExportMetricsServiceRequest: { resourceMetrics: { n: 1, t: 'ResourceMetrics', rep: true } },
  ResourceMetrics: {
    resource: { n: 1, t: 'Resource' },
    scopeMetrics: { n: 2, t: 'ScopeMetrics', rep: true },
    schemaUrl: { n: 3, t: 'string' },
  },
  ScopeMetrics: {
    scope: { n: 1, t: 'InstrumentationScope' },
    metrics: { n: 2, t: 'Metric', rep: true },
    schemaUrl: { n: 3, t: 'string' },
  },
  Metric: {
    name: { n: 1, t: 'string' },
    description: { n: 2, t: 'string' },
    unit: { n: 3, t: 'string' },
    gauge: { n: 5, t: 'Gauge' },
    sum: { n: 7, t: 'Sum' },
    histogram: { n: 9, t: 'Histogram' },
    exponentialHistogram: { n: 10, t: 'ExponentialHistogram' },
    summary: { n: 11, t: 'Summary' },
    metadata: at(12),
  },
  Gauge: { dataPoints: { n: 1, t: 'NumberDataPoint', rep: true } },
  Sum: {
    dataPoints: { n: 1, t: 'NumberDataPoint', rep: true },
    aggregationTemporality: { n: 2, t: 'enum:AggregationTemporality' },
    isMonotonic: { n: 3, t: 'bool' },
  },
  Histogram: {
    dataPoints: { n: 1, t: 'HistogramDataPoint', rep: true },
    aggregationTemporality: { n: 2, t: 'enum:AggregationTemporality' },
  },
  ExponentialHistogram: {
    dataPoints: { n: 1, t: 'ExponentialHistogramDataPoint', rep: true },
    aggregationTemporality: { n: 2, t: 'enum:AggregationTemporality' },
  },
  Summary: { dataPoints: { n: 1, t: 'SummaryDataPoint', rep: true } },
  NumberDataPoint: {
    startTimeUnixNano: { n: 2, t: 'fixed64' },
    timeUnixNano: { n: 3, t: 'fixed64' },
    asDouble: { n: 4, t: 'double' },
    exemplars: { n: 5, t: 'Exemplar', rep: true },
    asInt: { n: 6, t: 'sfixed64' },
    attributes: at(7),
    flags: { n: 8, t: 'uint32' },
  },
  HistogramDataPoint: {
    startTimeUnixNano: { n: 2, t: 'fixed64' },
    timeUnixNano: { n: 3, t: 'fixed64' },
    count: { n: 4, t: 'fixed64' },
    sum: { n: 5, t: 'double' },
    bucketCounts: { n: 6, t: 'packedFixed64' },
    explicitBounds: { n: 7, t: 'packedDouble' },
    exemplars: { n: 8, t: 'Exemplar', rep: true },
    attributes: at(9),
    flags: { n: 10, t: 'uint32' },
    min: { n: 11, t: 'double' },
    max: { n: 12, t: 'double' },
  },
  ExponentialHistogramDataPoint: {
    attributes: at(1),
    startTimeUnixNano: { n: 2, t: 'fixed64' },
    timeUnixNano: { n: 3, t: 'fixed64' },
    count: { n: 4, t: 'fixed64' },
    sum: { n: 5, t: 'double' },
    scale: { n: 6, t: 'sint32' },
    zeroCount: { n: 7, t: 'fixed64' },
    positive: { n: 8, t: 'Buckets' },
    negative: { n: 9, t: 'Buckets' },
    flags: { n: 10, t: 'uint32' },
    exemplars: { n: 11, t: 'Exemplar', rep: true },
    min: { n: 12, t: 'double' },
    max: { n: 13, t: 'double' },
    zeroThreshold: { n: 14, t: 'double' },
  },
  Buckets: { offset: { n: 1, t: 'sint32' }, bucketCounts: { n: 2, t: 'packedUint64' } },
  SummaryDataPoint: {
    startTimeUnixNano: { n: 2, t: 'fixed64' },
    timeUnixNano: { n: 3, t: 'fixed64' },
    count: { n: 4, t: 'fixed64' },
    sum: { n: 5, t: 'double' },
    quantileValues: { n: 6, t: 'ValueAtQuantile', rep: true },
    attributes: at(7),
    flags: { n: 8, t: 'uint32' },
  },
  ValueAtQuantile: { quantile: { n: 1, t: 'double' }, value: { n: 2, t: 'double' } },
  Exemplar: {
    timeUnixNano: { n: 2, t: 'fixed64' },
    asDouble: { n: 3, t: 'double' },
    spanId: { n: 4, t: 'hex' },
    traceId: { n: 5, t: 'hex' },
    asInt: { n: 6, t: 'sfixed64' },
    filteredAttributes: at(7),
  },
};

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** JSON name and snake_case name -> field, per message. */
const LOOKUP: Record<string, Map<string, FieldDef>> = Object.fromEntries(
  Object.entries(MESSAGES).map(([name, def]) => {
    const m = new Map<string, FieldDef>();
    for (const [k, f] of Object.entries(def)) {
      m.set(k, f);
      m.set(snake(k), f);
    }
    return [name, m];
  }),
);

const ROOT: Record<OtlpSignal, string> = {
  traces: 'ExportTraceServiceRequest',
  metrics: 'ExportMetricsServiceRequest',
  logs: 'ExportLogsServiceRequest',
};

class JsonError extends Error {}

const INT = /^-?\d+$/;
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);

function bigIntOf(v: unknown, path: string, min: bigint, max: bigint): bigint {
  let b: bigint;
  if (typeof v === 'number' && Number.isInteger(v)) b = BigInt(v);
  else if (typeof v === 'string' && INT.test(v.trim())) b = BigInt(v.trim());
  else
    throw new JsonError(`${path}: expected an integer (number or decimal string), got ${JSON.stringify(v)}`);
  if (b < min || b > max) throw new JsonError(`${path}: integer ${b} out of range`);
  return b;
}

function doubleOf(v: unknown, path: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    const n = Number(v);
    if (v.trim() !== '' && !Number.isNaN(n)) return n;
  }
  throw new JsonError(`${path}: expected a number, got ${JSON.stringify(v)}`);
}

function enumOf(v: unknown, table: Record<string, number> | undefined, path: string): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string') {
    if (INT.test(v)) return Number(v);
    const n = table?.[v];
    if (n !== undefined) return n;
  }
  throw new JsonError(`${path}: expected an enum integer, got ${JSON.stringify(v)}`);
}

function writeScalar(w: ProtoWriter, f: FieldDef, v: unknown, path: string): void {
  switch (f.t) {
    case 'string':
      if (typeof v !== 'string') throw new JsonError(`${path}: expected a string, got ${JSON.stringify(v)}`);
      w.string(f.n, v);
      return;
    case 'bool':
      if (typeof v !== 'boolean')
        throw new JsonError(`${path}: expected a boolean, got ${JSON.stringify(v)}`);
      w.bool(f.n, v);
      return;
    case 'int64':
      w.varint(f.n, bigIntOf(v, path, I64_MIN, U64_MAX));
      return;
    case 'uint32':
      w.varint(f.n, bigIntOf(v, path, 0n, 0xffffffffn));
      return;
    case 'sint32':
      w.sint(f.n, bigIntOf(v, path, -(1n << 31n), (1n << 31n) - 1n));
      return;
    case 'fixed64':
      w.fixed64(f.n, bigIntOf(v, path, 0n, U64_MAX));
      return;
    case 'sfixed64':
      w.fixed64(f.n, bigIntOf(v, path, I64_MIN, (1n << 63n) - 1n));
      return;
    case 'fixed32':
      w.fixed32(f.n, Number(bigIntOf(v, path, 0n, 0xffffffffn)));
      return;
    case 'double':
      w.double(f.n, doubleOf(v, path));
      return;
    case 'hex': {
      if (typeof v !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(v)) {
        throw new JsonError(`${path}: expected a hex-encoded id, got ${JSON.stringify(v)}`);
      }
      if (v.length > 0) w.bytes(f.n, hexToBytes(v));
      return;
    }
    case 'base64': {
      if (typeof v !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(v)) {
        throw new JsonError(`${path}: expected base64 bytes, got ${JSON.stringify(v)}`);
      }
      w.bytes(f.n, new Uint8Array(Buffer.from(v, 'base64')));
      return;
    }
    case 'packedFixed64':
    case 'packedDouble':
    case 'packedUint64': {
      if (!Array.isArray(v)) throw new JsonError(`${path}: expected an array`);
      if (f.t === 'packedDouble')
        w.packedDouble(
          f.n,
          v.map((x, i) => doubleOf(x, `${path}[${i}]`)),
        );
      else if (f.t === 'packedFixed64')
        w.packedFixed64(
          f.n,
          v.map((x, i) => bigIntOf(x, `${path}[${i}]`, 0n, U64_MAX)),
        );
      else
        w.packedVarint(
          f.n,
          v.map((x, i) => bigIntOf(x, `${path}[${i}]`, 0n, U64_MAX)),
        );
      return;
    }
  }
  throw new Error(`unknown scalar type ${f.t}`);
}

function writeMessage(w: ProtoWriter, type: string, obj: unknown, path: string): void {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new JsonError(`${path || 'request'}: expected a JSON object (${type})`);
  }
  const lookup = LOOKUP[type];
  if (!lookup) throw new Error(`no message table for ${type}`);
  for (const [key, value] of Object.entries(obj)) {
    const f = lookup.get(key);
    if (!f || value === null || value === undefined) continue; // unknown fields are ignored
    const p = path ? `${path}.${key}` : key;
    const one = (v: unknown, pp: string) => {
      if (SCALARS.has(f.t)) writeScalar(w, f, v, pp);
      else if (f.t.startsWith('enum:')) w.varint(f.n, enumOf(v, ENUMS[f.t.slice(5)], pp));
      else w.message(f.n, (sub) => writeMessage(sub, f.t, v, pp));
    };
    if (f.rep) {
      if (!Array.isArray(value)) throw new JsonError(`${p}: expected an array`);
      value.forEach((v, i) => one(v, `${p}[${i}]`));
    } else one(value, p);
  }
}

/** Transcodes an OTLP/JSON export request to its protobuf encoding. */
export function otlpJsonToProto(
  signal: OtlpSignal,
  jsonText: string | Uint8Array,
): Result<Uint8Array, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof jsonText === 'string' ? jsonText : new TextDecoder().decode(jsonText));
  } catch (e) {
    return err(`OTLP/JSON body is not valid JSON: ${(e as Error).message}`);
  }
  return otlpObjectToProto(signal, parsed);
}

/** As otlpJsonToProto, from an already parsed value. */
export function otlpObjectToProto(signal: OtlpSignal, value: unknown): Result<Uint8Array, string> {
  const w = new ProtoWriter();
  try {
    writeMessage(w, ROOT[signal], value, '');
  } catch (e) {
    if (e instanceof JsonError) return err(`invalid OTLP/JSON ${signal} request: ${e.message}`);
    throw e;
  }
  return ok(w.finish());
}

export function decodeTracesJson(jsonText: string | Uint8Array): Result<SpanModel[], string> {
  const p = otlpJsonToProto('traces', jsonText);
  return p.ok ? decodeTraces(p.value) : p;
}

export function decodeLogsJson(jsonText: string | Uint8Array): Result<LogModel[], string> {
  const p = otlpJsonToProto('logs', jsonText);
  return p.ok ? decodeLogs(p.value) : p;
}

export function decodeMetricsJson(jsonText: string | Uint8Array): Result<MetricPointModel[], string> {
  const p = otlpJsonToProto('metrics', jsonText);
  return p.ok ? decodeMetrics(p.value) : p;
}
