/**
 * Pure planning for the Prometheus collector: selectors (with defaults for well-known service metrics), bounded
 * time windows driven by a checkpoint, conversion of remote-read results into SampleBatch payloads, and the metric
 * inventory built from the HTTP API's metadata and series answers.
 */
import { err, ok, type Result } from '../result.js';
import type { MetricInventoryEntry } from '../inventory.js';
import type { SampleBatch } from '../../events/schemas.js';
import type { LabelMatcher, Labels, Sample, SeriesSamples, ChunkedSeries } from './proto.js';
import { CHUNK_ENCODING } from './proto.js';
import { decodeXorChunk } from './xor.js';

export interface Selector {
  /** Display name, used in logs and metrics. */
  readonly name: string;
  readonly matchers: readonly LabelMatcher[];
}

const nameRe = (name: string, re: string): Selector => ({
  name,
  matchers: [{ type: 'RE', name: '__name__', value: re }],
});

/**
 * Default selectors: service-level request metrics as the common instrumentations name them in Prometheus.
 * - OpenTelemetry semantic conventions (HTTP and RPC server/client durations, stable and older names);
 * - Prometheus client-library conventions (http_requests_total, http_request_duration_seconds, gRPC middleware);
 * - ingress-nginx, Istio standard metrics, kube-state-metrics workload health.
 */
export const DEFAULT_SELECTORS: readonly Selector[] = [
  nameRe(
    'otel-semconv-http-rpc',
    '(http|rpc)_(server|client)_(request_|call_)?duration(_seconds|_milliseconds)?(_bucket|_sum|_count)?' +
      '|(http|rpc)_server_(active_requests|requests_per_rpc(_bucket|_sum|_count)?)',
  ),
  nameRe(
    'client-library-http',
    'http_requests_total|http_request_duration_seconds(_bucket|_sum|_count)?' +
      '|http_request_size_bytes(_bucket|_sum|_count)?|http_response_size_bytes(_bucket|_sum|_count)?',
  ),
  nameRe(
    'client-library-grpc',
    'grpc_server_(started|handled|msg_received|msg_sent)_total|grpc_server_handling_seconds(_bucket|_sum|_count)?',
  ),
  nameRe(
    'ingress-nginx',
    'nginx_ingress_controller_(requests|request_duration_seconds(_bucket|_sum|_count)?' +
      '|response_duration_seconds(_bucket|_sum|_count)?|request_size(_bucket|_sum|_count)?)',
  ),
  nameRe('istio', 'istio_requests_total|istio_request_duration_milliseconds(_bucket|_sum|_count)?'),
  nameRe(
    'kube-state-metrics',
    'kube_deployment_(spec_replicas|status_replicas(_available|_unavailable)?)' +
      '|kube_pod_container_status_restarts_total|kube_pod_status_ready' +
      '|kube_horizontalpodautoscaler_status_(current|desired)_replicas',
  ),
  nameRe('up', 'up'),
];

const SELECTOR_RE = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*(?:\{(.*)\})?\s*$/s;
const MATCHER_RE = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)/s;

/** Parses a PromQL series selector such as `http_requests_total{job="api",code=~"5.."}` into label matchers. */
export function parseSelector(text: string): Result<Selector, string> {
  const m = SELECTOR_RE.exec(text);
  if (!m) return err(`not a series selector: ${JSON.stringify(text)}`);
  const matchers: LabelMatcher[] = [];
  if (m[1]) matchers.push({ type: 'EQ', name: '__name__', value: m[1] });
  let rest = m[2] ?? '';
  while (rest.trim() !== '') {
    const mm = MATCHER_RE.exec(rest);
    if (!mm)
      return err(`bad label matcher near ${JSON.stringify(rest.slice(0, 40))} in ${JSON.stringify(text)}`);
    const op = mm[2]!;
    const value = mm[3]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    matchers.push({
      type: op === '=' ? 'EQ' : op === '!=' ? 'NEQ' : op === '=~' ? 'RE' : 'NRE',
      name: mm[1]!,
      value,
    });
    rest = rest.slice(mm[0].length);
  }
  if (matchers.length === 0) return err(`selector ${JSON.stringify(text)} matches nothing specific`);
  if (
    matchers.every((x) =>
      x.type === 'RE' || x.type === 'NRE' ? /^(\.\*)?$/.test(x.value) : x.type === 'NEQ',
    )
  )
    return err(
      `selector ${JSON.stringify(text)} needs at least one matcher that does not match the empty string`,
    );
  return ok({ name: text.trim(), matchers });
}

