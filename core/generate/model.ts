/**
 * The validated SLO model every writer works from. `toSloModel` is the only place that reads Recommendations;
 * writers (Prometheus, Grafana, runbooks) only see SloModel, so new writers do not re-validate input.
 */
import { createHash } from 'node:crypto';
import type { Recommendations, SliRec } from '../../events/schemas.js';
import { err, ok, unwrap, type Result } from '../result.js';
import { parseDuration, type Severity } from './windows.js';

/** The rate-window placeholder in SLI query templates (see core/analysis/slis.ts). */
export const WINDOW_VAR = '{{.window}}';

export interface SloModel {
  /** SLO id (= SLI id): lower-case slug, unique in the set. */
  readonly id: string;
  readonly service: string;
  /** File-name-safe form of the service. */
  readonly serviceSlug: string;
  /** SLI kind: availability | latency | freshness. */
  readonly name: SliRec['kind'];
  readonly journeyId: string;
  readonly journeyName: string;
  readonly entrypoint: string;
  readonly journeyKind: 'request' | 'async';
  readonly criticality: 'high' | 'medium' | 'low';
  readonly lowTraffic: boolean;
  readonly description: string;
  /** Percent, e.g. 99.9. */
  readonly objective: number;
  /** 0..1, e.g. 0.999. */
  readonly objectiveRatio: number;
  /** 1 - objectiveRatio. */
  readonly errorBudget: number;
  readonly period: string;
  readonly periodDays: number;
  readonly sli: {
    /** Error ratio (0..1) over `{{.window}}`. */
    readonly errorRatioQuery: string;
    readonly goodQuery?: string;
    readonly totalQuery?: string;
    readonly badQuery?: string;
    readonly ratioQuery?: string;
    readonly thresholdMs?: number;
  };
  readonly histogram?: {
    readonly bucketMetric: string;
    readonly countMetric: string;
    readonly selector: string;
    readonly unit: string;
  };
  /** A native histogram behind a latency SLI (histogram_fraction). */
  readonly nativeHistogram?: { readonly metric: string; readonly selector: string; readonly unit: string };
  /** How a latency threshold maps onto the histogram; see latencyThreshold(). */
  readonly latency?: LatencyThreshold;
  /**
   * Calendar-aligned budgeting: besides the rolling period, the budget is also tracked per calendar month (UTC),
   * resetting on the 1st. See calendarRules() in prometheus.ts.
   */
  readonly calendar?: 'month';
  /** Extra labels put on every alert (e.g. team). */
  readonly labels: Readonly<Record<string, string>>;
  /** Runbook paths inside the artifact set, and the URLs alerts link to. */
  readonly runbooks: Readonly<Record<Severity, string>>;
  readonly runbookUrls: Readonly<Record<Severity, string>>;
  readonly dashboardUid: string;
  readonly dashboardUrl: string;
  readonly dependencies: readonly string[];
  readonly dependencyServices: readonly string[];
  readonly logTemplates: readonly { template_id: string; template: string; count: number; errors: number }[];
  readonly observed: Readonly<Record<string, number>>;
  readonly confidence: number;
  readonly evidence: readonly string[];
}

/**
 * A latency threshold against the buckets of a classic histogram. A classic histogram only counts requests at or
 * below its bucket bounds, so a threshold between two bounds cannot be measured exactly:
 * - 'bucket': the threshold is a bound; the SLI is exact.
 * - 'between-buckets': the SLI counts requests <= `usedMs` (the enclosing lower bound, conservative: requests
 *   between that bound and the threshold count as slow), and says so in the alert, dashboard and runbook.
 * - 'native': a native histogram; histogram_fraction interpolates inside the bucket holding the threshold.
 * - 'unknown-buckets': no bucket layout is known; the query is used as written.
 */
export interface LatencyThreshold {
  readonly thresholdMs: number;
  readonly mode: 'bucket' | 'between-buckets' | 'native' | 'unknown-buckets';
  /** The bound the SLI really counts against (ms). */
  readonly usedMs?: number;
  readonly lowerMs?: number;
  /** Undefined when the threshold is above the largest finite bound (+Inf). */
  readonly upperMs?: number;
  /** One sentence for annotations, dashboards and runbooks. */
  readonly note: string;
}

