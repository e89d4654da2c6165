/**
 * SLI/SLO recommendation for discovered journeys.
 *
 * SLI queries are PromQL templates in which `{{.window}}` stands for the rate window (Sloth's convention); the
 * generator substitutes every window it needs. Queries target metrics that exist in the metric inventory:
 *
 *  - HTTP, OTel semantic conventions: `http_server_request_duration_seconds` (histogram; status label
 *    `http_response_status_code`, route `http_route`, method `http_request_method`), or the older
 *    `http_server_duration_milliseconds` (`http_status_code`, `http_route`, `http_method`);
 *  - HTTP, Prometheus client libraries: `http_requests_total` (`code`/`status`, `handler`/`route`, `method`) and
 *    `http_request_duration_seconds` for latency;
 *  - gRPC: OTel `rpc_server_call_duration_seconds` / `rpc_server_duration_milliseconds` (`rpc_grpc_status_code`,
 *    `rpc_service`, `rpc_method`) or go-grpc-prometheus `grpc_server_handled_total` / `grpc_server_handling_seconds`;
 *  - messaging consumers: OTel `messaging_process_duration_seconds` (`messaging_destination_name`, `error_type`);
 *  - otherwise SLO-Scout's own span metrics (see SPAN_METRICS), derived from traces:
 *      `slo_scout_span_calls_total{service, operation, status}` (status: ok | error | unset) and
 *      `slo_scout_span_duration_seconds_bucket{service, operation, le}` (+ `_count`, `_sum`), buckets =
 *      DEFAULT_BOUNDS_MS in seconds.
 *
 * Raw-value labels (path, url, user ids...) are never used as matchers; only templated route labels are.
 */
import type { SliRec } from '../../events/schemas.js';
import { backtest, describeBacktest, type BacktestResult, type MinuteSeries } from '../backtest/index.js';
import { GRPC_SERVER_FAULTS } from '../fingerprint/fingerprint.js';
import { parseDuration } from '../generate/windows.js';
import { DEFAULT_BOUNDS_MS } from '../rollup.js';
import { fractionBelow, splitOperation, type DiscoveredJourney, type InventoryMetric } from './journeys.js';

/** Default latency bucket bounds of rollups and of the span-metric histogram (ms), owned by core/rollup.ts. */
export { DEFAULT_BOUNDS_MS };

/** SLO-Scout's own span metrics, the fallback when the inventory has nothing relevant. */
export const SPAN_METRICS = {
  calls: 'slo_scout_span_calls_total',
  durationBucket: 'slo_scout_span_duration_seconds_bucket',
  durationCount: 'slo_scout_span_duration_seconds_count',
  labels: { service: 'service', operation: 'operation', status: 'status' },
  errorStatus: 'error',
} as const;

/** Placeholder for the rate window in SLI query templates. */
export const WINDOW_PLACEHOLDER = '{{.window}}';

/** Standard objectives, strictest first (percent). */
export const OBJECTIVE_LADDER: readonly number[] = [99.99, 99.95, 99.9, 99.5, 99, 98, 95, 90];

export interface SliOptions {
  readonly ladder: readonly number[];
  /** The reference error ratio must stay within this fraction of the error budget. */
  readonly margin: number;
  /** At least this many bad events must be allowed by the budget over the observed volume. */
  readonly minBudgetEvents: number;
  /** Hours with fewer events are ignored in the hourly statistics. */
  readonly minHourEvents: number;
  /** Latency threshold: smallest bucket bound >= observed p99 * this. */
  readonly latencyHeadroom: number;
  /** Every bad event of the history must fit in this share of one period's error budget. */
  readonly incidentShare: number;
  readonly window: string;
}

export const DEFAULT_SLI_OPTIONS: SliOptions = {
  ladder: OBJECTIVE_LADDER,
  margin: 0.7,
  minBudgetEvents: 1,
  minHourEvents: 10,
  latencyHeadroom: 1.2,
  incidentShare: 0.5,
  window: '30d',
};

// ---- formatting ------------------------------------------------------------------------------------------------

const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;
/** Percent with up to 4 decimals, trailing zeros trimmed. */
export const pct = (ratio: number) => `${round(ratio * 100, 4)}%`;
const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
const eq = (label: string, value: string) => `${label}="${esc(value)}"`;

/** Formats a bucket bound in seconds the way client libraries print `le`. */
export function formatLe(seconds: number): string {
  return String(round(seconds, 9));
}

/**
 * Matcher for a classic-histogram bucket. Prometheus 3 normalises integer `le` values to `1.0`, Prometheus 2 and
 * client libraries print `1`; a regex matches both.
 */
export function leMatcher(seconds: number): string {
  const s = formatLe(seconds);
  return Number.isInteger(seconds) ? `le=~"${s}|${s}\\\\.0"` : `le="${s}"`;
}

const selector = (matchers: readonly string[]) => `{${matchers.join(', ')}}`;
const rate = (metric: string, matchers: readonly string[]) =>
  `sum(rate(${metric}${selector(matchers)}[${WINDOW_PLACEHOLDER}]))`;

// ---- metric source resolution ----------------------------------------------------------------------------------

