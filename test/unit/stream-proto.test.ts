/**
 * The protobuf fast path of the streaming accumulator must give exactly what the reference path gives: decode with
 * core/otlp, then add span models one by one.
 */
import { describe, expect, it } from 'vitest';
import { demoWorkload } from '../../core/demo/workload.js';
import { encodeTraces } from '../../core/otlp/encode.js';
import { decodeTraces } from '../../core/otlp/decode.js';
import { SpanAccumulator, type AccumulatorOptions } from '../../core/stream/spans.js';
import { TracesProtoReader } from '../../core/stream/otlp-proto.js';

function batches(seed: number, hours: number): Uint8Array[] {
  const end = new Date('2026-03-01T12:00:00Z');
  return [...demoWorkload({ seed, end, hours })]
    .filter((b) => b.traces.length)
    .map((b) => encodeTraces(b.traces));
}

function both(input: Uint8Array[], opts: AccumulatorOptions = {}) {
  const fast = new SpanAccumulator(opts);
  const reference = new SpanAccumulator(opts);
  const reader = new TracesProtoReader();
  for (const bytes of input) {
    const r = reader.read(bytes, fast);
    expect(r.ok).toBe(true);
    const spans = decodeTraces(bytes);
    if (!spans.ok) throw new Error(spans.error);
    for (const s of spans.value) reference.addModel(s);
  }
  return { fast: fast.result(), reference: reference.result() };
}

describe('TracesProtoReader', () => {
  it('matches decode + addModel on a realistic workload', () => {
    const { fast, reference } = both(batches(3, 1));
    expect(fast).toBeDefined();
    expect(fast).toEqual(reference);
  });

  it('matches with a tiny parent window and operation cache (orphans, cache resets)', () => {
    const { fast, reference } = both(batches(5, 1), { parentWindow: 16, opCacheSize: 8 });
    expect(fast).toEqual(reference);
  });

  it('rejects a truncated request and adds nothing', () => {
    const [first] = batches(9, 1);
    const acc = new SpanAccumulator();
    const r = new TracesProtoReader().read(first!.subarray(0, Math.floor(first!.length / 2)), acc);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/malformed OTLP protobuf/);
    expect(acc.result()).toEqual(new SpanAccumulator().result());
  });
});
