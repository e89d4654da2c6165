/**
 * Streaming span accumulator: folds spans, one at a time, into per-minute operation rollups and call-graph edges
 * without holding the spans. Memory is bounded by (operations x minutes) for rollups, by (operation pairs) for edges
 * and by `parentWindow` for span parentage (span id -> operation of the most recent spans, plus children waiting
 * for a parent that has not arrived yet; exporters usually send children before their parents).
 *
 * Pure: no I/O. Operation names are the fingerprinting stage's (core/fingerprint/routes.ts spanOperation, PII
 * redaction, the route cardinality cap), cached per distinct (service, kind, name, route attributes).
 */
import type { Rollup } from '../../events/schemas.js';
import {
  PROBE_AGENT,
  type CallEdge,
  type OperationInfo,
  type SpanKind as SpanKindName,
} from '../analysis/journeys.js';
import { faultOf } from '../fingerprint/fingerprint.js';
import { createRedactor, type Redactor } from '../fingerprint/redact.js';
import { RouteFolder, httpRoute, spanOperation } from '../fingerprint/routes.js';
import type { AttrValue, Attrs, SpanModel } from '../otlp/model.js';
import { SpanKind } from '../otlp/model.js';
import { DEFAULT_BOUNDS_MS, bucketIndex } from '../rollup.js';
import { ByteInterner, ChildPool, IdMap, Interner, KEY, PendingMap, TupleCache, idKey } from './tables.js';

/** The fields of a span the accumulator reads. */
export interface StreamSpan {
  readonly spanId: string;
  /** '' for a trace root. */
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP SpanKind number. */
  readonly kind: number;
  /** Unix milliseconds (fractional allowed). */
  readonly startMs: number;
  readonly durationMs: number;
  /** OTLP Status.code number. */
  readonly statusCode: number;
  readonly attributes: Attrs;
}

export interface AccumulatorOptions {
  /** Latency bucket bounds of the rollups (ms). */
  readonly boundsMs?: readonly number[];
  /** Span ids remembered for parent resolution (two generations of this size are kept). */
  readonly parentWindow?: number;
  /** Distinct operation-name cache entries before the cache is reset. */
  readonly opCacheSize?: number;
  readonly redactor?: Redactor;
  readonly routes?: RouteFolder;
}

const KIND_NAME: Readonly<Record<number, SpanKindName>> = {
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
  [SpanKind.INTERNAL]: 'internal',
};

/**
 * Whether a span is a server-side failure (the availability SLI's "bad"): HTTP 5xx; gRPC UNKNOWN,
 * DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS; otherwise an ERROR status. 4xx (including
 * 499 client closed request) and gRPC CANCELLED / caller-side codes are never bad, even when the instrumentation
 * set an ERROR status.
 */
export function isServerFault(statusCode: number, a: Attrs): boolean {
  return faultOf(
    statusCode,
    a['http.response.status_code'] ?? a['http.status_code'],
    a['rpc.grpc.status_code'],
    a['rpc.response.status_code'],
    a['error.type'],
  );
}

export interface OpState {
  readonly idx: number;
  readonly service: string;
  readonly operation: string;
  readonly kind: number;
  count: number;
  roots: number;
  /** Parent resolved in another service. */
  remote: number;
  /** Parent resolved in the same service. */
  local: number;
  /** Parent never seen (outside the data or evicted). */
  orphans: number;
  probeUa: string;
  nonProbe: boolean;
  /** Rolled up (entry-capable kinds and roots). */
  readonly minutes: Map<number, Float64Array>;
  lastMinute: number;
  lastRow: Float64Array | undefined;
  /** Last edge of this child (parent op, slot): most children always have the same parent. */
  lastParent: number;
  lastEdge: number;
}

export interface AccumulatorStats {
  readonly spans: number;
  readonly rolledUp: number;
  readonly operations: number;
  readonly edges: number;
  readonly orphans: number;
  readonly skipped: number;
  readonly rollupRows: number;
}

export interface AccumulatedInput {
  readonly window: { readonly start: Date; readonly end: Date };
  readonly rollups: Rollup[];
  readonly operations: OperationInfo[];
  readonly edges: CallEdge[];
  readonly stats: AccumulatorStats;
}

const ROOT = -1;
const UNKNOWN = -2;
const EDGE_SHIFT = 2 ** 21;