export type SourceKind =
  | 'otel-http'
  | 'otel-http-legacy'
  | 'prom-client-http'
  | 'otel-rpc'
  | 'grpc-prometheus'
  | 'otel-messaging'
  | 'span-metrics';

/** Where an SLI's numbers come from. */
export interface MetricSource {
  readonly kind: SourceKind;
  /** Counter (or histogram `_count`) of all events. */
  readonly countMetric: string;
  readonly matchers: readonly string[];
  readonly badMatcher: string;
  readonly goodMatcher: string;
  readonly histogram?: {
    readonly bucketMetric: string;
    readonly countMetric: string;
    /** Bucket bounds in ms. */
    readonly boundsMs: readonly number[];
    /** Factor from ms to the metric's unit. */
    readonly msToUnit: number;
  };
  /** A native histogram to use with histogram_fraction / histogram_count when there are no classic buckets. */
  readonly native?: { readonly metric: string; readonly msToUnit: number };
  readonly notes: readonly string[];
}

const family = (name: string) => name.replace(/_(bucket|count|sum)$/, '');

function lookup(inventory: readonly InventoryMetric[], service: string, names: readonly string[]) {
  for (const n of names) {
    const m = inventory.find(
      (e) =>
        (e.name === n || family(e.name) === n) &&
        (!e.services || e.services.length === 0 || e.services.includes(service)),
    );
    if (m) return { ...m, name: n };
  }
  return undefined;
}

const firstLabel = (m: InventoryMetric, candidates: readonly string[]) =>
  candidates.find((c) => m.labels.includes(c));

/** The label that carries the service: `service_name`, `service`, else `job` (set on scrape and OTLP ingestion). */
function serviceMatcher(m: InventoryMetric, service: string, notes: string[]): string {
  const l = firstLabel(m, ['service_name', 'service']);
  if (l) return eq(l, service);
  notes.push(
    `${m.name} has no service label; selecting by job="${service}" (Prometheus sets job from service.name)`,
  );
  return eq('job', service);
}

/** The classic-histogram part of a source for family `m` (`unitMs`: ms per unit of the metric), when it has buckets. */
function classicHistogram(m: InventoryMetric | undefined, unitMs: number): Pick<MetricSource, 'histogram'> {
  if (!m || m.type !== 'histogram' || !m.buckets || m.buckets.length === 0) return {};
  return {
    histogram: {
      bucketMetric: `${m.name}_bucket`,
      countMetric: `${m.name}_count`,
      boundsMs: m.buckets.filter((b) => Number.isFinite(b) && b > 0).map((b) => round(b * unitMs, 9)),
      msToUnit: 1 / unitMs,
    },
  };
}

const GRPC_SERVER_FAULT_CODES = [...GRPC_SERVER_FAULTS].map(String);
const GRPC_SERVER_FAULT_NAMES = [
  'Unknown',
  'DeadlineExceeded',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
];

function isGrpc(operation: string): { service: string; method: string } | undefined {
  const m = /^\/?([A-Za-z_][\w.]*\.[A-Za-z_]\w*)\/([A-Za-z_]\w*)$/.exec(operation.trim());
  return m ? { service: m[1]!, method: m[2]! } : undefined;
}

function messagingDestination(operation: string): string | undefined {
  const m = /^(?:process|receive|consume|deliver)\s+(.+)$/i.exec(operation.trim());
  return m ? m[1]!.trim() : undefined;
}

function spanMetricsSource(service: string, operation: string, why: string): MetricSource {
  const matchers = [eq(SPAN_METRICS.labels.service, service), eq(SPAN_METRICS.labels.operation, operation)];
  return {
    kind: 'span-metrics',
    countMetric: SPAN_METRICS.calls,
    matchers,
    badMatcher: eq(SPAN_METRICS.labels.status, SPAN_METRICS.errorStatus),
    goodMatcher: `${SPAN_METRICS.labels.status}!="${SPAN_METRICS.errorStatus}"`,
    histogram: {
      bucketMetric: SPAN_METRICS.durationBucket,
      countMetric: SPAN_METRICS.durationCount,
      boundsMs: DEFAULT_BOUNDS_MS,
      msToUnit: 0.001,
    },
    notes: [
      `${why}; using SLO-Scout span metrics ${SPAN_METRICS.calls}{service,operation,status} and ` +
        `${SPAN_METRICS.durationBucket}{service,operation,le} derived from traces (bad = status="error")`,
    ],
  };
}

const isNative = (m: InventoryMetric) =>
  m.type === 'histogram' && (m.native === true || (m.native === undefined && !m.buckets?.length));

/** Chooses the metric source for a journey from the inventory, falling back to span metrics. */
export function resolveSource(
  j: Pick<DiscoveredJourney, 'service' | 'entrypoint' | 'kind'>,
  inventory: readonly InventoryMetric[],
): MetricSource {
  const src = resolveClassicSource(j, inventory);
  if (src.histogram || src.kind === 'span-metrics') return src;
  const fam =
    src.kind === 'prom-client-http'
      ? 'http_request_duration_seconds'
      : src.kind === 'grpc-prometheus'
        ? 'grpc_server_handling_seconds'
        : family(src.countMetric);
  const m = lookup(inventory, j.service, [fam]);
  if (!m || !isNative(m)) return src;
  return {
    ...src,
    native: { metric: m.name, msToUnit: m.name.endsWith('_milliseconds') ? 1 : 0.001 },
    notes: [
      ...src.notes,
      `${m.name} is a native histogram (no classic buckets in the inventory): latency uses histogram_fraction` +
        (src.countMetric === `${m.name}_count` ? ' and counts use histogram_count' : ''),
    ],
  };
}

