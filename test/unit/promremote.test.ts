import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  crc32c,
  decodeChunkedReadResponse,
  decodeReadResponse,
  decodeXorChunk,
  encodeChunkedReadResponse,
  encodeReadRequest,
  encodeReadResponse,
  encodeXorChunk,
  frameChunked,
  inventoryFromPrometheus,
  parseChunkedFrames,
  parseSelector,
  planWindows,
  samplesFromChunks,
  snappyCompress,
  snappyDecompress,
  toSampleBatches,
  DEFAULT_SELECTORS,
  CHUNK_ENCODING,
} from '../../core/promremote/index.js';
import { walk } from '../../core/protowire.js';

const te = new TextEncoder();

describe('snappy block codec', () => {
  it('decodes hand-built blocks with literals and all copy forms', () => {
    // "abcd" literal, then a 1-byte-offset copy of 8 (overlapping), then a 2-byte-offset copy of 4.
    const block = new Uint8Array([16, 0x0c, 97, 98, 99, 100, 0x01 | (4 << 2), 4, 0x02 | (3 << 2), 12, 0]);
    const out = snappyDecompress(block);
    expect(out.ok && new TextDecoder().decode(out.value)).toBe('abcdabcdabcdabcd');
    expect(snappyDecompress(new Uint8Array([5, 0x01, 1, 0])).ok).toBe(false); // copy before any output
    expect(snappyDecompress(new Uint8Array([200, 1])).ok).toBe(false); // declared length never reached
  });

  it('round-trips arbitrary and repetitive data', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.integer({ min: 1, max: 200 }), (a, rep) => {
        for (const src of [
          a,
          new Uint8Array(Buffer.concat(Array.from({ length: rep }, () => Buffer.from(a)))),
        ]) {
          const c = snappyCompress(src);
          const d = snappyDecompress(c);
          expect(d.ok && Buffer.from(d.value).equals(Buffer.from(src))).toBe(true);
        }
      }),
      { numRuns: 60 },
    );
    const big = te.encode('http_requests_total{code="200"} '.repeat(10_000));
    expect(snappyCompress(big).length).toBeLessThan(big.length / 10);
  });

  it('never throws on garbage', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (g) => {
        snappyDecompress(g, 1 << 20);
      }),
      { numRuns: 300 },
    );
  });
});

describe('CRC-32C and chunked frames', () => {
  it('matches the Castagnoli check value', () => {
    expect(crc32c(te.encode('123456789'))).toBe(0xe3069283);
  });
  it('frames and unframes, keeping an incomplete tail, rejecting corruption', () => {
    const a = frameChunked(te.encode('first message'));
    const b = frameChunked(new Uint8Array(300).fill(7));
    const all = new Uint8Array([...a, ...b]);
    const partial = parseChunkedFrames(all.subarray(0, all.length - 5));
    expect(partial.ok && partial.value.frames.length).toBe(1);
    expect(partial.ok && partial.value.consumed).toBe(a.length);
    const full = parseChunkedFrames(all);
    expect(full.ok && full.value.frames.map((f) => f.length)).toEqual([13, 300]);
    const bad = all.slice();
    bad[a.length + 20]! ^= 1;
    expect(parseChunkedFrames(bad).ok).toBe(false);
  });
});