/**
 * The operation-name cache key, as interned integers: service, kind, name, HTTP method, http.route, rpc.service,
 * rpc.method, messaging destination, variant (0 none, 1 HTTP client peer, 2 route-less HTTP server path), peer or
 * path, 404 flag. Everything operationName() depends on besides the route folder's state.
 */
export const OP_KEY_WIDTH = 11;

function str(v: AttrValue | undefined): string {
  return typeof v === 'string' ? v : v === undefined ? '' : String(v);
}

/** Folds spans into rollups and edges in bounded memory; call `result()` at the end. */
export class SpanAccumulator {
  private readonly bounds: readonly number[];
  private readonly width: number;
  private readonly parentWindow: number;
  private readonly opCacheSize: number;
  private readonly redactor: Redactor;
  private readonly routes: RouteFolder;
  private readonly ops: OpState[] = [];
  private readonly opIndex = new Map<string, number>();
  private readonly tuples = new TupleCache(OP_KEY_WIDTH);
  /** @internal The key being looked up (core/stream/otlp-proto.ts fills it from bytes). */
  readonly opKey = new Int32Array(OP_KEY_WIDTH);
  /** @internal Interned key components (reset with the operation cache). */
  readonly strings = new Interner();
  /** @internal */
  readonly bytes = new ByteInterner(this.strings);
  private cur = new IdMap();
  private prev = new IdMap();
  private readonly pool = new ChildPool();
  private pendCur = new PendingMap(this.pool);
  private pendPrev = new PendingMap(this.pool);
  private readonly edgeSlot = new Map<number, number>();
  private readonly edgeKeys: number[] = [];
  private readonly edgeCounts: number[] = [];
  private readonly orphanFn = (child: number) => this.orphan(child);
  private spans = 0;
  private rolledUp = 0;
  private orphans = 0;
  private skipped = 0;
  private minMinute = Infinity;
  private maxMinute = -Infinity;

  constructor(opts: AccumulatorOptions = {}) {
    this.bounds = opts.boundsMs ?? DEFAULT_BOUNDS_MS;
    this.width = 3 + this.bounds.length + 1;
    this.parentWindow = opts.parentWindow ?? 50_000;
    this.opCacheSize = opts.opCacheSize ?? 100_000;
    this.redactor = opts.redactor ?? createRedactor();
    this.routes = opts.routes ?? new RouteFolder();
    if (!(this.parentWindow >= 1)) throw new RangeError('SpanAccumulator: parentWindow must be >= 1');
  }

  /** Adds a decoded OTLP span (core/otlp/model.ts). */
  addModel(span: SpanModel): void {
    const start = nanoToMs(span.startTimeUnixNano);
    const end = nanoToMs(span.endTimeUnixNano);
    this.add(serviceOf(span.resource), {
      spanId: span.spanId,
      parentSpanId: span.parentSpanId,
      name: span.name,
      kind: span.kind,
      startMs: start,
      durationMs: end > start ? end - start : 0,
      statusCode: span.statusCode,
      attributes: span.attributes,
    });
  }

  /** Adds one span of `service`. */
  add(service: string, s: StreamSpan): void {
    if (!(s.startMs > 0)) {
      this.skip();
      return;
    }
    this.fillKey(service, s);
    let opIdx = this.tuples.get(this.opKey);
    if (opIdx < 0) opIdx = this.missOp(service, s, () => this.fillKey(service, s));
    const op = this.ops[opIdx]!;
    const a = s.attributes;
    const isRoot = s.parentSpanId === '';
    if (this.begin(op, isRoot)) this.rollup(op, s.startMs, s.durationMs, isServerFault(s.statusCode, a));
    // user agents (probe detection)
    const ua = a['user_agent.original'] ?? a['http.user_agent'];
    if (typeof ua === 'string' && PROBE_AGENT.test(ua)) {
      if (!op.probeUa) op.probeUa = ua;
    } else op.nonProbe = true;
    // parentage
    let sh = 0;
    let sl = 0;
    let ss: string | undefined;
    const hasId = s.spanId !== '';
    if (hasId) {
      idKey(s.spanId);
      sh = KEY.hi;
      sl = KEY.lo;
      ss = KEY.str;
    }
    if (isRoot) this.parentage(op, hasId, sh, sl, ss, true, 0, 0, undefined);
    else {
      idKey(s.parentSpanId);
      this.parentage(op, hasId, sh, sl, ss, false, KEY.hi, KEY.lo, KEY.str);
    }
  }

  /** @internal Counts a span that carries no usable start time. */
  skip(): void {
    this.spans++;
    this.skipped++;
  }

