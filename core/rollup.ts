/**
 * Per-minute rollups of fingerprinted records: counts, errors and a fixed-bucket latency histogram per
 * (minute, service, kind, key). Spans roll up by operation, logs by template id (logs carry no latency).
 */
import type { FingerprintedRecord, Rollup } from '../events/schemas.js';

export const DEFAULT_BOUNDS_MS: readonly number[] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

function checkBounds(bounds: readonly number[]): void {
  for (let i = 0; i < bounds.length; i++) {
    const b = bounds[i]!;
    if (!Number.isFinite(b) || b <= 0 || (i > 0 && b <= bounds[i - 1]!)) {
      throw new Error(
        `rollup: bounds must be finite, positive and strictly increasing; got [${bounds.join(', ')}]`,
      );
    }
  }
}

/** Index of the bucket for `v`: the first i with v <= bounds[i], or bounds.length (+Inf). */
export function bucketIndex(bounds: readonly number[], v: number): number {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (v <= bounds[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Unix-nano decimal string -> ISO minute (floor), without BigInt. */
function minuteOf(timeUnixNano: string): string {
  const ms = timeUnixNano.length > 6 ? Number(timeUnixNano.slice(0, -6)) : 0;
  return new Date(Math.floor(ms / 60_000) * 60_000).toISOString();
}

export function rollupRecords(
  records: readonly FingerprintedRecord[],
  bounds: readonly number[] = DEFAULT_BOUNDS_MS,
): Rollup[] {
  checkBounds(bounds);
  const groups = new Map<string, Rollup>();
  let lastNano = '';
  let lastMinute = '';
  for (const r of records) {
    // records mostly arrive in time order: reuse the previous minute string when the ms-minute prefix matches
    let minute: string;
    if (r.time_unix_nano === lastNano) minute = lastMinute;
    else {
      minute = minuteOf(r.time_unix_nano);
      lastNano = r.time_unix_nano;
      lastMinute = minute;
    }
    const kind = r.kind === 'span' ? 'operation' : 'template';
    const key = r.kind === 'span' ? r.operation : r.template_id;
    const gk = `${minute}\u0000${r.service}\u0000${kind}\u0000${key}`;
    let g = groups.get(gk);
    if (!g) {
      g = {
        minute,
        service: r.service,
        kind,
        key,
        count: 0,
        errors: 0,
        sum_ms: 0,
        latency: { bounds_ms: [...bounds], counts: new Array<number>(bounds.length + 1).fill(0) },
      };
      groups.set(gk, g);
    }
    g.count++;
    if (r.status === 'error') g.errors++;
    if (r.kind === 'span') {
      // a span without a duration counts as 0 ms so that sum(counts) === count for operations
      const d =
        r.duration_ms !== undefined && Number.isFinite(r.duration_ms) && r.duration_ms > 0
          ? r.duration_ms
          : 0;
      g.sum_ms += d;
      const i = bucketIndex(bounds, d);
      g.latency.counts[i] = g.latency.counts[i]! + 1;
    }
  }
  return [...groups.values()].sort(
    (a, b) =>
      cmp(a.minute, b.minute) || cmp(a.service, b.service) || cmp(a.kind, b.kind) || cmp(a.key, b.key),
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Adds two rollups of the same (minute, service, kind, key). Mismatched keys or bounds are a bug: throws. */
export function mergeRollups(a: Rollup, b: Rollup): Rollup {
  if (a.minute !== b.minute || a.service !== b.service || a.kind !== b.kind || a.key !== b.key) {
    throw new Error(
      `mergeRollups: different groups (${a.minute} ${a.service} ${a.kind} ${a.key}) vs (${b.minute} ${b.service} ${b.kind} ${b.key})`,
    );
  }
  const ba = a.latency.bounds_ms;
  const bb = b.latency.bounds_ms;
  if (ba.length !== bb.length || ba.some((v, i) => v !== bb[i])) {
    throw new Error(`mergeRollups: bucket bounds differ: [${ba.join(', ')}] vs [${bb.join(', ')}]`);
  }
  if (a.latency.counts.length !== ba.length + 1 || b.latency.counts.length !== bb.length + 1) {
    throw new Error('mergeRollups: counts length must be bounds length + 1');
  }
  return {
    minute: a.minute,
    service: a.service,
    kind: a.kind,
    key: a.key,
    count: a.count + b.count,
    errors: a.errors + b.errors,
    sum_ms: a.sum_ms + b.sum_ms,
    latency: { bounds_ms: [...ba], counts: a.latency.counts.map((c, i) => c + b.latency.counts[i]!) },
  };
}

/**
 * Estimated q-quantile from bucket counts (counts.length === bounds.length + 1, last is +Inf), interpolating
 * linearly inside the bucket (the first bucket starts at 0). A quantile in the +Inf bucket returns the last bound.
 * NaN when there are no observations.
 */
export function quantileFromBuckets(bounds: readonly number[], counts: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantileFromBuckets: q must be in [0, 1], got ${q}`);
  if (counts.length !== bounds.length + 1) {
    throw new Error(
      `quantileFromBuckets: counts length ${counts.length} must be bounds length ${bounds.length} + 1`,
    );
  }
  let total = 0;
  for (const c of counts) total += c;
  if (total === 0) return NaN;
  const rank = q * total;
  let cum = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c === 0) continue;
    if (cum + c >= rank) {
      if (i === bounds.length) return bounds[bounds.length - 1] ?? 0;
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      const upper = bounds[i]!;
      return lower + (upper - lower) * ((rank - cum) / c);
    }
    cum += c;
  }
  return bounds[bounds.length - 1] ?? 0;
}