function resolveClassicSource(
  j: Pick<DiscoveredJourney, 'service' | 'entrypoint' | 'kind'>,
  inventory: readonly InventoryMetric[],
): MetricSource {
  const notes: string[] = [];
  const { method, route } = splitOperation(j.entrypoint);
  const grpc = isGrpc(j.entrypoint);

  if (j.kind === 'async') {
    const m = lookup(inventory, j.service, ['messaging_process_duration_seconds']);
    if (m) {
      const matchers = [serviceMatcher(m, j.service, notes)];
      const dest = messagingDestination(j.entrypoint);
      const dl = firstLabel(m, ['messaging_destination_name']);
      if (dest && dl) matchers.push(eq(dl, dest));
      return {
        kind: 'otel-messaging',
        countMetric: `${m.name}_count`,
        matchers,
        badMatcher: 'error_type!=""',
        goodMatcher: 'error_type=""',
        ...classicHistogram(m, 1000),
        notes: [...notes, `OTel messaging metric ${m.name} found in the inventory (bad = error_type set)`],
      };
    }
    return spanMetricsSource(
      j.service,
      j.entrypoint,
      'no messaging metric for this consumer in the inventory',
    );
  }

  if (grpc) {
    const otel = lookup(inventory, j.service, [
      'rpc_server_call_duration_seconds',
      'rpc_server_duration_milliseconds',
    ]);
    if (otel) {
      const unitMs = otel.name.endsWith('_milliseconds') ? 1 : 1000;
      const matchers = [serviceMatcher(otel, j.service, notes)];
      if (otel.labels.includes('rpc_service')) matchers.push(eq('rpc_service', grpc.service));
      if (otel.labels.includes('rpc_method')) matchers.push(eq('rpc_method', grpc.method));
      const codes = GRPC_SERVER_FAULT_CODES.join('|');
      return {
        kind: 'otel-rpc',
        countMetric: `${otel.name}_count`,
        matchers,
        badMatcher: `rpc_grpc_status_code=~"${codes}"`,
        goodMatcher: `rpc_grpc_status_code!~"${codes}"`,
        ...classicHistogram(otel, unitMs),
        notes: [...notes, `OTel RPC metric ${otel.name} found; bad = gRPC server-fault codes ${codes}`],
      };
    }
    const gp = lookup(inventory, j.service, ['grpc_server_handled_total']);
    if (gp) {
      const matchers = [serviceMatcher(gp, j.service, notes)];
      if (gp.labels.includes('grpc_service')) matchers.push(eq('grpc_service', grpc.service));
      if (gp.labels.includes('grpc_method')) matchers.push(eq('grpc_method', grpc.method));
      const names = GRPC_SERVER_FAULT_NAMES.join('|');
      const h = lookup(inventory, j.service, ['grpc_server_handling_seconds']);
      return {
        kind: 'grpc-prometheus',
        countMetric: gp.name,
        matchers,
        badMatcher: `grpc_code=~"${names}"`,
        goodMatcher: `grpc_code!~"${names}"`,
        ...classicHistogram(h, 1000),
        notes: [...notes, `go-grpc-prometheus metric ${gp.name} found; bad = server-fault codes ${names}`],
      };
    }
    return spanMetricsSource(
      j.service,
      j.entrypoint,
      'no gRPC server metric for this service in the inventory',
    );
  }

  const otel = lookup(inventory, j.service, [
    'http_server_request_duration_seconds',
    'http_server_duration_milliseconds',
  ]);
  if (otel) {
    const legacy = otel.name === 'http_server_duration_milliseconds';
    const unitMs = legacy ? 1 : 1000;
    const statusLabel = legacy ? 'http_status_code' : 'http_response_status_code';
    const methodLabel = legacy ? 'http_method' : 'http_request_method';
    const matchers = [serviceMatcher(otel, j.service, notes)];
    if (otel.labels.includes('http_route')) matchers.push(eq('http_route', route));
    else notes.push(`${otel.name} has no http_route label: the SLI covers every route of ${j.service}`);
    if (method && otel.labels.includes(methodLabel)) matchers.push(eq(methodLabel, method));
    return {
      kind: legacy ? 'otel-http-legacy' : 'otel-http',
      countMetric: `${otel.name}_count`,
      matchers,
      badMatcher: `${statusLabel}=~"5.."`,
      goodMatcher: `${statusLabel}!~"5.."`,
      ...classicHistogram(otel, unitMs),
      notes: [...notes, `OTel HTTP server metric ${otel.name} found in the inventory; bad = 5xx responses`],
    };
  }
  const pc = lookup(inventory, j.service, ['http_requests_total']);
  if (pc) {
    const code = firstLabel(pc, ['code', 'status', 'status_code']) ?? 'code';
    const matchers = [serviceMatcher(pc, j.service, notes)];
    const rl = firstLabel(pc, ['http_route', 'route', 'handler']);
    if (rl) matchers.push(eq(rl, route));
    else notes.push(`${pc.name} has no templated route label: the SLI covers every route of ${j.service}`);
    const ml = firstLabel(pc, ['method', 'http_method']);
    if (method && ml) matchers.push(eq(ml, method));
    const h = lookup(inventory, j.service, ['http_request_duration_seconds']);
    return {
      kind: 'prom-client-http',
      countMetric: pc.name,
      matchers,
      badMatcher: `${code}=~"5.."`,
      goodMatcher: `${code}!~"5.."`,
      ...classicHistogram(h, 1000),
      notes: [...notes, `client-library metric ${pc.name} found in the inventory; bad = 5xx (${code} label)`],
    };
  }
  return spanMetricsSource(
    j.service,
    j.entrypoint,
    'no HTTP server metric for this service in the inventory',
  );
}