  /** @internal Operation for the key in `opKey`, or -1 (then call missOp). */
  cachedOp(): number {
    return this.tuples.get(this.opKey);
  }

  /**
   * @internal Resolves a cache miss: names the operation (fingerprinting rules), registers it and caches the key.
   * `refill` re-fills `opKey` after a cache reset (interned ids are reset with it).
   */
  missOp(service: string, s: StreamSpan, refill: () => void): number {
    const idx = this.opIndexFor(service, s);
    if (this.tuples.size >= this.opCacheSize) {
      this.tuples.clear();
      this.bytes.clear();
      this.strings.clear();
      refill();
    }
    this.tuples.insert(this.opKey, idx);
    return idx;
  }

  /** @internal Counts a span of an operation; true when it must be rolled up. */
  begin(op: OpState, isRoot: boolean): boolean {
    this.spans++;
    op.count++;
    return op.kind === SpanKind.SERVER || op.kind === SpanKind.CONSUMER || isRoot || op.minutes.size > 0;
  }

  /** @internal */
  opAt(idx: number): OpState {
    return this.ops[idx]!;
  }

  /**
   * @internal Span parentage, ids as idKey() halves (`ss`/`ps`: the string of a non-canonical id, else undefined).
   * Exporters usually send children before their parents: children wait in a bounded two-generation table.
   */
  parentage(
    op: OpState,
    hasId: boolean,
    sh: number,
    sl: number,
    ss: string | undefined,
    isRoot: boolean,
    ph: number,
    pl: number,
    ps: string | undefined,
  ): void {
    if (hasId && (this.pendCur.size > 0 || this.pendPrev.size > 0)) {
      let first = this.pendCur.take(sh, sl, ss);
      if (first >= 0) {
        const dropped = this.pendPrev.take(sh, sl, ss);
        if (dropped >= 0) this.pool.releaseList(dropped);
      } else first = this.pendPrev.take(sh, sl, ss);
      if (first >= 0) {
        const pool = this.pool;
        for (let node = first; node >= 0;) {
          const next = pool.next[node]!;
          this.link(pool.child[node]!, op.idx);
          pool.release(node);
          node = next;
        }
      }
    }
    if (isRoot) {
      op.roots++;
      this.edge(op.idx, ROOT);
    } else {
      let parent = this.cur.get(ph, pl, ps);
      if (parent < 0) parent = this.prev.get(ph, pl, ps);
      if (parent >= 0) this.link(op.idx, parent);
      else {
        this.pendCur.append(ph, pl, ps, op.idx);
        if (this.pendCur.size >= this.parentWindow) this.rotatePending();
      }
    }
    if (hasId) {
      this.cur.set(sh, sl, ss, op.idx);
      if (this.cur.size >= this.parentWindow) {
        const t = this.prev;
        this.prev = this.cur;
        this.cur = t;
        t.clear();
      }
    }
  }

  private rotatePending(): void {
    this.pendPrev.drain(this.orphanFn);
    const t = this.pendPrev;
    this.pendPrev = this.pendCur;
    this.pendCur = t;
  }

  private orphan(child: number): void {
    this.orphans++;
    this.ops[child]!.orphans++;
    this.edge(child, UNKNOWN);
  }

  private link(child: number, parent: number): void {
    const c = this.ops[child]!;
    if (this.ops[parent]!.service === c.service) c.local++;
    else c.remote++;
    this.edge(child, parent);
  }

  private edge(child: number, parent: number): void {
    const c = this.ops[child]!;
    if (c.lastParent === parent) {
      this.edgeCounts[c.lastEdge]!++;
      return;
    }
    const k = child * EDGE_SHIFT + (parent + 2);
    let slot = this.edgeSlot.get(k);
    if (slot === undefined) {
      slot = this.edgeKeys.length;
      this.edgeKeys.push(k);
      this.edgeCounts.push(0);
      this.edgeSlot.set(k, slot);
    }
    c.lastParent = parent;
    c.lastEdge = slot;
    this.edgeCounts[slot]!++;
  }

