/**
 * Metric inventory: which metrics exist, of which type, with which labels and buckets. Analysis uses it so that the
 * PromQL it writes targets series that really exist. OTLP metric names are translated the way Prometheus does when
 * it ingests OTLP (dots to underscores, unit suffix, `_total` for monotonic sums).
 */
import type { MetricPointModel } from './otlp/model.js';

export interface MetricInventoryEntry {
  readonly name: string;
  readonly type: 'counter' | 'histogram' | 'gauge' | 'summary';
  readonly labels: readonly string[];
  readonly buckets?: readonly number[];
  readonly services: readonly string[];
}

const UNIT_SUFFIX: Readonly<Record<string, string>> = {
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  '%': 'percent',
};

const sanitize = (s: string) => s.replace(/[^a-zA-Z0-9_:]/g, '_').replace(/_+/g, '_');

/** OTLP name + unit + type -> the Prometheus metric family name. */
export function prometheusName(p: Pick<MetricPointModel, 'name' | 'unit' | 'type' | 'monotonic'>): string {
  let n = sanitize(p.name);
  const unit = p.unit.replace(/^\{.*\}$/, '');
  const suffix =
    UNIT_SUFFIX[unit] ?? (unit === '1' && p.type === 'gauge' ? 'ratio' : unit ? sanitize(unit) : '');
  if (suffix && !n.endsWith(`_${suffix}`)) n = `${n}_${suffix}`;
  if (p.type === 'sum' && p.monotonic && !n.endsWith('_total')) n = `${n}_total`;
  return n;
}

function typeOf(p: MetricPointModel): MetricInventoryEntry['type'] {
  if (p.type === 'histogram' || p.type === 'exponential_histogram') return 'histogram';
  if (p.type === 'summary') return 'summary';
  if (p.type === 'sum' && p.monotonic) return 'counter';
  return 'gauge';
}

/** Folds metric points into inventory entries (labels are attribute keys; OTel dots become underscores). */
export function inventoryFromPoints(points: readonly MetricPointModel[]): MetricInventoryEntry[] {
  const acc = new Map<
    string,
    {
      type: MetricInventoryEntry['type'];
      labels: Set<string>;
      buckets?: readonly number[];
      services: Set<string>;
    }
  >();
  for (const p of points) {
    const name = prometheusName(p);
    let e = acc.get(name);
    if (!e) {
      e = { type: typeOf(p), labels: new Set(), services: new Set() };
      acc.set(name, e);
    }
    for (const k of Object.keys(p.attributes)) e.labels.add(sanitize(k));
    const svc = p.resource['service.name'];
    if (typeof svc === 'string') e.services.add(svc);
    if (p.histogram && p.histogram.explicitBounds.length && !e.buckets)
      e.buckets = [...p.histogram.explicitBounds];
  }
  return [...acc.entries()]
    .map(([name, e]) => ({
      name,
      type: e.type,
      labels: [...e.labels].sort(),
      ...(e.buckets ? { buckets: e.buckets } : {}),
      services: [...e.services].sort(),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Merges two inventories (union of labels and services). */
export function mergeInventory(
  a: readonly MetricInventoryEntry[],
  b: readonly MetricInventoryEntry[],
): MetricInventoryEntry[] {
  const m = new Map<string, MetricInventoryEntry>();
  for (const e of [...a, ...b]) {
    const prev = m.get(e.name);
    if (!prev) {
      m.set(e.name, e);
      continue;
    }
    m.set(e.name, {
      name: e.name,
      type: prev.type,
      labels: [...new Set([...prev.labels, ...e.labels])].sort(),
      ...(prev.buckets || e.buckets ? { buckets: prev.buckets ?? e.buckets! } : {}),
      services: [...new Set([...prev.services, ...e.services])].sort(),
    });
  }
  return [...m.values()].sort((x, y) => x.name.localeCompare(y.name));
}