describe('XOR chunks', () => {
  it('round-trips samples, including irregular intervals, negative deltas of delta, NaN and infinities', () => {
    const samples = [
      { t: 1_700_000_000_000, v: 1 },
      { t: 1_700_000_015_000, v: 1 },
      { t: 1_700_000_030_000, v: 2.5 },
      { t: 1_700_000_044_990, v: -3.25 },
      { t: 1_700_000_060_000, v: 1e300 },
      { t: 1_700_000_060_001, v: Infinity },
      { t: 1_700_001_000_000, v: NaN },
      { t: 1_700_001_000_000 + 2 ** 40, v: 0 },
    ];
    const d = decodeXorChunk(encodeXorChunk(samples));
    if (!d.ok) throw new Error(d.error);
    expect(d.value).toEqual(samples);
  });
  it('round-trips random series', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2_000_000 }), fc.double()), {
          minLength: 1,
          maxLength: 200,
        }),
        fc.integer({ min: 0, max: 1_800_000_000_000 }),
        (pts, t0) => {
          let t = t0;
          const samples = pts.map(([dt, v]) => ({ t: (t += dt), v }));
          const d = decodeXorChunk(encodeXorChunk(samples));
          expect(d.ok && d.value).toEqual(samples);
        },
      ),
      { numRuns: 100 },
    );
  });
  it('reports truncation instead of throwing', () => {
    const c = encodeXorChunk([
      { t: 1, v: 1 },
      { t: 2, v: 3 },
      { t: 4, v: 7 },
    ]);
    for (let i = 0; i < c.length; i++) expect(decodeXorChunk(c.subarray(0, i)).ok).toBe(false);
  });
});

describe('remote-read messages', () => {
  it('encodes a ReadRequest with queries, matchers and accepted types', () => {
    const bytes = encodeReadRequest(
      [{ startMs: 1000, endMs: 2000, matchers: [{ type: 'RE', name: '__name__', value: 'up|x' }] }],
      ['STREAMED_XOR_CHUNKS'],
    );
    const fields: number[] = [];
    walk(bytes, (f) => void fields.push(f.field));
    expect(fields).toEqual([1, 2]);
  });
  it('decodes ReadResponse and ChunkedReadResponse', () => {
    const rr = encodeReadResponse([
      [
        {
          labels: { __name__: 'up', job: 'a' },
          samples: [
            { t: 5, v: 1 },
            { t: 10, v: 0 },
          ],
        },
      ],
      [],
    ]);
    const d = decodeReadResponse(rr);
    expect(d.ok && d.value).toEqual([
      [
        {
          labels: { __name__: 'up', job: 'a' },
          samples: [
            { t: 5, v: 1 },
            { t: 10, v: 0 },
          ],
        },
      ],
      [],
    ]);
    const chunk = encodeXorChunk([
      { t: 100, v: 1 },
      { t: 200, v: 2 },
      { t: 300, v: 3 },
    ]);
    const cr = encodeChunkedReadResponse({
      queryIndex: 1,
      series: [
        {
          labels: { __name__: 'x' },
          chunks: [{ minTimeMs: 100, maxTimeMs: 300, type: CHUNK_ENCODING.XOR, data: chunk }],
        },
      ],
    });
    const c = decodeChunkedReadResponse(cr);
    if (!c.ok) throw new Error(c.error);
    expect(c.value.queryIndex).toBe(1);
    const s = samplesFromChunks(c.value.series, 150, 300);
    expect(s.ok && s.value.series[0]!.samples).toEqual([
      { t: 200, v: 2 },
      { t: 300, v: 3 },
    ]);
  });
  it('never throws on malformed messages', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (g) => {
        decodeReadResponse(g);
        const c = decodeChunkedReadResponse(g);
        if (c.ok) samplesFromChunks(c.value.series, 0, 1e15);
        parseChunkedFrames(g);
        decodeXorChunk(g);
      }),
      { numRuns: 500 },
    );
  });
});