  /** @internal Adds one span to its operation's per-minute rollup. */
  rollup(op: OpState, startMs: number, durationMs: number, fault: boolean): void {
    this.rolledUp++;
    const minute = Math.floor(startMs / 60_000) * 60_000;
    let row = op.lastRow;
    if (minute !== op.lastMinute || row === undefined) {
      row = op.minutes.get(minute);
      if (row === undefined) {
        row = new Float64Array(this.width);
        op.minutes.set(minute, row);
        if (minute < this.minMinute) this.minMinute = minute;
        if (minute > this.maxMinute) this.maxMinute = minute;
      }
      op.lastMinute = minute;
      op.lastRow = row;
    }
    const d = durationMs > 0 && Number.isFinite(durationMs) ? durationMs : 0;
    row[0]!++;
    if (fault) row[1]!++;
    row[2]! += d;
    row[3 + bucketIndex(this.bounds, d)]!++;
  }

  /** Fills `opKey` from a span's strings (the same components opFor's string key had). */
  private fillKey(service: string, s: StreamSpan): void {
    const a = s.attributes;
    const k = this.opKey;
    const I = this.strings;
    const method = a['http.request.method'] ?? a['http.method'];
    const route = a['http.route'];
    k[0] = I.id(service);
    k[1] = kindKey(I, s.kind);
    k[2] = I.id(s.name);
    k[3] = method === undefined ? 0 : I.id(str(method));
    k[4] = route === undefined ? 0 : I.id(str(route));
    const rs = a['rpc.service'];
    k[5] = rs === undefined ? 0 : I.id(str(rs));
    const rm = a['rpc.method'];
    k[6] = rm === undefined ? 0 : I.id(str(rm));
    const dest = a['messaging.destination.name'] ?? a['messaging.destination'];
    k[7] = dest === undefined ? 0 : I.id(str(dest));
    if (method !== undefined && route === undefined && s.kind === SpanKind.CLIENT) {
      // HTTP client calls are dependencies, never journeys: name them by method and peer (OTel's low-cardinality
      // client span name), not by the raw URL, so that ids in URLs cost nothing
      k[8] = 1;
      k[9] = I.id(clientPeer(a));
      k[10] = 0;
    } else if (method !== undefined && route === undefined) {
      // HTTP server without a route template: the path (and a 404) decide the operation
      const st = a['http.response.status_code'] ?? a['http.status_code'];
      k[8] = 2;
      k[9] = I.id(str(a['url.path'] ?? a['http.target'] ?? a['url.full'] ?? a['http.url']));
      k[10] = str(st) === '404' ? 1 : 0;
    } else {
      k[8] = 0;
      k[9] = 0;
      k[10] = 0;
    }
  }

  private opIndexFor(service: string, s: StreamSpan): number {
    const operation = this.operationName(service, s);
    const kind = s.kind === SpanKind.UNSPECIFIED ? SpanKind.INTERNAL : s.kind;
    const ok = `${service}\u0000${kind === SpanKind.SERVER || kind === SpanKind.CONSUMER ? kind : 0}\u0000${operation}`;
    let idx = this.opIndex.get(ok);
    if (idx === undefined) {
      idx = this.ops.length;
      if (idx >= EDGE_SHIFT - 2) throw new RangeError('SpanAccumulator: too many distinct operations');
      this.ops.push({
        idx,
        service,
        operation,
        kind,
        count: 0,
        roots: 0,
        remote: 0,
        local: 0,
        orphans: 0,
        probeUa: '',
        nonProbe: false,
        minutes: new Map(),
        lastMinute: -1,
        lastRow: undefined,
        lastParent: -3,
        lastEdge: 0,
      });
      this.opIndex.set(ok, idx);
    }
    return idx;
  }

  private operationName(service: string, s: StreamSpan): string {
    const model: SpanModel = {
      traceId: '',
      spanId: s.spanId,
      parentSpanId: s.parentSpanId,
      name: s.name,
      kind: s.kind,
      startTimeUnixNano: '0',
      endTimeUnixNano: '0',
      statusCode: s.statusCode,
      statusMessage: '',
      attributes: s.attributes,
      resource: {},
      scope: '',
    };
    const m = s.attributes['http.request.method'] ?? s.attributes['http.method'];
    if (m !== undefined && s.attributes['http.route'] === undefined && s.kind === SpanKind.CLIENT) {
      return this.redactor.redact(`${str(m).toUpperCase()} ${clientPeer(s.attributes)}`.trim()).text;
    }
    const http = httpRoute(model);
    if (http) {
      const path = this.redactor.redact(http.path).text;
      return `${http.method} ${this.routes.fold(service, http.method, path)}`;
    }
    return this.redactor.redact(spanOperation(model)).text;
  }