/** PromQL text of a selector (for the HTTP API's match[] parameter). */
export function selectorText(s: Selector): string {
  const ops = { EQ: '=', NEQ: '!=', RE: '=~', NRE: '!~' } as const;
  return `{${s.matchers.map((m) => `${m.name}${ops[m.type]}${JSON.stringify(m.value)}`).join(',')}}`;
}

// ---- windows and checkpoints ------------------------------------------------------------------------------------

export interface Checkpoint {
  /** First millisecond not yet pulled (windows are inclusive at both ends, as remote read is). */
  readonly nextStartMs: number;
  readonly updatedAt: string;
}

export interface WindowPlan {
  readonly startMs: number;
  readonly endMs: number;
}

export interface PlanOptions {
  readonly nowMs: number;
  /** Window length. */
  readonly windowMs: number;
  /** Data younger than this is left for the next pull (scrapes still landing). */
  readonly delayMs: number;
  /** Where a collector without a checkpoint starts: nowMs - initialLookbackMs. */
  readonly initialLookbackMs: number;
  /** Upper bound on windows per pull, so a long outage is caught up in bounded steps. */
  readonly maxWindows: number;
}

/** The windows to pull next: contiguous, non-overlapping, each at most windowMs long, all older than now - delay. */
export function planWindows(cp: Checkpoint | null, o: PlanOptions): WindowPlan[] {
  if (!(o.windowMs > 0)) throw new Error(`planWindows: windowMs must be positive, got ${o.windowMs}`);
  const horizon = o.nowMs - o.delayMs; // inclusive upper bound
  let start = cp ? cp.nextStartMs : o.nowMs - o.initialLookbackMs;
  const out: WindowPlan[] = [];
  while (start <= horizon && out.length < o.maxWindows) {
    const end = Math.min(horizon, start + o.windowMs - 1);
    // A window shorter than a full one is pulled only once the horizon has passed it entirely.
    if (end < start + o.windowMs - 1 && out.length > 0) break;
    out.push({ startMs: start, endMs: end });
    start = end + 1;
  }
  return out;
}

export function parseCheckpoint(bytes: Uint8Array | null): Result<Checkpoint | null, string> {
  if (!bytes) return ok(null);
  try {
    const v = JSON.parse(new TextDecoder().decode(bytes)) as Partial<Checkpoint>;
    if (typeof v.nextStartMs !== 'number' || !Number.isSafeInteger(v.nextStartMs))
      return err('checkpoint has no integer nextStartMs');
    return ok({ nextStartMs: v.nextStartMs, updatedAt: String(v.updatedAt ?? '') });
  } catch (e) {
    return err(`checkpoint is not JSON: ${(e as Error).message}`);
  }
}

// ---- samples -----------------------------------------------------------------------------------------------------