// ---- objective selection ---------------------------------------------------------------------------------------

export interface RatioHistory {
  readonly total: number;
  readonly bad: number;
  /** Per hour (ascending by time): events and bad events. */
  readonly hours: readonly { readonly hour: string; readonly total: number; readonly bad: number }[];
}

export interface ObjectiveChoice {
  readonly objective: number;
  readonly confidence: number;
  readonly meetsHistory: boolean;
  readonly observed: Record<string, number>;
  readonly evidence: string[];
}

/** Nearest-rank percentile of an ascending list. */
function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/**
 * Recommends the strictest ladder objective history supports, separating steady state from incidents:
 *
 *  - incident hours: hours whose bad events exceed 2x + 5 sigma (+3) of what the median hourly ratio predicts;
 *  - steady state: the reference error ratio is the larger of the 75th percentile of the calm hours' ratios and
 *    their overall ratio (so that an incident does not set the target: it is what the SLO must catch). With fewer
 *    than three hours of enough events it is the overall ratio. It must stay within `margin` of the budget;
 *  - incidents: every bad event of the history, incidents included, must fit in `incidentShare` of one period's
 *    budget at the observed volume (when the history is shorter than the period the budget is scaled up to it);
 *  - volume: the budget must allow at least `minBudgetEvents` bad events over the observed volume.
 */
