/**
 * Direct walker over a parsed OTLP/JSON ExportTraceServiceRequest (one line of the OpenTelemetry Collector's file
 * exporter): calls back once per span without building protobuf or keeping the request. Accepts the OTLP/JSON
 * mapping (lowerCamelCase, hex ids, 64-bit integers as strings or numbers, enums as integers) and, leniently,
 * snake_case keys and enum names. Pure.
 */
import { err, ok, type Result } from '../result.js';
import type { AttrValue, Attrs } from '../otlp/model.js';
import { SPAN_KINDS, STATUS_CODES } from '../otlp/json.js';
import { nanoToMs, serviceOf, type StreamSpan } from './spans.js';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (o: Obj, a: string, b: string): unknown[] => {
  const v = o[a] ?? o[b];
  return Array.isArray(v) ? v : [];
};

function enumOf(v: unknown, names: Readonly<Record<string, number>>): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return names[v] ?? (/^\d+$/.test(v) ? Number(v) : 0);
  return 0;
}

function anyValue(v: unknown): AttrValue | undefined {
  if (!isObj(v)) return undefined;
  if (typeof v.stringValue === 'string') return v.stringValue;
  if (v.intValue !== undefined) {
    const n = Number(v.intValue);
    return Number.isFinite(n) ? n : String(v.intValue);
  }
  if (typeof v.doubleValue === 'number') return v.doubleValue;
  if (typeof v.boolValue === 'boolean') return v.boolValue;
  if (typeof v.string_value === 'string') return v.string_value;
  if (v.int_value !== undefined) return Number(v.int_value);
  if (typeof v.double_value === 'number') return v.double_value;
  if (typeof v.bool_value === 'boolean') return v.bool_value;
  const a = v.arrayValue ?? v.array_value;
  if (isObj(a) && Array.isArray(a.values)) return JSON.stringify(a.values.map(anyValue));
  return undefined;
}

/** OTLP/JSON KeyValue list -> flat attributes (scalars; arrays as JSON text; kvlists dropped). */
export function attrsOf(list: unknown): Attrs {
  const out: Attrs = {};
  if (!Array.isArray(list)) return out;
  for (const kv of list) {
    if (!isObj(kv) || typeof kv.key !== 'string') continue;
    const v = anyValue(kv.value);
    if (v !== undefined) out[kv.key] = v;
  }
  return out;
}

export interface WalkStats {
  spans: number;
  resources: number;
}

/**
 * Calls `onSpan(service, span)` for every span of a parsed ExportTraceServiceRequest. A value that is not an
 * object with a resourceSpans array is an error value (the caller decides whether to skip the line).
 */
export function walkTracesJson(
  request: unknown,
  onSpan: (service: string, span: StreamSpan) => void,
): Result<WalkStats, string> {
  if (!isObj(request)) return err('not a JSON object');
  const rs = request.resourceSpans ?? request.resource_spans;
  if (!Array.isArray(rs)) return err('no resourceSpans array (is this an OTLP/JSON trace export request?)');
  const st: WalkStats = { spans: 0, resources: 0 };
  for (const r of rs) {
    if (!isObj(r)) continue;
    st.resources++;
    const resource = isObj(r.resource) ? attrsOf(r.resource.attributes) : {};
    const service = serviceOf(resource);
    for (const ss of arr(r, 'scopeSpans', 'scope_spans').concat(arr(r, 'instrumentationLibrarySpans', '_'))) {
      if (!isObj(ss)) continue;
      for (const sp of arr(ss, 'spans', 'spans')) {
        if (!isObj(sp)) continue;
        const start = nanoToMs(numOrStr(sp.startTimeUnixNano ?? sp.start_time_unix_nano));
        const end = nanoToMs(numOrStr(sp.endTimeUnixNano ?? sp.end_time_unix_nano));
        const status = isObj(sp.status) ? sp.status : {};
        st.spans++;
        onSpan(service, {
          spanId: typeof (sp.spanId ?? sp.span_id) === 'string' ? String(sp.spanId ?? sp.span_id) : '',
          parentSpanId:
            typeof (sp.parentSpanId ?? sp.parent_span_id) === 'string'
              ? String(sp.parentSpanId ?? sp.parent_span_id)
              : '',
          name: typeof sp.name === 'string' ? sp.name : '',
          kind: enumOf(sp.kind, SPAN_KINDS),
          startMs: start,
          durationMs: end > start ? end - start : 0,
          statusCode: enumOf(status.code, STATUS_CODES),
          attributes: attrsOf(sp.attributes),
        });
      }
    }
  }
  return ok(st);
}

function numOrStr(v: unknown): string | number {
  return typeof v === 'number' || typeof v === 'string' ? v : 0;
}
