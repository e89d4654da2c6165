/**
 * Span and log fingerprinting: turns decoded telemetry into FingerprintedRecords (redacted, normalised, templated).
 * Pure: all state lives in the injected redactor / route folder / template miner.
 */
import type { AttrValue, Attrs, LogModel, SpanModel } from '../otlp/model.js';
import { SpanKind, StatusCode } from '../otlp/model.js';
import type { FingerprintedRecord, RawLogBatch } from '../../events/schemas.js';
import { stableId } from '../hash.js';
import { mergeCounts, type RedactionCounts, type Redactor } from './redact.js';
import { type RouteFolder, httpRoute, normalisePath, spanOperation } from './routes.js';
import type { TemplateMiner } from './templates.js';

export interface SpanDeps {
  readonly redactor: Redactor;
  readonly routes: RouteFolder;
}

export interface LogDeps {
  readonly redactor: Redactor;
  readonly miner: TemplateMiner;
}

const KIND_NAMES: Record<number, string> = {
  [SpanKind.UNSPECIFIED]: 'unspecified',
  [SpanKind.INTERNAL]: 'internal',
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
};

/** gRPC codes that mean the server failed (OTel semconv); CANCELLED, NOT_FOUND, INVALID_ARGUMENT… are caller-side. */
export const GRPC_SERVER_FAULTS: ReadonlySet<number> = new Set([2, 4, 12, 13, 14, 15]);
const GRPC_CODE_NAMES: Readonly<Record<string, number>> = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, DATA_LOSS: 15, UNAUTHENTICATED: 16,
}; // prettier-ignore

/** Raw URL attributes that carry unbounded cardinality (and query strings): dropped from records. */
const DROPPED_URL_ATTRS = ['url.full', 'http.url', 'url.query'];
/** Path attributes kept, but redacted and normalised. */
const PATH_ATTRS = ['url.path', 'http.target'];

function serviceName(resource: Attrs, attributes?: Attrs): string {
  const candidates = [resource['service.name'], attributes?.['service.name'], attributes?.['service']];
  for (const c of candidates) {
    if (typeof c === 'string' && c.trim().length > 0) return c.trim();
  }
  return 'unknown_service';
}

/** An integer attribute value: an integer number, or a decimal string of at most 9 digits (blanks around allowed). */
export function intOf(v: AttrValue | undefined): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? v : undefined;
  if (typeof v === 'string') {
    const t = v.trim();
    if (/^-?\d{1,9}$/.test(t)) return Number(t);
  }
  return undefined;
}

function intAttr(a: Attrs, ...keys: string[]): number | undefined {
  for (const k of keys) {
    const n = intOf(a[k]);
    if (n !== undefined) return n;
  }
  return undefined;
}

/** gRPC status code: rpc.grpc.status_code, else the newer rpc.response.status_code by name or number. */
export function grpcStatusOf(
  code: AttrValue | undefined,
  response: AttrValue | undefined,
): number | undefined {
  const n = intOf(code);
  if (n !== undefined) return n;
  if (typeof response === 'string') {
    const up = response.trim().toUpperCase();
    return up in GRPC_CODE_NAMES ? GRPC_CODE_NAMES[up] : intOf(up);
  }
  return intOf(response);
}

const NANO_RE = /^\d{1,20}$/;

/**
 * The one definition of a server-side failure (the availability SLI's "bad"), used by fingerprinting and by the
 * streaming analyser: HTTP 5xx; gRPC UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS;
 * otherwise an ERROR status. 4xx and gRPC caller-side codes are never bad, even when the instrumentation set ERROR,
 * and neither are cancellations (`error.type` naming a cancel).
 */
export function faultOf(
  statusCode: number,
  httpStatus: AttrValue | undefined,
  grpcCode: AttrValue | undefined,
  rpcResponse: AttrValue | undefined,
  errorType: AttrValue | undefined,
): boolean {
  const http = intOf(httpStatus);
  if (http !== undefined) return http >= 500;
  const rpc = grpcStatusOf(grpcCode, rpcResponse);
  if (rpc !== undefined) return GRPC_SERVER_FAULTS.has(rpc);
  if (statusCode !== StatusCode.ERROR) return false;
  return !(typeof errorType === 'string' && /cancel/i.test(errorType));
}