export interface ModelOptions {
  /** Labels added to every alert, e.g. { team: 'payments' }. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Absolute base for runbook links; without it alerts link to the relative path inside the set. */
  readonly runbookBaseUrl?: string;
  /** Grafana base URL; without it dashboard links are root-relative (/d/<uid>). */
  readonly grafanaBaseUrl?: string;
  /**
   * Classic-histogram bucket bounds by metric (family name or `_bucket` series name), in the metric's own unit, e.g.
   * from the metric inventory. Used to check latency thresholds against the bucket layout.
   */
  readonly histogramBuckets?: Readonly<Record<string, readonly number[]>>;
}

const LE_RE = /\ble\s*(=~|=)\s*"([^"]*)"/;

/** `le` matcher for a bound in the metric's unit; integer bounds match both `1` and Prometheus 3's `1.0`. */
export function leMatcherFor(bound: number): string {
  const s = String(Math.round(bound * 1e9) / 1e9);
  return Number.isInteger(bound) ? `le=~"${s}|${s}\\\\.0"` : `le="${s}"`;
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

/**
 * Checks a latency threshold against the bucket bounds (in the histogram's unit) and, when it falls between two
 * bounds, rewrites the good query to count against the enclosing lower bound. Pure; returns the (possibly
 * rewritten) good query and the explanation.
 */
export function latencyThreshold(
  thresholdMs: number,
  goodQuery: string | undefined,
  hist: { bucketMetric: string; selector: string; unit: string } | undefined,
  bounds: readonly number[] | undefined,
  native: boolean,
): { latency: LatencyThreshold; goodQuery: string | undefined } {
  if (native)
    return {
      goodQuery,
      latency: {
        thresholdMs,
        mode: 'native',
        usedMs: thresholdMs,
        note:
          `native histogram: histogram_fraction estimates the share of requests <= ${thresholdMs} ms by ` +
          'interpolating inside the exponential bucket that holds the threshold (error bounded by that bucket width)',
      },
    };
  const toMs = hist?.unit === 'milliseconds' ? 1 : 1000;
  const finite = [...(bounds ?? [])].filter((b) => Number.isFinite(b)).sort((a, b) => a - b);
  if (!hist || !finite.length)
    return {
      goodQuery,
      latency: {
        thresholdMs,
        mode: 'unknown-buckets',
        note: `bucket bounds unknown: the query is used as written and assumes ${thresholdMs} ms is a bucket bound`,
      },
    };
  const ms = finite.map((b) => round(b * toMs));
  if (ms.some((b) => Math.abs(b - thresholdMs) < 1e-6))
    return {
      goodQuery,
      latency: {
        thresholdMs,
        mode: 'bucket',
        usedMs: thresholdMs,
        note: `${thresholdMs} ms is a bucket bound`,
      },
    };
  const lowerIdx = ms.findLastIndex((b) => b < thresholdMs);
  const upperMs = ms.find((b) => b > thresholdMs);
  if (lowerIdx < 0) {
    // Below the smallest bound: nothing smaller to count against; the smallest bound is the only honest choice.
    const used = ms[0]!;
    return {
      goodQuery: rewriteLe(goodQuery, hist, finite[0]!),
      latency: {
        thresholdMs,
        mode: 'between-buckets',
        usedMs: used,
        upperMs: used,
        note:
          `threshold ${thresholdMs} ms is below the smallest bucket bound ${used} ms: the SLI counts requests <= ${used} ms ` +
          '(optimistic); add a smaller bucket to measure the threshold',
      },
    };
  }
  const lowerMs = ms[lowerIdx]!;
  return {
    goodQuery: rewriteLe(goodQuery, hist, finite[lowerIdx]!),
    latency: {
      thresholdMs,
      mode: 'between-buckets',
      usedMs: lowerMs,
      lowerMs,
      ...(upperMs !== undefined ? { upperMs } : {}),
      note:
        `threshold ${thresholdMs} ms falls between the bucket bounds ${lowerMs} ms and ${upperMs ?? '+Inf'} ` +
        `${upperMs !== undefined ? 'ms' : ''}`.trimEnd() +
        `: the SLI counts requests <= ${lowerMs} ms as good (conservative; requests between ${lowerMs} and ` +
        `${thresholdMs} ms count as slow), so the real SLI is at least what is shown; add a ${thresholdMs} ms bucket to measure it exactly`,
    },
  };
}

function rewriteLe(
  goodQuery: string | undefined,
  hist: { bucketMetric: string; selector: string },
  bound: number,
): string {
  if (goodQuery && LE_RE.test(goodQuery)) return goodQuery.replace(LE_RE, leMatcherFor(bound));
  const inner = hist.selector.replace(/^\{|\}$/g, '').trim();
  return `sum(rate(${hist.bucketMetric}{${inner ? `${inner}, ` : ''}${leMatcherFor(bound)}}[${WINDOW_VAR}]))`;
}

const ID_RE = /^[a-z0-9][a-z0-9-]{0,126}$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const hash8 = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 8);