export function chooseObjective(h: RatioHistory, opts: SliOptions = DEFAULT_SLI_OPTIONS): ObjectiveChoice {
  const e = h.total > 0 ? h.bad / h.total : 0;
  const eligible = h.hours.filter((x) => x.total >= opts.minHourEvents);
  const hourly = eligible.map((x) => x.bad / x.total).sort((a, b) => a - b);
  const worstHour = hourly.length ? hourly[hourly.length - 1]! : e;
  const p90Hour = percentile(hourly, 0.9);
  let p75Calm = percentile(hourly, 0.75);
  let refSource: string;
  let eRef: number;
  let incidentHours = 0;
  if (hourly.length >= 3) {
    // an hour is an incident when its bad events are far above what the median hourly ratio predicts
    const med = percentile(hourly, 0.5);
    const isIncident = (x: { total: number; bad: number }) => {
      const expected = x.total * med;
      return x.bad > 2 * expected + 5 * Math.sqrt(expected) + 3;
    };
    const calm = eligible.filter((x) => !isIncident(x));
    incidentHours = eligible.length - calm.length;
    const calmHourly = calm.map((x) => x.bad / x.total).sort((a, b) => a - b);
    const calmTotal = calm.reduce((n, x) => n + x.total, 0);
    const calmRatio = calmTotal > 0 ? calm.reduce((n, x) => n + x.bad, 0) / calmTotal : e;
    p75Calm = percentile(calmHourly, 0.75);
    eRef = Math.max(p75Calm, calmRatio);
    refSource =
      `max(p75 of ${calmHourly.length} calm hourly ratios ${pct(p75Calm)}, overall ratio of the calm hours ${pct(calmRatio)})` +
      (incidentHours
        ? `; ${incidentHours} hour(s) with bad events far above the median hourly ratio ${pct(med)} treated as incidents`
        : '');
  } else {
    eRef = e;
    refSource = `overall ratio (only ${hourly.length} hour(s) with >= ${opts.minHourEvents} events)`;
  }
  const periodMs = parseDuration(opts.window) ?? 30 * 86_400_000;
  const historyHours = Math.max(1, h.hours.length);
  const periodScale = Math.max(1, periodMs / (historyHours * 3_600_000));

  const ladder = [...opts.ladder].sort((a, b) => b - a);
  let chosen: number | undefined;
  const rejected: string[] = [];
  for (const t of ladder) {
    const budget = 1 - t / 100;
    const allowedBad = h.total * budget;
    if (eRef > opts.margin * budget) {
      rejected.push(`${t}% (steady-state ${pct(eRef)} > ${opts.margin * 100}% of budget ${pct(budget)})`);
      continue;
    }
    const periodBudget = allowedBad * periodScale;
    if (h.bad > opts.incidentShare * periodBudget) {
      rejected.push(
        `${t}% (${h.bad} bad events > ${opts.incidentShare * 100}% of one ${opts.window} budget ` +
          `${round(periodBudget, 1)} at this volume)`,
      );
      continue;
    }
    if (allowedBad < opts.minBudgetEvents) {
      rejected.push(`${t}% (${h.total} events allow only ${round(allowedBad, 3)} bad events)`);
      continue;
    }
    chosen = t;
    break;
  }
  const meetsHistory = chosen !== undefined;
  const objective = chosen ?? ladder[ladder.length - 1]!;
  const budget = 1 - objective / 100;
  const burn = budget > 0 ? e / budget : 0;

  const volume = Math.min(1, Math.log10(1 + h.total) / 5);
  const stability = hourly.length >= 3 ? Math.min(1, Math.max(0, 1 - (p75Calm - e) / budget)) : 0.5;
  const coverage = Math.min(1, h.hours.filter((x) => x.total > 0).length / 24);
  let confidence = 0.5 * volume + 0.3 * stability + 0.2 * coverage;
  if (!meetsHistory) confidence *= 0.5;
  confidence = round(Math.min(1, Math.max(0, confidence)), 2);

  const observed: Record<string, number> = {
    events: h.total,
    bad_events: h.bad,
    good_ratio: round(h.total > 0 ? 1 - e : 1, 6),
    error_ratio: round(e, 6),
    reference_error_ratio: round(eRef, 6),
    hours_with_data: h.hours.filter((x) => x.total > 0).length,
    incident_hours: incidentHours,
    worst_hour_error_ratio: round(worstHour, 6),
    p75_calm_hour_error_ratio: round(p75Calm, 6),
    p90_hour_error_ratio: round(p90Hour, 6),
    expected_burn_rate: round(burn, 4),
    meets_history: meetsHistory ? 1 : 0,
  };
  const evidence = [
    `observed good ratio ${pct(1 - e)}: ${h.bad} bad of ${h.total} events in the window`,
    `hourly error ratios over ${hourly.length} hour(s) with >= ${opts.minHourEvents} events: worst ${pct(worstHour)}, p90 ${pct(p90Hour)}`,
    `steady-state reference error ratio ${pct(eRef)} = ${refSource}`,
    meetsHistory
      ? `objective ${objective}%: strictest of [${ladder.join(', ')}] whose budget ${pct(budget)} keeps the steady state ` +
        `within ${opts.margin * 100}% (${pct(opts.margin * budget)}), absorbs every bad event seen (incidents included) in ` +
        `${opts.incidentShare * 100}% of one ${opts.window} budget, and allows >= ${opts.minBudgetEvents} bad event(s) over the observed volume` +
        (rejected.length ? `; rejected ${rejected.join('; ')}` : '')
      : `no objective on the ladder is supported by history (${rejected.join('; ')}); falling back to ${objective}% — ` +
        `fix reliability or accept frequent alerts`,
    `expected error-budget burn rate ${round(burn, 4)} = error ratio ${pct(e)} / budget ${pct(budget)}`,
    `confidence ${confidence} = 0.5*volume(${round(volume, 3)}) + 0.3*stability(${round(stability, 3)}) + ` +
      `0.2*coverage(${round(coverage, 3)})${meetsHistory ? '' : ', halved because history does not support any ladder objective'}`,
  ];
  return { objective, confidence, meetsHistory, observed, evidence };
}

// ---- SLI construction ------------------------------------------------------------------------------------------

/** A candidate SLI pattern from the knowledge base (core/knowledge), scored for one journey. */
export interface KnowledgeCandidate {
  readonly id: string;
  readonly score: number;
  /** SLI kind the pattern is about, when it says. */
  readonly sli_kind?: SliRec['kind'];
  readonly title?: string;
  readonly reason?: string;
}

/** What a knowledge-base retrieval is asked for one journey. */
export interface KnowledgeQuery {
  readonly service: string;
  readonly entrypoint: string;
  readonly journeyType: DiscoveredJourney['journeyType'];
  readonly protocol: 'http' | 'grpc' | 'messaging' | 'other';
  readonly source: SourceKind;
}

/** Per-journey context of SLI recommendation (all optional). */
export interface SliContext {
  /** The analysis window: the back-test replays every minute of it (minutes without events count as empty). */
  readonly window?: { readonly start: Date; readonly end: Date };
  /** Knowledge-base candidates for this journey; they are cited, never used to change numbers. */
  readonly knowledge?: readonly KnowledgeCandidate[];
}

/** Extra fields carried on SliRec (the schema allows additional properties). */
export interface SliExtensions {
  bad_query?: string;
  source?: { kind: SourceKind; metric: string; fallback: boolean };
  histogram?: {
    bucket_metric: string;
    count_metric: string;
    selector: string;
    unit: 'seconds' | 'milliseconds';
  };
  native_histogram?: { metric: string; selector: string; unit: 'seconds' | 'milliseconds' };
  error_budget?: ErrorBudget;
  backtest?: SliRec['backtest'] & Partial<BacktestResult>;
  knowledge?: { id: string; score: number; reason?: string }[];
}