/** Milliseconds between two unix-nano strings (BigInt, exact); undefined when either is not a nano string. */
function durationMs(start: string, end: string): number | undefined {
  if (!NANO_RE.test(start) || !NANO_RE.test(end)) return undefined;
  const d = BigInt(end) - BigInt(start);
  if (d <= 0n) return 0;
  // whole ms via BigInt, sub-ms remainder as a float: exact for any realistic duration
  return Number(d / 1_000_000n) + Number(d % 1_000_000n) / 1e6;
}

function withCounts(rec: FingerprintedRecord, counts: RedactionCounts): FingerprintedRecord {
  if (Object.keys(counts).length > 0) rec.redactions = counts;
  return rec;
}

export function fingerprintSpan(span: SpanModel, deps: SpanDeps): FingerprintedRecord {
  const service = serviceName(span.resource);
  const counts: RedactionCounts = {};

  // operation: HTTP routes go through the cardinality cap; everything is redacted as a last line of defence.
  const http = httpRoute(span);
  let operation: string;
  if (http) {
    const redactedPath = deps.redactor.redact(http.path);
    mergeCounts(counts, redactedPath.counts);
    operation = `${http.method} ${deps.routes.fold(service, http.method, redactedPath.text)}`;
  } else {
    const r = deps.redactor.redact(spanOperation(span));
    mergeCounts(counts, r.counts);
    operation = r.text;
  }

  // attributes: drop raw URLs, normalise paths (before redaction, so `/users/jo@x.com` becomes `/users/{email}`),
  // then redact what is left. Counts cover only what the record carries.
  const pre: Attrs = { ...span.attributes };
  for (const k of DROPPED_URL_ATTRS) delete pre[k];
  for (const k of PATH_ATTRS) {
    const v = pre[k];
    if (typeof v === 'string') pre[k] = normalisePath(v);
  }
  const ra = deps.redactor.redactAttrs(pre);
  mergeCounts(counts, ra.counts);
  const attributes: Attrs = ra.attrs;

  const httpStatus = intAttr(span.attributes, 'http.response.status_code', 'http.status_code');
  const rpcCode = grpcStatusOf(
    span.attributes['rpc.grpc.status_code'],
    span.attributes['rpc.response.status_code'],
  );
  let status: FingerprintedRecord['status'];
  const a = span.attributes;
  if (
    faultOf(
      span.statusCode,
      a['http.response.status_code'] ?? a['http.status_code'],
      a['rpc.grpc.status_code'],
      a['rpc.response.status_code'],
      a['error.type'],
    )
  ) {
    status = 'error';
  } else if (span.statusCode === StatusCode.OK || httpStatus !== undefined || rpcCode !== undefined) {
    status = 'ok';
  } else {
    status = 'unset';
  }

  const rec: FingerprintedRecord = {
    kind: 'span',
    service,
    operation,
    template_id: stableId('op_', service + '\u0000' + operation),
    template: operation,
    time_unix_nano: NANO_RE.test(span.startTimeUnixNano) ? span.startTimeUnixNano : '0',
    status,
    span_kind: KIND_NAMES[span.kind] ?? 'unspecified',
    attributes,
  };
  const dur = durationMs(span.startTimeUnixNano, span.endTimeUnixNano);
  if (dur !== undefined) rec.duration_ms = dur;
  if (httpStatus !== undefined) rec.http_status = httpStatus;
  if (rpcCode !== undefined) rec.rpc_code = rpcCode;
  if (span.traceId) rec.trace_id = span.traceId;
  if (span.spanId) rec.span_id = span.spanId;
  if (span.parentSpanId) rec.parent_span_id = span.parentSpanId;
  return withCounts(rec, counts);
}

const ERROR_SEVERITY_TEXT = new Set([
  'ERROR',
  'ERR',
  'FATAL',
  'CRITICAL',
  'CRIT',
  'ALERT',
  'EMERG',
  'EMERGENCY',
  'PANIC',
  'SEVERE',
]);

function logStatus(severityNumber: number, severityText: string): FingerprintedRecord['status'] {
  const text = severityText.trim().toUpperCase();
  if (severityNumber >= 17 || ERROR_SEVERITY_TEXT.has(text)) return 'error';
  if (severityNumber > 0 || text.length > 0) return 'ok';
  return 'unset';
}

