import { describe, expect, it } from 'vitest';
import type { FingerprintedRecord, Rollup } from '../../events/schemas.js';
import { RollupBatch } from '../../events/schemas.js';
import { validate } from '../../events/validate.js';
import {
  DEFAULT_BOUNDS_MS,
  bucketIndex,
  mergeRollups,
  quantileFromBuckets,
  rollupRecords,
} from '../../core/rollup.js';

const MIN = 60_000_000_000n; // one minute in ns
const T0 = 1_700_000_040_000_000_000n; // 2023-11-14T22:14:00Z exactly

function spanRec(
  offsetNs: bigint,
  op: string,
  ms: number | undefined,
  status: 'ok' | 'error' = 'ok',
): FingerprintedRecord {
  const r: FingerprintedRecord = {
    kind: 'span',
    service: 'checkout',
    operation: op,
    template_id: 'op_' + op,
    template: op,
    time_unix_nano: (T0 + offsetNs).toString(),
    status,
    attributes: {},
  };
  if (ms !== undefined) r.duration_ms = ms;
  return r;
}

function logRec(offsetNs: bigint, tpl: string, status: 'ok' | 'error' = 'ok'): FingerprintedRecord {
  return {
    kind: 'log',
    service: 'auth',
    operation: tpl,
    template_id: tpl,
    template: 'x <*>',
    time_unix_nano: (T0 + offsetNs).toString(),
    status,
    attributes: {},
  };
}

describe('bucketIndex', () => {
  it('puts values on a bound into that bound’s bucket (upper-inclusive)', () => {
    const b = DEFAULT_BOUNDS_MS;
    expect(bucketIndex(b, 0)).toBe(0);
    expect(bucketIndex(b, 5)).toBe(0);
    expect(bucketIndex(b, 5.0001)).toBe(1);
    expect(bucketIndex(b, 10000)).toBe(10);
    expect(bucketIndex(b, 10000.5)).toBe(11);
  });
});

describe('rollupRecords', () => {
  it('groups by minute, service, kind and key with counts, errors, sums and buckets', () => {
    const rollups = rollupRecords([
      spanRec(0n, 'GET /a', 3),
      spanRec(1_000_000_000n, 'GET /a', 7, 'error'),
      spanRec(59_999_999_999n, 'GET /a', 20000),
      spanRec(MIN, 'GET /a', 100),
      spanRec(5n, 'GET /b', 250),
      logRec(10n, 'tpl_1', 'error'),
      logRec(20n, 'tpl_1'),
    ]);
    const v = validate(RollupBatch, { rollups });
    expect(v.ok, v.ok ? '' : v.error).toBe(true);
    expect(rollups.map((r) => [r.minute, r.service, r.kind, r.key, r.count])).toEqual([
      ['2023-11-14T22:14:00.000Z', 'auth', 'template', 'tpl_1', 2],
      ['2023-11-14T22:14:00.000Z', 'checkout', 'operation', 'GET /a', 3],
      ['2023-11-14T22:14:00.000Z', 'checkout', 'operation', 'GET /b', 1],
      ['2023-11-14T22:15:00.000Z', 'checkout', 'operation', 'GET /a', 1],
    ]);
    const a = rollups[1]!;
    expect(a.errors).toBe(1);
    expect(a.sum_ms).toBe(20010);
    expect(a.latency.bounds_ms).toEqual(DEFAULT_BOUNDS_MS);
    expect(a.latency.counts).toEqual([1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    const logs = rollups[0]!;
    expect(logs.errors).toBe(1);
    expect(logs.sum_ms).toBe(0);
    expect(logs.latency.counts).toEqual(new Array(12).fill(0));
    expect(rollups[2]!.latency.counts[5]).toBe(1); // 250 -> (100, 250]
  });

  it('counts spans without a duration in the first bucket', () => {
    const [r] = rollupRecords([spanRec(0n, 'op', undefined)]);
    expect(r!.count).toBe(1);
    expect(r!.latency.counts[0]).toBe(1);
  });

  it('honours custom bounds and rejects invalid ones', () => {
    const [r] = rollupRecords([spanRec(0n, 'op', 15)], [10, 20]);
    expect(r!.latency).toEqual({ bounds_ms: [10, 20], counts: [0, 1, 0] });
    expect(() => rollupRecords([], [10, 5])).toThrow(/strictly increasing/);
    expect(() => rollupRecords([], [0, 5])).toThrow(/positive/);
    expect(rollupRecords([])).toEqual([]);
  });
});

describe('mergeRollups', () => {
  const base = (): Rollup =>
    rollupRecords([spanRec(0n, 'GET /a', 3), spanRec(0n, 'GET /a', 300, 'error')])[0]!;

  it('adds counts, errors, sums and buckets', () => {
    const m = mergeRollups(base(), base());
    expect(m.count).toBe(4);
    expect(m.errors).toBe(2);
    expect(m.sum_ms).toBe(606);
    expect(m.latency.counts).toEqual([2, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0]);
    // equals rolling up the union
    const union = rollupRecords([
      spanRec(0n, 'GET /a', 3),
      spanRec(0n, 'GET /a', 300, 'error'),
      spanRec(0n, 'GET /a', 3),
      spanRec(0n, 'GET /a', 300, 'error'),
    ])[0]!;
    expect(m).toEqual(union);
  });

  it('throws on a bounds mismatch or a different group', () => {
    const other = rollupRecords([spanRec(0n, 'GET /a', 3)], [1, 2])[0]!;
    expect(() => mergeRollups(base(), other)).toThrow(/bounds differ/);
    const b = { ...base(), key: 'GET /b' };
    expect(() => mergeRollups(base(), b)).toThrow(/different groups/);
  });
});

describe('quantileFromBuckets', () => {
  const bounds = [10, 20, 40];
  it('interpolates linearly inside the bucket', () => {
    // 10 obs in (0,10], 10 in (10,20]
    expect(quantileFromBuckets(bounds, [10, 10, 0, 0], 0.5)).toBe(10);
    expect(quantileFromBuckets(bounds, [10, 10, 0, 0], 0.75)).toBe(15);
    expect(quantileFromBuckets(bounds, [10, 10, 0, 0], 0.25)).toBe(5);
    expect(quantileFromBuckets(bounds, [0, 0, 4, 0], 0.5)).toBe(30);
    expect(quantileFromBuckets(bounds, [0, 0, 4, 0], 0)).toBe(20);
  });
  it('returns the last bound for the +Inf bucket and NaN without data', () => {
    expect(quantileFromBuckets(bounds, [1, 0, 0, 9], 0.99)).toBe(40);
    expect(quantileFromBuckets(bounds, [0, 0, 0, 0], 0.5)).toBeNaN();
  });
  it('rejects bad input', () => {
    expect(() => quantileFromBuckets(bounds, [1, 2, 3, 4], 1.5)).toThrow(RangeError);
    expect(() => quantileFromBuckets(bounds, [1, 2, 3], 0.5)).toThrow(/length/);
  });
});
