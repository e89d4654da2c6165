/**
 * Observability for hosts: an in-process metrics registry that renders the Prometheus text exposition format
 * (served on GET /metrics by the Knative host) and a JSON-lines logger on stderr with a level filter.
 */
import type { Logger, Metrics } from '../core/ports.js';

type Labels = Readonly<Record<string, string>>;

/** Prometheus' default histogram buckets (seconds). */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

interface HistogramState {
  readonly counts: number[];
  sum: number;
  count: number;
}

interface Family {
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly help: string;
  readonly buckets: readonly number[];
  /** Serialised label set -> value (counter/gauge) or histogram state. */
  readonly series: Map<string, { labels: Labels; value: number; hist?: HistogramState }>;
}

export interface RenderableMetrics extends Metrics {
  /** Prometheus text exposition format, version 0.0.4. */
  render(): string;
  /** Current value of a counter or gauge series (undefined when never recorded); for tests and health checks. */
  value(name: string, labels?: Labels): number | undefined;
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function labelKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}\u0000${labels[k]}`)
    .join('\u0001');
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function fmtLabels(labels: Labels, extra?: [string, string]): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${escapeLabel(labels[k]!)}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function fmtNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

export function createMetrics(opts: { buckets?: readonly number[] } = {}): RenderableMetrics {
  const buckets = [...(opts.buckets ?? DEFAULT_BUCKETS)].sort((a, b) => a - b);
  const families = new Map<string, Family>();

  const family = (name: string, type: Family['type'], help: string): Family => {
    let f = families.get(name);
    if (!f) {
      // validated once, when the family is created: updates are on hot paths (every collector request)
      if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name "${name}"`);
      f = { type, help, buckets, series: new Map() };
      families.set(name, f);
    } else if (f.type !== type) {
      throw new Error(`metric "${name}" is a ${f.type}, not a ${type}`);
    }
    return f;
  };
  const series = (f: Family, labels: Labels) => {
    const key = labelKey(labels);
    let s = f.series.get(key);
    if (!s) {
      // label names are validated when a series is created (the key holds them, so a known key is valid)
      for (const k of Object.keys(labels)) {
        if (!LABEL_NAME.test(k) || k.startsWith('__')) throw new Error(`invalid label name "${k}"`);
        if (k === 'le' && f.type === 'histogram') throw new Error('label "le" is reserved for histograms');
      }
      s = { labels: { ...labels }, value: 0 };
      if (f.type === 'histogram') s.hist = { counts: f.buckets.map(() => 0), sum: 0, count: 0 };
      f.series.set(key, s);
    }
    return s;
  };

  return {
    counter(name, help, labels = {}, by = 1) {
      if (!(by >= 0)) throw new Error(`counter "${name}" can only increase (got ${by})`);
      series(family(name, 'counter', help), labels).value += by;
    },
    gauge(name, help, value, labels = {}) {
      series(family(name, 'gauge', help), labels).value = value;
    },
    observe(name, help, value, labels = {}) {
      const f = family(name, 'histogram', help);
      const h = series(f, labels).hist!;
      f.buckets.forEach((b, i) => {
        if (value <= b) h.counts[i]! += 1;
      });
      h.sum += value;
      h.count += 1;
    },
    value(name, labels = {}) {
      const f = families.get(name);
      if (!f || f.type === 'histogram') return undefined;
      return f.series.get(labelKey(labels))?.value;
    },
    render() {
      const out: string[] = [];
      for (const [name, f] of [...families.entries()].sort(([a], [b]) => a.localeCompare(b))) {
        out.push(`# HELP ${name} ${escapeHelp(f.help)}`);
        out.push(`# TYPE ${name} ${f.type}`);
        for (const s of f.series.values()) {
          if (f.type !== 'histogram') {
            out.push(`${name}${fmtLabels(s.labels)} ${fmtNumber(s.value)}`);
            continue;
          }
          const h = s.hist!;
          f.buckets.forEach((b, i) => {
            out.push(`${name}_bucket${fmtLabels(s.labels, ['le', fmtNumber(b)])} ${h.counts[i]}`);
          });
          out.push(`${name}_bucket${fmtLabels(s.labels, ['le', '+Inf'])} ${h.count}`);
          out.push(`${name}_sum${fmtLabels(s.labels)} ${fmtNumber(h.sum)}`);
          out.push(`${name}_count${fmtLabels(s.labels)} ${h.count}`);
        }
      }
      return out.length ? `${out.join('\n')}\n` : '';
    },
  };
}

/** True when a Metrics sink can render the exposition format (the Knative host serves it on /metrics). */
export function isRenderable(m: Metrics): m is RenderableMetrics {
  return typeof (m as Partial<RenderableMetrics>).render === 'function';
}

// ---- logging ----------------------------------------------------------------------------------------------------

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export function parseLogLevel(v: string | undefined, fallback: LogLevel = 'info'): LogLevel {
  if (v === undefined || v === '') return fallback;
  const l = v.toLowerCase();
  if (l in RANK) return l as LogLevel;
  throw new Error(`invalid log level "${v}": expected one of ${Object.keys(RANK).join(', ')}`);
}

export interface LoggerOptions {
  readonly level?: LogLevel;
  readonly name: string;
  /** Where lines go; defaults to process.stderr. */
  readonly write?: (line: string) => void;
  readonly now?: () => Date;
}

function jsonSafe(fields: Record<string, unknown>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v instanceof Error)
      o[k] = { name: v.name, message: v.message, ...(v.stack ? { stack: v.stack } : {}) };
    else if (typeof v === 'bigint') o[k] = v.toString();
    else if (v instanceof Uint8Array) o[k] = `<${v.length} bytes>`;
    else o[k] = v;
  }
  return o;
}

/** A logger writing one JSON object per line: {time, level, name, msg, ...fields}. */
export function createLogger(opts: LoggerOptions): Logger {
  const min = RANK[opts.level ?? 'info'];
  const write = opts.write ?? ((line: string) => void process.stderr.write(line));
  const now = opts.now ?? (() => new Date());
  const emit = (level: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>) => {
    if (RANK[level] < min) return;
    const rec = {
      time: now().toISOString(),
      level,
      name: opts.name,
      msg,
      ...(fields ? jsonSafe(fields) : {}),
    };
    let line: string;
    try {
      line = JSON.stringify(rec);
    } catch {
      // Circular or otherwise unserialisable fields: keep the message rather than lose the line.
      line = JSON.stringify({
        time: rec.time,
        level,
        name: opts.name,
        msg,
        fields_error: 'unserialisable fields',
      });
    }
    write(`${line}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

export const noopLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
