/**
 * Journey discovery: entry points of the call graph, their traffic, errors and latency over the analysis window,
 * their transitive dependencies, and a criticality ranking. Pure: typed data in, typed data out.
 */
import { createHash } from 'node:crypto';
import type { Rollup } from '../../events/schemas.js';
import { UNMATCHED_ROUTE } from '../fingerprint/routes.js';
import { quantileFromBuckets } from '../rollup.js';

/** Locale-independent string order (output must not depend on the host locale). */
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export type SpanKind = 'server' | 'consumer' | 'client' | 'internal' | 'producer';
export type JourneyType = 'request' | 'consumer' | 'batch';

export interface OperationInfo {
  readonly service: string;
  readonly operation: string;
  readonly spanKind: SpanKind;
  /** No parent span inside the same service. */
  readonly isEntry: boolean;
  /** No parent span at all: the request came from outside (user-facing / ingress). */
  readonly isRoot: boolean;
  /** User agents seen on this operation, when known (used to drop kube-probe traffic). */
  readonly userAgents?: readonly string[];
}

/** Child span -> parent span. `parentService` is '' for roots. */
export interface CallEdge {
  readonly service: string;
  readonly operation: string;
  readonly parentService: string;
  readonly parentOperation: string;
  readonly count: number;
}

export interface InventoryMetric {
  readonly name: string;
  readonly type: 'counter' | 'histogram' | 'gauge' | 'summary';
  readonly labels: readonly string[];
  readonly buckets?: readonly number[];
  /** Services known to emit the metric (when the inventory knows it). */
  readonly services?: readonly string[];
  /**
   * A native (exponential) histogram: latency SLIs use histogram_fraction instead of a bucket series. When absent, a
   * histogram without classic buckets is treated as native.
   */
  readonly native?: boolean;
}

export interface LogTemplateInfo {
  readonly service: string;
  readonly templateId: string;
  readonly template: string;
  readonly count: number;
  readonly errors: number;
}

export interface AnalysisInput {
  readonly window: { readonly start: Date; readonly end: Date };
  readonly rollups: readonly Rollup[];
  readonly operations: readonly OperationInfo[];
  readonly edges: readonly CallEdge[];
  readonly inventory: readonly InventoryMetric[];
  readonly templates?: readonly LogTemplateInfo[];
}

/** Tunables of journey discovery; defaults in DEFAULT_JOURNEY_OPTIONS. */
export interface JourneyOptions {
  /** Below this average rate (requests per minute) a journey is flagged low_traffic. */
  readonly lowTrafficPerMinute: number;
  /** Below this many requests in the window a journey is flagged low_traffic. */
  readonly lowTrafficMinTotal: number;
  /** Score thresholds for criticality. */
  readonly highScore: number;
  readonly mediumScore: number;
  /** At most this many dependencies are listed per journey. */
  readonly maxDependencies: number;
  /**
   * Treat trace roots of kind INTERNAL (a scheduled job starting its own trace) as batch-job journeys with a
   * freshness SLI. Off by default: many SDKs emit root internal spans for background chores.
   */
  readonly batchRoots: boolean;
}

export const DEFAULT_JOURNEY_OPTIONS: JourneyOptions = {
  lowTrafficPerMinute: 1,
  lowTrafficMinTotal: 100,
  highScore: 0.6,
  mediumScore: 0.3,
  maxDependencies: 50,
  batchRoots: false,
};

/** Paths and RPCs that are health checks, probes or scrapes, never user journeys. */
const PROBE_PATHS = new Set([
  '/healthz',
  '/health',
  '/healthcheck',
  '/ready',
  '/readyz',
  '/readiness',
  '/live',
  '/livez',
  '/liveness',
  '/metrics',
  '/ping',
  '/status',
]);
const PROBE_RPC = /(^|\/)grpc\.health\.v1\.Health\/(Check|Watch)$/;
/** User agents of health checkers and scrapers (core/stream/spans.ts keeps the first one seen per operation). */
export const PROBE_AGENT = /^(kube-probe|ELB-HealthChecker|GoogleHC|Prometheus)\//i;

/** Splits `GET /api/checkout` into method and route; other operation shapes give method ''. */
export function splitOperation(operation: string): { method: string; route: string } {
  const m = /^([A-Z]{3,7})\s+(\S.*)$/.exec(operation.trim());
  if (m) return { method: m[1]!, route: m[2]! };
  return { method: '', route: operation.trim() };
}

