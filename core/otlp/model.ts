/** Decoded OTLP shapes the pure core works with (only the fields SLO-Scout uses). */

export type AttrValue = string | number | boolean;
export type Attrs = Record<string, AttrValue>;

/** OTLP SpanKind numbers. */
export const SpanKind = {
  UNSPECIFIED: 0,
  INTERNAL: 1,
  SERVER: 2,
  CLIENT: 3,
  PRODUCER: 4,
  CONSUMER: 5,
} as const;
/** OTLP Status.code numbers. */
export const StatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;

export interface SpanModel {
  /** Lower-case hex. */
  readonly traceId: string;
  readonly spanId: string;
  /** '' when the span is a root. */
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: number;
  /** Unix nanoseconds as decimal strings (they exceed 2^53). */
  readonly startTimeUnixNano: string;
  readonly endTimeUnixNano: string;
  readonly statusCode: number;
  readonly statusMessage: string;
  readonly attributes: Attrs;
  readonly resource: Attrs;
  readonly scope: string;
}

export interface LogModel {
  readonly timeUnixNano: string;
  readonly observedTimeUnixNano: string;
  readonly severityNumber: number;
  readonly severityText: string;
  /** String bodies as-is; structured bodies as compact JSON. */
  readonly body: string;
  readonly attributes: Attrs;
  readonly resource: Attrs;
  readonly traceId: string;
  readonly spanId: string;
}

export interface HistogramPointModel {
  readonly explicitBounds: readonly number[];
  readonly bucketCounts: readonly number[];
  readonly count: number;
  readonly sum: number;
}

export interface MetricPointModel {
  readonly name: string;
  readonly description: string;
  readonly unit: string;
  readonly type: 'gauge' | 'sum' | 'histogram' | 'exponential_histogram' | 'summary';
  readonly monotonic: boolean;
  readonly timeUnixNano: string;
  readonly attributes: Attrs;
  readonly resource: Attrs;
  /** gauge/sum value; histogram: undefined. */
  readonly value?: number;
  readonly histogram?: HistogramPointModel;
}

/** One resource group to encode (the demo workload and tests build requests from these). */
export interface ResourceSpansModel {
  readonly resource: Attrs;
  readonly scope: string;
  readonly spans: readonly Omit<SpanModel, 'resource' | 'scope'>[];
}
export interface ResourceLogsModel {
  readonly resource: Attrs;
  readonly scope: string;
  readonly logs: readonly Omit<LogModel, 'resource'>[];
}
export interface ResourceMetricsModel {
  readonly resource: Attrs;
  readonly scope: string;
  readonly points: readonly Omit<MetricPointModel, 'resource'>[];
}