/** File-name-safe, lower-case slug of a service name. */
export function serviceSlug(service: string): string {
  const s = service
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[-.]+|[-.]+$/g, '');
  return s || `service-${hash8(service)}`;
}

/** Grafana uids are at most 40 characters. */
export function dashboardUid(service: string): string {
  const s = `slo-scout-${serviceSlug(service).replace(/\./g, '-')}`;
  return s.length <= 40 ? s : `${s.slice(0, 31)}-${hash8(service)}`;
}

const trimSlash = (s: string) => s.replace(/\/+$/, '');

function errorRatioQuery(
  sli: SliRec & { bad_query?: unknown; error_ratio_query?: unknown },
): Result<string, string> {
  const bad = typeof sli.bad_query === 'string' ? sli.bad_query : undefined;
  if (typeof sli.error_ratio_query === 'string' && sli.error_ratio_query.trim())
    return ok(`(${sli.error_ratio_query.trim()})`);
  if (bad && sli.total_query) return ok(`(${bad})\n/\n(${sli.total_query})`);
  if (sli.good_query && sli.total_query)
    return ok(`1 - (\n  (${sli.good_query})\n  /\n  (${sli.total_query})\n)`);
  if (sli.ratio_query) return ok(`1 - (${sli.ratio_query})`);
  return err(
    `SLI ${sli.id}: needs bad_query+total_query, good_query+total_query, ratio_query or error_ratio_query`,
  );
}