/** True for health checks, readiness/liveness probes, metric scrapes and gRPC health checks. */
export function isProbe(op: Pick<OperationInfo, 'operation' | 'userAgents'>): boolean {
  const { route } = splitOperation(op.operation);
  const path = (route.split('?')[0] ?? '').replace(/\/+$/, '').toLowerCase() || '/';
  if (PROBE_PATHS.has(path)) return true;
  // Requests no route matched (scanners, typos) are not journeys.
  if (route === UNMATCHED_ROUTE) return true;
  // Versioned or prefixed probes such as /api/healthz or /v1/health.
  const last = path.slice(path.lastIndexOf('/'));
  if (['/healthz', '/readyz', '/livez', '/health'].includes(last)) return true;
  if (PROBE_RPC.test(route)) return true;
  const agents = op.userAgents ?? [];
  return agents.length > 0 && agents.every((a) => PROBE_AGENT.test(a));
}

/** Lower-case slug of letters, digits and '-'. */
export function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/\{[^}]*\}/g, (m) => m.slice(1, -1))
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

const shortHash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 8);

/** Stable id of a journey: slug of service and operation, hashed suffix when long. */
export function journeyId(service: string, operation: string): string {
  const base = slug(`${service} ${operation}`) || 'journey';
  if (base.length <= 48) return base;
  return `${base.slice(0, 39).replace(/-+$/, '')}-${shortHash(`${service}\u0000${operation}`)}`;
}

/** Counts and latency of one operation over the window. */
export interface OperationStats {
  readonly count: number;
  readonly errors: number;
  readonly sumMs: number;
  /** Finite upper bounds (ms), ascending; counts has one more entry (+Inf). Per-bucket, not cumulative. */
  readonly boundsMs: readonly number[];
  readonly counts: readonly number[];
  /** Per hour (ISO hour start -> [count, errors, per-bucket counts]). */
  readonly hours: ReadonlyMap<string, HourStats>;
  /** Per minute (unix ms of the minute start -> count, errors, per-bucket counts), for the back-test. */
  readonly minutes: ReadonlyMap<number, HourStats>;
  readonly minutesWithData: number;
}

export interface HourStats {
  count: number;
  errors: number;
  counts: number[];
}

export const opKey = (service: string, operation: string) => `${service}\u0000${operation}`;

/**
 * Folds operation rollups inside [start, end) into per-operation statistics. Rollups with differing bucket bounds
 * are merged on the union of bounds (each bucket count is kept at its own upper bound).
 */
export function operationStats(input: AnalysisInput): Map<string, OperationStats> {
  const start = input.window.start.getTime();
  const end = input.window.end.getTime();
  const groups = new Map<string, Rollup[]>();
  for (const r of input.rollups) {
    if (r.kind !== 'operation') continue;
    const t = Date.parse(r.minute);
    if (!(t >= start && t < end)) continue;
    const k = opKey(r.service, r.key);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(r);
  }
  const out = new Map<string, OperationStats>();
  for (const [k, rows] of groups) {
    const bounds = [
      ...new Set(rows.flatMap((r) => r.latency.bounds_ms).filter((b) => Number.isFinite(b))),
    ].sort((a, b) => a - b);
    const index = new Map(bounds.map((b, i) => [b, i] as const));
    const counts: number[] = new Array<number>(bounds.length + 1).fill(0);
    const hours = new Map<string, HourStats>();
    const minutes = new Map<number, HourStats>();
    let count = 0;
    let errors = 0;
    let sumMs = 0;
    for (const r of rows) {
      count += r.count;
      errors += Math.min(r.errors, r.count);
      sumMs += r.sum_ms;
      const mt = Date.parse(r.minute);
      let m = minutes.get(mt);
      if (!m)
        minutes.set(mt, (m = { count: 0, errors: 0, counts: new Array<number>(bounds.length + 1).fill(0) }));
      m.count += r.count;
      m.errors += Math.min(r.errors, r.count);
      const hour = new Date(Math.floor(mt / 3_600_000) * 3_600_000).toISOString();
      let h = hours.get(hour);
      if (!h)
        hours.set(hour, (h = { count: 0, errors: 0, counts: new Array<number>(bounds.length + 1).fill(0) }));
      h.count += r.count;
      h.errors += Math.min(r.errors, r.count);
      r.latency.counts.forEach((c, i) => {
        const b = r.latency.bounds_ms[i];
        const j = b === undefined || !Number.isFinite(b) ? bounds.length : index.get(b)!;
        counts[j] = (counts[j] ?? 0) + c;
        h.counts[j] = (h.counts[j] ?? 0) + c;
        m.counts[j] = (m.counts[j] ?? 0) + c;
      });
    }
    out.set(k, {
      count,
      errors,
      sumMs,
      boundsMs: bounds,
      counts,
      hours,
      minutes,
      minutesWithData: minutes.size,
    });
  }
  return out;
}

/** quantileFromBuckets (core/rollup.ts, histogram_quantile semantics), but 0 when there are no observations. */
export function quantileMs(bounds: readonly number[], counts: readonly number[], q: number): number {
  const v = quantileFromBuckets(bounds, counts, q);
  return Number.isNaN(v) ? 0 : v;
}