/** Prometheus' staleness marker: a NaN with this exact bit pattern ends a series; it is not a sample. */
export const STALE_NAN_BITS = 0x7ff0000000000002n;
const F64 = new Float64Array(1);
const U64 = new BigUint64Array(F64.buffer);
export function isStaleNaN(v: number): boolean {
  if (!Number.isNaN(v)) return false;
  F64[0] = v;
  return U64[0] === STALE_NAN_BITS;
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Samples of chunked series, decoded (XOR only), clipped to [startMs, endMs]. Other encodings are reported. */
export function samplesFromChunks(
  series: readonly ChunkedSeries[],
  startMs: number,
  endMs: number,
): Result<{ series: SeriesSamples[]; skippedChunks: number }, string> {
  const out = new Map<string, { labels: Labels; samples: Sample[] }>();
  let skipped = 0;
  for (const s of series) {
    const key = JSON.stringify(Object.entries(s.labels).sort());
    let acc = out.get(key);
    if (!acc) {
      acc = { labels: s.labels, samples: [] };
      out.set(key, acc);
    }
    for (const c of s.chunks) {
      if (c.type !== CHUNK_ENCODING.XOR) {
        skipped++;
        continue;
      }
      const d = decodeXorChunk(c.data);
      if (!d.ok) return err(d.error);
      for (const smp of d.value) if (smp.t >= startMs && smp.t <= endMs) acc.samples.push(smp);
    }
  }
  return ok({ series: [...out.values()], skippedChunks: skipped });
}

export interface BatchOptions {
  readonly prometheus: string;
  readonly window: WindowPlan;
  /** Approximate upper bound on one batch's JSON size. */
  readonly maxBatchBytes: number;
}

/** Groups series into SampleBatch payloads (stale markers dropped, samples sorted by time), keyed by metric name. */
export function toSampleBatches(
  series: readonly SeriesSamples[],
  o: BatchOptions,
): { key: string; batch: SampleBatch; samples: number }[] {
  const byName = new Map<string, SampleBatch['series']>();
  for (const s of series) {
    const samples = s.samples
      .filter((x) => !isStaleNaN(x.v))
      .sort((a, b) => a.t - b.t)
      .map((x): [number, string] => [x.t, formatValue(x.v)]);
    if (samples.length === 0) continue;
    const name = s.labels['__name__'] ?? '';
    let list = byName.get(name);
    if (!list) byName.set(name, (list = []));
    list.push({ labels: { ...s.labels }, samples });
  }
  const out: { key: string; batch: SampleBatch; samples: number }[] = [];
  const window = { start_ms: o.window.startMs, end_ms: o.window.endMs };
  for (const name of [...byName.keys()].sort()) {
    let cur: SampleBatch['series'] = [];
    let size = 0;
    let n = 0;
    const flush = () => {
      if (cur.length === 0) return;
      out.push({ key: name, batch: { prometheus: o.prometheus, window, series: cur }, samples: n });
      cur = [];
      size = 0;
      n = 0;
    };
    for (const s of byName.get(name)!) {
      // Split a single huge series across batches too.
      let rest = s.samples;
      const labelBytes = JSON.stringify(s.labels).length + 32;
      while (rest.length > 0) {
        const room = Math.max(1, Math.floor((o.maxBatchBytes - size - labelBytes) / 28));
        if (room < 16 && cur.length > 0) {
          flush();
          continue;
        }
        const take = rest.slice(0, room);
        rest = rest.slice(take.length);
        cur.push({ labels: s.labels, samples: take });
        size += labelBytes + take.length * 28;
        n += take.length;
        if (size >= o.maxBatchBytes) flush();
      }
    }
    flush();
  }
  return out;
}

// ---- inventory -----------------------------------------------------------------------------------------------------

export interface PromMetadata {
  readonly type: string;
  readonly help?: string;
  readonly unit?: string;
}

const SUFFIXES = ['_bucket', '_sum', '_count', '_total', '_created', '_info'];
const SERVICE_LABELS = ['service_name', 'service', 'job'];

/**
 * Builds inventory entries from /api/v1/metadata (metric family -> type) and /api/v1/series answers (label sets).
 * Histogram families get their bucket bounds from the `le` values of their _bucket series.
 */
export function inventoryFromPrometheus(
  metadata: Readonly<Record<string, readonly PromMetadata[]>>,
  series: readonly Labels[],
): MetricInventoryEntry[] {
  const fam = new Map<
    string,
    { type: MetricInventoryEntry['type']; labels: Set<string>; buckets: Set<number>; services: Set<string> }
  >();
  const typeOf = (family: string): MetricInventoryEntry['type'] | null => {
    const t = metadata[family]?.[0]?.type;
    if (t === 'counter' || t === 'gauge' || t === 'histogram' || t === 'summary') return t;
    if (t === 'gaugehistogram') return 'histogram';
    if (t === 'unknown' || t === 'info' || t === 'stateset') return 'gauge';
    return null;
  };
  for (const labels of series) {
    const name = labels['__name__'];
    if (!name) continue;
    let family = name;
    let type = typeOf(name);
    if (type === null) {
      for (const suf of SUFFIXES) {
        if (!name.endsWith(suf)) continue;
        const t = typeOf(name.slice(0, -suf.length));
        if (t === null) continue;
        type = t;
        // Counters are queried by their _total name; histogram/summary series fold into their family.
        if (t !== 'counter') family = name.slice(0, -suf.length);
        break;
      }
    }
    if (type === null) {
      if (name.endsWith('_total')) type = 'counter';
      else if (name.endsWith('_bucket') && labels['le'] !== undefined) {
        type = 'histogram';
        family = name.slice(0, -'_bucket'.length);
      } else type = 'gauge';
    }
    let e = fam.get(family);
    if (!e) fam.set(family, (e = { type, labels: new Set(), buckets: new Set(), services: new Set() }));
    for (const [k, v] of Object.entries(labels)) {
      if (k === '__name__') continue;
      if (k === 'le' && name.endsWith('_bucket')) {
        const b = v === '+Inf' ? Infinity : Number(v);
        if (Number.isFinite(b)) e.buckets.add(b);
        continue;
      }
      if (k === 'quantile' && e.type === 'summary') continue;
      e.labels.add(k);
    }
    for (const k of SERVICE_LABELS) {
      const v = labels[k];
      if (v) {
        e.services.add(v);
        break;
      }
    }
  }
  return [...fam.entries()]
    .map(([name, e]) => ({
      name,
      type: e.type,
      labels: [...e.labels].sort(),
      ...(e.type === 'histogram' && e.buckets.size ? { buckets: [...e.buckets].sort((a, b) => a - b) } : {}),
      services: [...e.services].sort(),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}