export interface ErrorBudget {
  /** Allowed bad fraction, 1 - objective. */
  readonly budget_ratio: number;
  /** Observed error ratio / budget: 1 spends exactly the budget over the period. */
  readonly expected_burn_rate: number;
  /** Share of one period's budget the observed error ratio would spend (= burn rate). */
  readonly expected_budget_spent_per_period: number;
  /** Days until the budget is spent at the observed rate (absent when nothing burns). */
  readonly days_to_exhaustion?: number;
  /** Bad events the budget allows per day at the observed volume. */
  readonly allowed_bad_events_per_day: number;
}

function errorBudget(
  objective: number,
  errorRatio: number,
  eventsPerDay: number,
  period: string,
): ErrorBudget {
  const budget = 1 - objective / 100;
  const burn = budget > 0 ? errorRatio / budget : 0;
  const periodDays = (parseDuration(period) ?? 30 * 86_400_000) / 86_400_000;
  return {
    budget_ratio: round(budget, 8),
    expected_burn_rate: round(burn, 4),
    expected_budget_spent_per_period: round(burn, 4),
    ...(burn > 0 ? { days_to_exhaustion: round(periodDays / burn, 2) } : {}),
    allowed_bad_events_per_day: round(eventsPerDay * budget, 3),
  };
}

/** Per-minute series over the window (or the journey's own minutes) for the back-test. */
function minuteSeries(
  j: DiscoveredJourney,
  window: SliContext['window'],
  bad: (m: { count: number; errors: number; counts: number[] }) => number,
): MinuteSeries | undefined {
  const keys = [...j.stats.minutes.keys()];
  if (keys.length === 0) return undefined;
  const start = window ? Math.floor(window.start.getTime() / 60_000) * 60_000 : Math.min(...keys);
  const end = window ? Math.ceil(window.end.getTime() / 60_000) * 60_000 : Math.max(...keys) + 60_000;
  const n = Math.max(1, Math.round((end - start) / 60_000));
  const total = new Float64Array(n);
  const b = new Float64Array(n);
  for (const [t, m] of j.stats.minutes) {
    const i = Math.round((t - start) / 60_000);
    if (i < 0 || i >= n) continue;
    total[i] = m.count;
    b[i] = bad(m);
  }
  return { startMs: start, total, bad: b };
}

function withBacktest(
  rec: SliRec & SliExtensions,
  series: MinuteSeries | undefined,
  eventsPerDay: number,
  errorRatio: number,
): SliRec & SliExtensions {
  rec.error_budget = errorBudget(rec.objective, errorRatio, eventsPerDay, rec.window);
  const eb = rec.error_budget;
  rec.evidence.push(
    `error budget ${pct(eb.budget_ratio)} of events; at the observed error ratio ${pct(errorRatio)} the SLO spends ` +
      `${round(eb.expected_budget_spent_per_period * 100, 2)}% of its budget per ${rec.window}` +
      (eb.days_to_exhaustion !== undefined ? ` (exhausted after ${eb.days_to_exhaustion} days)` : ''),
  );
  if (!series) {
    rec.evidence.push('no per-minute history: back-test not run');
    return rec;
  }
  const r = backtest(series, rec.objective, rec.window);
  if (!r.ok) {
    rec.evidence.push(`back-test not run: ${r.error}`);
    return rec;
  }
  rec.backtest = r.value;
  rec.evidence.push(describeBacktest(r.value), ...r.value.notes);
  return rec;
}

function hourSeries(
  j: DiscoveredJourney,
  bad: (h: { count: number; errors: number; counts: number[] }) => number,
) {
  return [...j.stats.hours.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([hour, x]) => ({ hour, total: x.count, bad: bad(x) }));
}

function eventsPerDay(j: DiscoveredJourney, window: SliContext['window']): number {
  const ms = window
    ? window.end.getTime() - window.start.getTime()
    : Math.max(60_000, j.stats.minutesWithData * 60_000);
  return ms > 0 ? (j.stats.count * 86_400_000) / ms : 0;
}

function availability(j: DiscoveredJourney, src: MetricSource, opts: SliOptions, ctx: SliContext): SliRec {
  const c = chooseObjective(
    { total: j.stats.count, bad: j.stats.errors, hours: hourSeries(j, (x) => x.errors) },
    opts,
  );
  const count = (matchers: readonly string[]) =>
    src.native && src.countMetric === `${src.native.metric}_count`
      ? `histogram_count(sum(rate(${src.native.metric}${selector(matchers)}[${WINDOW_PLACEHOLDER}])))`
      : rate(src.countMetric, matchers);
  const total = count(src.matchers);
  const rec: SliRec & SliExtensions = {
    id: `${j.id}-availability`,
    kind: 'availability',
    good_query: count([...src.matchers, src.goodMatcher]),
    bad_query: count([...src.matchers, src.badMatcher]),
    total_query: total,
    observed: c.observed,
    objective: c.objective,
    window: opts.window,
    confidence: c.confidence,
    evidence: [
      `availability of ${j.name}: good = requests without a server fault (5xx, gRPC UNKNOWN/DEADLINE_EXCEEDED/` +
        'UNIMPLEMENTED/INTERNAL/UNAVAILABLE/DATA_LOSS), total = all requests; 4xx and client cancellations are good',
      ...src.notes,
      ...c.evidence,
    ],
    source: { kind: src.kind, metric: src.countMetric, fallback: src.kind === 'span-metrics' },
  };
  const e = j.stats.count > 0 ? j.stats.errors / j.stats.count : 0;
  return withBacktest(
    rec,
    minuteSeries(j, ctx.window, (m) => m.errors),
    eventsPerDay(j, ctx.window),
    e,
  );
}