/** Fraction of observations at or below `thresholdMs` (interpolated when the threshold is not a bucket bound). */
export function fractionBelow(
  bounds: readonly number[],
  counts: readonly number[],
  thresholdMs: number,
): number {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return 1;
  let good = 0;
  for (let i = 0; i < bounds.length; i++) {
    const hi = bounds[i]!;
    const lo = i === 0 ? 0 : bounds[i - 1]!;
    const c = counts[i] ?? 0;
    if (hi <= thresholdMs) good += c;
    else {
      if (thresholdMs > lo) good += (c * (thresholdMs - lo)) / (hi - lo);
      break;
    }
  }
  return Math.min(1, good / total);
}

/** A discovered journey before SLIs are attached. */
export interface DiscoveredJourney {
  readonly id: string;
  readonly name: string;
  readonly service: string;
  readonly entrypoint: string;
  readonly kind: 'request' | 'async';
  /** request (server span), consumer (messaging) or batch (a root INTERNAL span: a job). */
  readonly journeyType: JourneyType;
  readonly spanKind: SpanKind;
  readonly isRoot: boolean;
  readonly stats: OperationStats;
  readonly rps: number;
  readonly errorRatio: number;
  readonly latencyMs: Record<string, number>;
  readonly lowTraffic: boolean;
  readonly dependencies: string[];
  readonly dependencyServices: string[];
  readonly score: number;
  readonly criticality: 'high' | 'medium' | 'low';
  readonly rank: number;
  readonly evidence: string[];
}

const EMPTY_STATS: OperationStats = {
  count: 0,
  errors: 0,
  sumMs: 0,
  boundsMs: [],
  counts: [0],
  hours: new Map(),
  minutes: new Map(),
  minutesWithData: 0,
};

/** Transitive downstream operations of an entry point (breadth first, cycles cut). */
export function downstream(
  edges: readonly CallEdge[],
  service: string,
  operation: string,
): { operations: { service: string; operation: string; depth: number }[]; services: string[] } {
  const children = new Map<string, { service: string; operation: string }[]>();
  for (const e of edges) {
    if (!e.parentService) continue;
    const k = opKey(e.parentService, e.parentOperation);
    let list = children.get(k);
    if (!list) children.set(k, (list = []));
    list.push({ service: e.service, operation: e.operation });
  }
  const seen = new Set([opKey(service, operation)]);
  const found: { service: string; operation: string; depth: number }[] = [];
  let frontier = [{ service, operation }];
  for (let depth = 1; frontier.length; depth++) {
    const next: { service: string; operation: string }[] = [];
    for (const f of frontier) {
      for (const c of children.get(opKey(f.service, f.operation)) ?? []) {
        const k = opKey(c.service, c.operation);
        if (seen.has(k)) continue;
        seen.add(k);
        found.push({ ...c, depth });
        next.push(c);
      }
    }
    frontier = next;
  }
  found.sort((a, b) => a.depth - b.depth || cmp(a.service, b.service) || cmp(a.operation, b.operation));
  const services = [...new Set(found.map((f) => f.service).filter((s) => s !== service))].sort();
  return { operations: found, services };
}