describe('selectors, windows, batches, inventory', () => {
  it('parses selectors and rejects ones matching everything', () => {
    const s = parseSelector('http_requests_total{job="api", code=~"5..",path!="/x\\"y"}');
    expect(s.ok && s.value.matchers).toEqual([
      { type: 'EQ', name: '__name__', value: 'http_requests_total' },
      { type: 'EQ', name: 'job', value: 'api' },
      { type: 'RE', name: 'code', value: '5..' },
      { type: 'NEQ', name: 'path', value: '/x"y' },
    ]);
    expect(parseSelector('{job=~".*"}').ok).toBe(false);
    expect(parseSelector('{job=').ok).toBe(false);
    expect(DEFAULT_SELECTORS.map((d) => d.name)).toEqual(
      expect.arrayContaining([
        'otel-semconv-http-rpc',
        'client-library-http',
        'ingress-nginx',
        'istio',
        'kube-state-metrics',
      ]),
    );
    const re = (name: string) =>
      DEFAULT_SELECTORS.some((d) => new RegExp(`^(?:${d.matchers[0]!.value})$`).test(name));
    for (const n of [
      'http_server_request_duration_seconds_bucket',
      'rpc_server_duration_milliseconds_count',
      'http_requests_total',
      'http_request_duration_seconds_sum',
      'nginx_ingress_controller_requests',
      'istio_request_duration_milliseconds_bucket',
      'kube_deployment_status_replicas_available',
    ])
      expect(re(n), n).toBe(true);
  });

  it('plans contiguous bounded windows from the checkpoint, never past now - delay', () => {
    const o = {
      nowMs: 1_000_000,
      windowMs: 100_000,
      delayMs: 50_000,
      initialLookbackMs: 400_000,
      maxWindows: 10,
    };
    const w = planWindows(null, o);
    expect(w[0]!.startMs).toBe(600_000);
    for (let i = 1; i < w.length; i++) expect(w[i]!.startMs).toBe(w[i - 1]!.endMs + 1);
    expect(w.at(-1)!.endMs).toBeLessThanOrEqual(950_000);
    const next = planWindows({ nextStartMs: w.at(-1)!.endMs + 1, updatedAt: '' }, { ...o, nowMs: 1_500_000 });
    expect(next[0]!.startMs).toBe(w.at(-1)!.endMs + 1);
    expect(planWindows(null, { ...o, maxWindows: 2 })).toHaveLength(2);
  });

  it('batches by metric name within the size bound, dropping stale markers', () => {
    const stale = new Float64Array(new BigUint64Array([0x7ff0000000000002n]).buffer)[0]!;
    const series = Array.from({ length: 30 }, (_, i) => ({
      labels: { __name__: i % 2 ? 'a' : 'b', i: String(i) },
      samples: Array.from({ length: 200 }, (_, j) => ({ t: j * 1000, v: j === 199 ? stale : j })),
    }));
    const out = toSampleBatches(series, {
      prometheus: 'p',
      window: { startMs: 0, endMs: 1e6 },
      maxBatchBytes: 20_000,
    });
    expect(new Set(out.map((b) => b.key))).toEqual(new Set(['a', 'b']));
    for (const b of out) expect(JSON.stringify(b.batch).length).toBeLessThan(40_000);
    expect(out.reduce((a, b) => a + b.samples, 0)).toBe(30 * 199);
  });

  it('builds inventory entries from metadata and series', () => {
    const inv = inventoryFromPrometheus(
      {
        http_request_duration_seconds: [{ type: 'histogram' }],
        http_requests_total: [{ type: 'counter' }],
      },
      [
        { __name__: 'http_request_duration_seconds_bucket', le: '0.1', job: 'api', route: '/a' },
        { __name__: 'http_request_duration_seconds_bucket', le: '+Inf', job: 'api', route: '/a' },
        { __name__: 'http_request_duration_seconds_bucket', le: '0.5', job: 'api', route: '/a' },
        { __name__: 'http_request_duration_seconds_count', job: 'api', route: '/a' },
        { __name__: 'http_requests_total', job: 'api', code: '200' },
        { __name__: 'mystery', job: 'web' },
      ],
    );
    expect(inv).toEqual([
      {
        name: 'http_request_duration_seconds',
        type: 'histogram',
        labels: ['job', 'route'],
        buckets: [0.1, 0.5],
        services: ['api'],
      },
      { name: 'http_requests_total', type: 'counter', labels: ['code', 'job'], services: ['api'] },
      { name: 'mystery', type: 'gauge', labels: ['job'], services: ['web'] },
    ]);
  });
});
