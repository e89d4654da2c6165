/** Types of the SLI knowledge base (core/knowledge): pure data, no I/O. */

export type PatternCategory =
  | 'http-server'
  | 'grpc-server'
  | 'messaging-consumer'
  | 'batch-job'
  | 'database'
  | 'cache'
  | 'queue'
  | 'ingress-nginx'
  | 'istio'
  | 'kubernetes';

export type PatternSliKind = 'availability' | 'latency' | 'freshness' | 'lag' | 'hit_ratio' | 'saturation';

/** A metric the pattern needs: an exact Prometheus family name, or a regular expression over family names. */
export interface PatternMetric {
  /** Exact family name (histograms: without _bucket/_count/_sum). */
  readonly name?: string;
  /** Anchored regular expression over family names, when the name varies (e.g. `.*_last_success_unixtime`). */
  readonly pattern?: string;
  readonly type: 'counter' | 'histogram' | 'gauge' | 'summary';
  /** Labels the good/total semantics rely on (e.g. the status code). */
  readonly labels: readonly string[];
}

export interface SliPattern {
  /** Stable id, e.g. `http-server.availability.otel`. */
  readonly id: string;
  /** Bumped whenever the pattern's meaning or queries change. */
  readonly version: number;
  readonly title: string;
  readonly category: PatternCategory;
  readonly sliKind: PatternSliKind;
  /** Which instrumentation emits the metrics (OTel semconv, a client library default, an exporter). */
  readonly source: string;
  /** Prose that is embedded for retrieval: what the SLI measures and which telemetry mentions it. */
  readonly description: string;
  readonly keywords: readonly string[];
  /** Journeys this pattern fits: synchronous requests, asynchronous consumers, or either. */
  readonly journeyKinds: readonly ('request' | 'async' | 'job' | 'infra')[];
  readonly metrics: readonly PatternMetric[];
  /** Labels that narrow the metric to one journey (route, method, service…), in order of preference. */
  readonly journeyLabels: readonly string[];
  /** What counts as a good event and what as an event at all. */
  readonly semantics: { readonly good: string; readonly total: string };
  /**
   * PromQL templates. `$SEL` is the journey's label matchers (comma-separated, may be empty), `{{.window}}` the SLO
   * window placeholder also used by core/analysis, and `$<PARAM>` any parameter from `params`. `$METRIC` is the
   * family name that matched `metrics[0]` (for patterns matched by regular expression).
   */
  readonly promql: { readonly good: string; readonly total: string };
  /** Parameters with their defaults (thresholds in the metric's unit). */
  readonly params?: Readonly<Record<string, number>>;
  readonly objective: { readonly typical: number; readonly min: number; readonly max: number };
}

export interface SliCatalogue {
  readonly version: string;
  readonly patterns: readonly SliPattern[];
}