const round = (x: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

/** Discovers, measures and ranks journeys. Deterministic for a given input. */
export function discoverJourneys(
  input: AnalysisInput,
  opts: JourneyOptions = DEFAULT_JOURNEY_OPTIONS,
): DiscoveredJourney[] {
  const windowMs = input.window.end.getTime() - input.window.start.getTime();
  if (!(windowMs > 0)) {
    throw new RangeError(
      `analysis window must end after it starts (start ${input.window.start.toISOString()}, end ${input.window.end.toISOString()})`,
    );
  }
  const minutes = windowMs / 60_000;
  const stats = operationStats(input);

  // Entry points: server/consumer operations with no in-service parent, deduplicated by (service, operation).
  const entries = new Map<string, OperationInfo>();
  for (const op of input.operations) {
    // Entry points: server and consumer spans reached from outside their service; with batchRoots, trace roots of
    // kind internal (a scheduled job starts its own trace). Clients and producers are dependencies, never journeys.
    const entryKind = (op.spanKind === 'server' || op.spanKind === 'consumer') && op.isEntry;
    const batch = opts.batchRoots && op.spanKind === 'internal' && op.isRoot && op.isEntry;
    if (!entryKind && !batch) continue;
    if (isProbe(op)) continue;
    const k = opKey(op.service, op.operation);
    const prev = entries.get(k);
    // The same operation may be reported several times; it is a root if any report says so.
    entries.set(k, prev ? { ...prev, isRoot: prev.isRoot || op.isRoot } : op);
  }

  const base = [...entries.values()].map((op) => {
    const s = stats.get(opKey(op.service, op.operation)) ?? EMPTY_STATS;
    return { op, s };
  });
  const maxCount = Math.max(1, ...base.map((b) => b.s.count));
  const maxErrors = Math.max(1, ...base.map((b) => b.s.errors));

  const journeys = base.map(({ op, s }) => {
    const kind: 'request' | 'async' = op.spanKind === 'server' ? 'request' : 'async';
    const journeyType: JourneyType =
      op.spanKind === 'server' ? 'request' : op.spanKind === 'consumer' ? 'consumer' : 'batch';
    const rps = s.count / (windowMs / 1000);
    const errorRatio = s.count > 0 ? s.errors / s.count : 0;
    const perMinute = s.count / minutes;
    const lowTraffic = perMinute < opts.lowTrafficPerMinute || s.count < opts.lowTrafficMinTotal;
    const latencyMs: Record<string, number> = {};
    if (s.count > 0 && s.boundsMs.length) {
      for (const [name, q] of [
        ['p50', 0.5],
        ['p90', 0.9],
        ['p95', 0.95],
        ['p99', 0.99],
      ] as const) {
        latencyMs[name] = round(quantileMs(s.boundsMs, s.counts, q), 3);
      }
      latencyMs.mean = round(s.sumMs / s.count, 3);
    }
    const deps = downstream(input.edges, op.service, op.operation);
    const trafficScore = Math.sqrt(s.count / maxCount);
    const userFacing = op.isRoot ? (journeyType === 'request' ? 1 : 0.5) : 0;
    const errorImpact = s.errors / maxErrors;
    const score = round(0.5 * trafficScore + 0.35 * userFacing + 0.15 * errorImpact, 4);
    let criticality: 'high' | 'medium' | 'low' =
      score >= opts.highScore ? 'high' : score >= opts.mediumScore ? 'medium' : 'low';
    // Internal and low-traffic journeys cannot be more than medium on their own.
    if ((!op.isRoot || lowTraffic || journeyType !== 'request') && criticality === 'high')
      criticality = 'medium';
    const evidence = [
      `${s.count} requests in ${round(minutes, 1)} min (${round(perMinute, 2)}/min, ${round(rps, 4)} rps)` +
        (lowTraffic
          ? `: low traffic (below ${opts.lowTrafficPerMinute}/min or ${opts.lowTrafficMinTotal} total), kept but flagged`
          : ''),
      `${s.errors} errors (error ratio ${round(errorRatio * 100, 3)}%)`,
      journeyType === 'consumer'
        ? 'async consumer: messaging CONSUMER span, a journey of its own (freshness instead of request latency)'
        : journeyType === 'batch'
          ? 'batch job: an INTERNAL span that starts its own trace (freshness instead of request latency)'
          : op.isRoot
            ? 'user-facing: the entry span has no parent (ingress)'
            : 'internal: the entry span is called by another service',
      `criticality score ${score} = 0.5*sqrt(traffic share)(${round(trafficScore, 3)}) + 0.35*user-facing(${userFacing}) + ` +
        `0.15*error-impact(${round(errorImpact, 3)}); high >= ${opts.highScore}, medium >= ${opts.mediumScore}` +
        (op.isRoot && !lowTraffic && journeyType === 'request'
          ? ''
          : '; internal, async and low-traffic journeys are capped at medium'),
      deps.services.length
        ? `depends on ${deps.services.length} downstream service(s): ${deps.services.join(', ')}`
        : 'no downstream services observed',
    ];
    return {
      id: journeyId(op.service, op.operation),
      name: `${op.service}: ${op.operation}`,
      service: op.service,
      entrypoint: op.operation,
      kind,
      journeyType,
      spanKind: op.spanKind,
      isRoot: op.isRoot,
      stats: s,
      rps: round(rps, 6),
      errorRatio: round(errorRatio, 6),
      latencyMs,
      lowTraffic,
      dependencies: deps.operations.slice(0, opts.maxDependencies).map((d) => `${d.service}: ${d.operation}`),
      dependencyServices: deps.services,
      score,
      criticality,
      rank: 0,
      evidence,
    };
  });

  // Id collisions (two operations slugging alike) get a hash suffix on every colliding member.
  const byId = new Map<string, number>();
  for (const j of journeys) byId.set(j.id, (byId.get(j.id) ?? 0) + 1);
  for (const j of journeys) {
    if ((byId.get(j.id) ?? 0) > 1) j.id = `${j.id.slice(0, 39)}-${shortHash(opKey(j.service, j.entrypoint))}`;
  }

  journeys.sort((a, b) => b.score - a.score || b.stats.count - a.stats.count || cmp(a.id, b.id));
  return journeys.map((j, i) => ({ ...j, rank: i + 1 }));
}