/** Round latency thresholds (ms) for native histograms: 1, 2, 2.5, 5 x 10^k. */
function niceThresholdMs(target: number): number {
  for (let k = 0; k < 8; k++) {
    for (const m of [1, 2, 2.5, 5]) {
      const v = m * 10 ** k;
      if (v >= target) return v;
    }
  }
  return 10 ** 8;
}

/** Latency-like SLI (latency for requests, processing-time freshness for consumers and jobs). */
function latencyLike(
  j: DiscoveredJourney,
  src: MetricSource,
  kind: 'latency' | 'freshness',
  opts: SliOptions,
  ctx: SliContext,
): SliRec | undefined {
  if (j.stats.count === 0 || j.stats.boundsMs.length === 0) return undefined;
  const notes: string[] = [];
  const p99 = j.latencyMs.p99 ?? 0;
  const target = p99 * opts.latencyHeadroom;
  const what =
    kind === 'latency' ? 'requests' : j.journeyType === 'batch' ? 'job runs' : 'messages processed';
  let hist = src.histogram;
  let matchers = src.matchers;
  let thresholdMs: number;
  let thresholdWhy: string;
  let queries: { good_query: string; total_query: string };
  let shape: Pick<SliExtensions, 'histogram' | 'native_histogram'>;
  let sourceKind: SourceKind = src.kind;
  let sourceMetric: string;
  if (!hist && src.native) {
    const nat = src.native;
    thresholdMs = niceThresholdMs(target);
    thresholdWhy =
      `threshold ${thresholdMs} ms = smallest round value (1, 2, 2.5, 5 x 10^k ms) >= observed p99 ${p99} ms * ` +
      `${opts.latencyHeadroom} (${round(target, 3)} ms); native histograms need no bucket boundary`;
    const sel = selector(matchers);
    const agg = `sum(rate(${nat.metric}${sel}[${WINDOW_PLACEHOLDER}]))`;
    const t = formatLe(thresholdMs * nat.msToUnit);
    queries = {
      good_query: `histogram_fraction(0, ${t}, ${agg}) * histogram_count(${agg})`,
      total_query: `histogram_count(${agg})`,
    };
    shape = {
      native_histogram: {
        metric: nat.metric,
        selector: sel,
        unit: nat.msToUnit === 1 ? 'milliseconds' : 'seconds',
      },
    };
    sourceMetric = nat.metric;
  } else {
    if (!hist) {
      const fb = spanMetricsSource(
        j.service,
        j.entrypoint,
        `${src.countMetric} has no classic-histogram buckets in the inventory`,
      );
      hist = fb.histogram!;
      matchers = fb.matchers;
      notes.push(...fb.notes);
      sourceKind = 'span-metrics';
    } else notes.push(...src.notes);
    const bounds = [...hist.boundsMs].sort((a, b) => a - b);
    const onBound = bounds.find((b) => b >= target);
    thresholdMs = onBound ?? bounds[bounds.length - 1]!;
    thresholdWhy =
      onBound !== undefined
        ? `threshold ${thresholdMs} ms = smallest histogram bucket bound >= observed p99 ${p99} ms * ${opts.latencyHeadroom} (${round(target, 3)} ms)`
        : `observed p99 ${p99} ms * ${opts.latencyHeadroom} exceeds every bucket bound; threshold set to the largest bound ${thresholdMs} ms`;
    const sel = selector(matchers);
    queries = {
      good_query: `sum(rate(${hist.bucketMetric}${selector([...matchers, leMatcher(thresholdMs * hist.msToUnit)])}[${WINDOW_PLACEHOLDER}]))`,
      total_query: `sum(rate(${hist.countMetric}${sel}[${WINDOW_PLACEHOLDER}]))`,
    };
    shape = {
      histogram: {
        bucket_metric: hist.bucketMetric,
        count_metric: hist.countMetric,
        selector: sel,
        unit: hist.msToUnit === 1 ? 'milliseconds' : 'seconds',
      },
    };
    sourceMetric = hist.bucketMetric;
  }
  const exact = j.stats.boundsMs.includes(thresholdMs);
  const badOf = (x: { count: number; counts: number[] }) =>
    x.count - Math.round(x.count * fractionBelow(j.stats.boundsMs, x.counts, thresholdMs));
  const hours = hourSeries(j, badOf);
  const totalBad = hours.reduce((a, x) => a + x.bad, 0);
  const c = chooseObjective({ total: j.stats.count, bad: totalBad, hours }, opts);
  const rec: SliRec & SliExtensions = {
    id: `${j.id}-${kind}`,
    kind,
    ...queries,
    threshold_ms: thresholdMs,
    observed: { ...c.observed, p99_ms: p99, threshold_ms: thresholdMs },
    objective: c.objective,
    window: opts.window,
    confidence: c.confidence,
    evidence: [
      `${kind} of ${j.name}: good = ${what} completing within ${thresholdMs} ms, total = all ${what}`,
      thresholdWhy,
      exact
        ? `the observed good ratio is exact: ${thresholdMs} ms is also a bound of the rollup histogram`
        : `the observed good ratio is interpolated inside a rollup bucket (threshold is not a rollup bound)`,
      ...notes,
      ...(kind === 'freshness'
        ? [
            'no consumer-lag metric in the inventory: freshness is measured as processing latency of the consumer',
          ]
        : []),
      ...c.evidence,
    ],
    source: { kind: sourceKind, metric: sourceMetric, fallback: sourceKind === 'span-metrics' },
    ...shape,
  };
  return withBacktest(
    rec,
    minuteSeries(j, ctx.window, badOf),
    eventsPerDay(j, ctx.window),
    j.stats.count > 0 ? totalBad / j.stats.count : 0,
  );
}