/** Builds and validates SLO models; all problems are reported together. */
export function buildSloModels(rec: Recommendations, opts: ModelOptions = {}): Result<SloModel[], string> {
  const problems: string[] = [];
  const out: SloModel[] = [];
  const seen = new Set<string>();
  for (const label of Object.keys(opts.labels ?? {})) {
    if (!LABEL_RE.test(label)) problems.push(`label name "${label}" is not a valid Prometheus label name`);
  }
  for (const j of rec.journeys) {
    const ext = j as typeof j & {
      dependency_services?: unknown;
      log_templates?: SloModel['logTemplates'];
    };
    if (!j.service.trim()) problems.push(`journey ${j.id}: empty service`);
    for (const sli of j.slis) {
      const where = `journey ${j.id} SLI ${sli.id}`;
      if (!ID_RE.test(sli.id))
        problems.push(`${where}: id must be a lower-case slug ([a-z0-9-], <= 127 chars)`);
      if (seen.has(sli.id)) problems.push(`${where}: duplicate SLO id ${sli.id}`);
      seen.add(sli.id);
      if (!(sli.objective > 0 && sli.objective < 100))
        problems.push(`${where}: objective ${sli.objective} not in (0, 100)`);
      const periodMs = parseDuration(sli.window);
      if (periodMs === undefined)
        problems.push(`${where}: window "${sli.window}" is not a Prometheus duration`);
      const hist = (
        sli as {
          histogram?: {
            bucket_metric?: unknown;
            count_metric?: unknown;
            selector?: unknown;
            unit?: unknown;
            buckets?: unknown;
          };
        }
      ).histogram;
      const histogram =
        hist && typeof hist.bucket_metric === 'string' && typeof hist.count_metric === 'string'
          ? {
              bucketMetric: hist.bucket_metric,
              countMetric: hist.count_metric,
              selector: typeof hist.selector === 'string' ? hist.selector : '',
              unit: typeof hist.unit === 'string' ? hist.unit : 'seconds',
            }
          : undefined;
      const nat = (sli as { native_histogram?: { metric?: unknown; selector?: unknown; unit?: unknown } })
        .native_histogram;
      const nativeHistogram =
        nat && typeof nat.metric === 'string'
          ? {
              metric: nat.metric,
              selector: typeof nat.selector === 'string' ? nat.selector : '',
              unit: typeof nat.unit === 'string' ? nat.unit : 'seconds',
            }
          : undefined;
      const calendar = (sli as { calendar?: unknown }).calendar;
      if (calendar !== undefined && calendar !== 'month')
        problems.push(`${where}: calendar "${String(calendar)}" is not supported (only "month")`);
      let latency: LatencyThreshold | undefined;
      let goodQuery = sli.good_query;
      if (sli.kind === 'latency' && sli.threshold_ms !== undefined) {
        const own = Array.isArray(hist?.buckets)
          ? hist.buckets.filter((b): b is number => typeof b === 'number')
          : undefined;
        const bounds =
          own ??
          (histogram
            ? (opts.histogramBuckets?.[histogram.bucketMetric] ??
              opts.histogramBuckets?.[histogram.bucketMetric.replace(/_bucket$/, '')])
            : undefined);
        const t = latencyThreshold(sli.threshold_ms, goodQuery, histogram, bounds, Boolean(nativeHistogram));
        latency = t.latency;
        goodQuery = t.goodQuery;
      }
      const q = errorRatioQuery({ ...sli, ...(goodQuery !== undefined ? { good_query: goodQuery } : {}) });
      if (!q.ok) {
        problems.push(q.error);
        continue;
      }
      if (!q.value.includes(WINDOW_VAR))
        problems.push(`${where}: queries must contain the ${WINDOW_VAR} placeholder`);
      if (problems.length) continue;
      const objectiveRatio = Math.round(sli.objective * 1e6) / 1e8;
      const svcSlug = serviceSlug(j.service);
      const uid = dashboardUid(j.service);
      const runbooks = { page: `runbooks/${sli.id}-page.md`, ticket: `runbooks/${sli.id}-ticket.md` };
      const rbUrl = (p: string) => (opts.runbookBaseUrl ? `${trimSlash(opts.runbookBaseUrl)}/${p}` : p);
      const what =
        sli.kind === 'availability'
          ? 'requests served without a server error'
          : sli.kind === 'latency'
            ? latency?.mode === 'between-buckets'
              ? `requests faster than ${sli.threshold_ms ?? '?'} ms (measured at the ${latency.usedMs} ms bucket bound)`
              : `requests faster than ${sli.threshold_ms ?? '?'} ms`
            : sli.threshold_ms !== undefined
              ? `messages processed within ${sli.threshold_ms} ms`
              : 'time the consumer keeps up';
      out.push({
        id: sli.id,
        service: j.service,
        serviceSlug: svcSlug,
        name: sli.kind,
        journeyId: j.id,
        journeyName: j.name,
        entrypoint: j.entrypoint,
        journeyKind: j.kind,
        criticality: j.criticality,
        lowTraffic: j.low_traffic,
        description: `${sli.objective}% of ${what} for ${j.name} over ${sli.window}`,
        objective: sli.objective,
        objectiveRatio,
        errorBudget: Math.round((1 - objectiveRatio) * 1e8) / 1e8,
        period: sli.window,
        periodDays: Math.round(((periodMs ?? 0) / 86_400_000) * 1000) / 1000,
        sli: {
          errorRatioQuery: q.value,
          ...(goodQuery ? { goodQuery } : {}),
          ...(sli.total_query ? { totalQuery: sli.total_query } : {}),
          ...(typeof (sli as { bad_query?: unknown }).bad_query === 'string'
            ? { badQuery: (sli as { bad_query?: string }).bad_query! }
            : {}),
          ...(sli.ratio_query ? { ratioQuery: sli.ratio_query } : {}),
          ...(sli.threshold_ms !== undefined ? { thresholdMs: sli.threshold_ms } : {}),
        },
        ...(histogram ? { histogram } : {}),
        ...(nativeHistogram ? { nativeHistogram } : {}),
        ...(latency ? { latency } : {}),
        ...(calendar === 'month' ? { calendar: 'month' as const } : {}),
        labels: { ...opts.labels },
        runbooks,
        runbookUrls: { page: rbUrl(runbooks.page), ticket: rbUrl(runbooks.ticket) },
        dashboardUid: uid,
        dashboardUrl: `${opts.grafanaBaseUrl ? trimSlash(opts.grafanaBaseUrl) : ''}/d/${uid}/${svcSlug.replace(/\./g, '-')}-slos`,
        dependencies: j.dependencies,
        dependencyServices: Array.isArray(ext.dependency_services)
          ? ext.dependency_services.filter((s): s is string => typeof s === 'string')
          : [],
        logTemplates: Array.isArray(ext.log_templates) ? ext.log_templates : [],
        observed: sli.observed,
        confidence: sli.confidence,
        evidence: sli.evidence,
      });
    }
  }
  return problems.length ? err(`invalid recommendations: ${problems.join('; ')}`) : ok(out);
}

/** Like buildSloModels, but throws on invalid input. */
export function toSloModel(rec: Recommendations, opts: ModelOptions = {}): SloModel[] {
  return unwrap(buildSloModels(rec, opts));
}

/** Substitutes the rate window into a query template. */
export const withWindow = (query: string, window: string) => query.split(WINDOW_VAR).join(window);