export function fingerprintLog(log: LogModel, deps: LogDeps): FingerprintedRecord {
  const service = serviceName(log.resource);
  const counts: RedactionCounts = {};
  const body = deps.redactor.redact(log.body);
  mergeCounts(counts, body.counts);
  const mined = deps.miner.add(body.text); // redact BEFORE mining: templates and params never hold PII
  const ra = deps.redactor.redactAttrs(log.attributes);
  mergeCounts(counts, ra.counts);
  const time =
    log.timeUnixNano !== '0' && NANO_RE.test(log.timeUnixNano)
      ? log.timeUnixNano
      : NANO_RE.test(log.observedTimeUnixNano)
        ? log.observedTimeUnixNano
        : '0';
  const rec: FingerprintedRecord = {
    kind: 'log',
    service,
    operation: mined.templateId,
    template_id: mined.templateId,
    template: mined.template,
    time_unix_nano: time,
    status: logStatus(log.severityNumber, log.severityText),
    attributes: ra.attrs,
    params: mined.params,
  };
  if (log.traceId) rec.trace_id = log.traceId;
  if (log.spanId) rec.span_id = log.spanId;
  return withCounts(rec, counts);
}

/** Severity text -> OTLP severity number (first number of each range); 0 when unknown. */
export function severityNumberFromText(text: string): number {
  const t = text.trim().toUpperCase();
  switch (t) {
    case 'TRACE':
    case 'FINEST':
    case 'FINER':
      return 1;
    case 'DEBUG':
    case 'FINE':
      return 5;
    case 'INFO':
    case 'INFORMATION':
    case 'NOTICE':
    case 'CONFIG':
      return 9;
    case 'WARN':
    case 'WARNING':
      return 13;
    case 'ERROR':
    case 'ERR':
    case 'SEVERE':
      return 17;
    case 'FATAL':
    case 'CRITICAL':
    case 'CRIT':
    case 'ALERT':
    case 'EMERG':
    case 'EMERGENCY':
    case 'PANIC':
      return 21;
    default:
      return 0;
  }
}

const LEVEL_ATTRS = ['severity', 'level', 'log.level', 'loglevel', 'log_level', 'severity_text'];
const BODY_LEVEL_RE =
  /(?:^|[\s[(<|:])(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|SEVERE|FATAL|CRITICAL|PANIC)(?=$|[\s\])>|:,])/;

/** Severity of a raw record: the record's field, else a level-like attribute, else a level word early in the body. */
function rawSeverity(record: RawLogBatch['records'][number]): string {
  if (record.severity !== undefined && record.severity.trim().length > 0) return record.severity.trim();
  for (const k of LEVEL_ATTRS) {
    const v = record.attributes[k];
    if (typeof v === 'string' && v.trim().length > 0) return v.trim();
  }
  const m = BODY_LEVEL_RE.exec(record.body.slice(0, 160));
  return m ? m[1]! : '';
}

function hexAttr(a: Attrs, ...keys: string[]): string {
  for (const k of keys) {
    const v = a[k];
    if (typeof v === 'string' && /^[0-9a-fA-F]+$/.test(v)) return v.toLowerCase();
  }
  return '';
}

/** Fluent Bit / generic raw records: mapped onto a LogModel, then fingerprinted like an OTLP log. */
export function fingerprintRawLog(
  record: RawLogBatch['records'][number],
  deps: LogDeps,
): FingerprintedRecord {
  const severityText = rawSeverity(record);
  const resource: Attrs = { ...record.resource };
  if (resource['service.name'] === undefined) {
    const s = serviceName({}, record.attributes);
    if (s !== 'unknown_service') resource['service.name'] = s;
  }
  const log: LogModel = {
    timeUnixNano: record.time_unix_nano,
    observedTimeUnixNano: record.time_unix_nano,
    severityNumber: severityNumberFromText(severityText),
    severityText,
    body: record.body,
    attributes: record.attributes,
    resource,
    traceId: hexAttr(record.attributes, 'trace_id', 'traceId', 'trace.id'),
    spanId: hexAttr(record.attributes, 'span_id', 'spanId', 'span.id'),
  };
  return fingerprintLog(log, deps);
}