  /** Counters so far. */
  stats(): AccumulatorStats {
    let rows = 0;
    for (const o of this.ops) rows += o.minutes.size;
    return {
      spans: this.spans,
      rolledUp: this.rolledUp,
      operations: this.ops.length,
      edges: this.edgeKeys.length,
      orphans: this.orphans,
      skipped: this.skipped,
      rollupRows: rows,
    };
  }

  /**
   * Resolves what is still pending (children whose parent never arrived count as orphans) and returns the analysis
   * input: the window [first minute, last minute + 1m), rollups, operation facts and call edges. Undefined when no
   * span carried a usable timestamp.
   */
  result(): AccumulatedInput | undefined {
    this.rotatePending();
    this.rotatePending();
    if (!(this.maxMinute >= this.minMinute)) return undefined;
    const rollups: Rollup[] = [];
    for (const o of this.ops) {
      for (const [minute, row] of o.minutes) {
        rollups.push({
          minute: new Date(minute).toISOString(),
          service: o.service,
          kind: 'operation',
          key: o.operation,
          count: row[0]!,
          errors: row[1]!,
          sum_ms: Math.round(row[2]! * 1000) / 1000,
          latency: { bounds_ms: [...this.bounds], counts: Array.from(row.subarray(3)) },
        });
      }
    }
    rollups.sort((a, b) => (a.minute < b.minute ? -1 : a.minute > b.minute ? 1 : 0));
    const operations: OperationInfo[] = this.ops.map((o) => {
      const kind = KIND_NAME[o.kind] ?? 'internal';
      const resolved = o.roots + o.remote + o.local + o.orphans;
      // an entry of its service: reached from outside it (another service, ingress, or a caller not in the data)
      const isEntry = o.roots + o.remote + o.orphans > 0;
      // user-facing: a real share of its traffic starts the trace, or its callers are never in the data
      const isRoot = o.roots >= Math.max(1, 0.01 * resolved) || (resolved > 0 && o.orphans / resolved >= 0.5);
      const agents = !o.nonProbe && o.probeUa ? [o.probeUa] : [];
      return {
        service: o.service,
        operation: o.operation,
        spanKind: kind,
        isEntry,
        isRoot,
        userAgents: agents,
      };
    });
    const edges: CallEdge[] = [];
    for (let i = 0; i < this.edgeKeys.length; i++) {
      const k = this.edgeKeys[i]!;
      const count = this.edgeCounts[i]!;
      const child = this.ops[Math.floor(k / EDGE_SHIFT)]!;
      const p = (k % EDGE_SHIFT) - 2;
      const parent = p >= 0 ? this.ops[p]! : undefined;
      edges.push({
        service: child.service,
        operation: child.operation,
        parentService: parent?.service ?? '',
        parentOperation: parent?.operation ?? (p === UNKNOWN ? '(unknown parent)' : ''),
        count,
      });
    }
    const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    edges.sort(
      (a, b) =>
        cmp(a.service, b.service) ||
        cmp(a.operation, b.operation) ||
        cmp(a.parentService, b.parentService) ||
        cmp(a.parentOperation, b.parentOperation),
    );
    return {
      window: { start: new Date(this.minMinute), end: new Date(this.maxMinute + 60_000) },
      rollups,
      operations,
      edges,
      stats: this.stats(),
    };
  }
}

/** Key component of a span kind: the kind itself when small, else its interned text. */
function kindKey(I: Interner, kind: number): number {
  return kind >= 0 && kind <= 255 && Number.isInteger(kind) ? kind : 256 + I.id(String(kind));
}

/** The peer of an HTTP client span: server.address (or older net.peer.name), else the host of the URL. */
export function clientPeer(a: Attrs): string {
  const p = a['server.address'] ?? a['net.peer.name'];
  if (typeof p === 'string' && p) return p;
  const u = str(a['url.full'] ?? a['http.url']);
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#:@]+)/i.exec(u);
  return m ? m[1]!.toLowerCase() : '';
}

/** service.name of a resource ('unknown_service' when absent). */
export function serviceOf(resource: Attrs): string {
  const s = resource['service.name'];
  return typeof s === 'string' && s.trim() ? s.trim() : 'unknown_service';
}

/** Unix-nano decimal string (or number) -> unix ms as a float; 0 when malformed. */
export function nanoToMs(v: string | number): number {
  if (typeof v === 'number') return v > 0 ? v / 1e6 : 0;
  if (v.length <= 6) return 0;
  const ms = Number(v.slice(0, -6));
  const frac = Number(v.slice(-6)) / 1e6;
  return Number.isFinite(ms) && Number.isFinite(frac) ? ms + frac : 0;
}