const LAG_NAMES =
  /(consumergroup_lag|consumer_lag|_lag_seconds|_lag$|_lag_messages$|freshness_seconds|staleness_seconds)/;

/** Freshness from a consumer-lag gauge, when the inventory has one. */
function lagFreshness(
  j: DiscoveredJourney,
  inventory: readonly InventoryMetric[],
  opts: SliOptions,
): SliRec | undefined {
  const dest = messagingDestination(j.entrypoint);
  const m = inventory.find(
    (e) =>
      e.type === 'gauge' &&
      LAG_NAMES.test(e.name) &&
      (!e.services || e.services.length === 0 || e.services.includes(j.service)),
  );
  if (!m) return undefined;
  const matchers: string[] = [];
  const tl = firstLabel(m, ['topic', 'messaging_destination_name', 'queue']);
  if (dest && tl) matchers.push(eq(tl, dest));
  const gl = firstLabel(m, ['consumergroup', 'consumer_group', 'group']);
  if (gl) matchers.push(eq(gl, j.service));
  const seconds = /seconds/.test(m.name);
  const threshold = seconds ? 60 : 1000;
  const ratio = `avg_over_time((max(${m.name}${selector(matchers)}) <= bool ${threshold})[${WINDOW_PLACEHOLDER}:1m])`;
  const objective = 99;
  const rec: SliRec & SliExtensions = {
    id: `${j.id}-freshness`,
    kind: 'freshness',
    ratio_query: ratio,
    ...(seconds ? { threshold_ms: threshold * 1000 } : {}),
    observed: { lag_threshold: threshold, history_minutes: 0 },
    objective,
    window: opts.window,
    confidence: 0.3,
    evidence: [
      `freshness of ${j.name}: good = minutes in which ${m.name} stays <= ${threshold} ${seconds ? 'seconds' : 'messages'}`,
      `lag gauge ${m.name} found in the inventory` +
        (tl && dest ? `, selected by ${tl}="${dest}"` : '') +
        (gl ? ` and ${gl}="${j.service}" (assumes the consumer group is named after the service)` : ''),
      `rollups carry no lag history, so the objective ${objective}% is a conservative default and the threshold is a default of ` +
        `${threshold} ${seconds ? 's' : 'messages'}; confidence 0.3 until back-tested`,
    ],
    source: { kind: 'otel-messaging', metric: m.name, fallback: false },
  };
  return rec;
}

/** The protocol of a journey's entry point, for knowledge-base queries. */
export function protocolOf(
  j: Pick<DiscoveredJourney, 'entrypoint' | 'journeyType'>,
): KnowledgeQuery['protocol'] {
  if (j.journeyType === 'consumer') return 'messaging';
  if (isGrpc(j.entrypoint)) return 'grpc';
  return splitOperation(j.entrypoint).method ? 'http' : 'other';
}

function cite(rec: SliRec & SliExtensions, candidates: readonly KnowledgeCandidate[] | undefined): void {
  const mine = (candidates ?? [])
    .filter((c) => c.sli_kind === undefined || c.sli_kind === rec.kind)
    .slice()
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, 3);
  if (!mine.length) return;
  rec.knowledge = mine.map((c) => ({
    id: c.id,
    score: round(c.score, 4),
    ...(c.reason ? { reason: c.reason } : {}),
  }));
  rec.evidence.push(
    `knowledge base: ${mine.map((c) => `${c.title ?? c.id} (score ${round(c.score, 3)})`).join(', ')} ` +
      'support this SLI shape (cited only; numbers come from the history above)',
  );
}

/** Recommends SLIs for one journey. */
export function recommendSlis(
  j: DiscoveredJourney,
  inventory: readonly InventoryMetric[],
  opts: SliOptions = DEFAULT_SLI_OPTIONS,
  ctx: SliContext = {},
): SliRec[] {
  const src = resolveSource(j, inventory);
  const out: (SliRec & SliExtensions)[] = [availability(j, src, opts, ctx)];
  if (j.kind === 'request') {
    const l = latencyLike(j, src, 'latency', opts, ctx);
    if (l) out.push(l);
  } else {
    const f = lagFreshness(j, inventory, opts) ?? latencyLike(j, src, 'freshness', opts, ctx);
    if (f) out.push(f);
  }
  for (const r of out) cite(r, ctx.knowledge);
  return out;
}
