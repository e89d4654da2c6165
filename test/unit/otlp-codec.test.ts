import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeLogs, decodeMetrics, decodeTraces } from '../../core/otlp/decode.js';
import { encodeLogs, encodeMetrics, encodeTraces, ProtoWriter } from '../../core/otlp/encode.js';
import {
  decodeLogsJson,
  decodeMetricsJson,
  decodeTracesJson,
  otlpJsonToProto,
} from '../../core/otlp/json.js';
import { countResources, firstServiceName, splitByResource } from '../../core/otlp/split.js';
import type { ResourceLogsModel, ResourceMetricsModel, ResourceSpansModel } from '../../core/otlp/model.js';
import { checkOtlpExportRequest } from '../../events/registry.js';

const T0 = '1717171717123456789';
const T1 = '1717171717223456789';

const spans: ResourceSpansModel[] = [
  {
    resource: { 'service.name': 'checkout', 'deployment.environment': 'prod', 'host.cpu': 4 },
    scope: 'io.opentelemetry.http',
    spans: [
      {
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        parentSpanId: '',
        name: 'POST /api/checkout',
        kind: 2,
        startTimeUnixNano: T0,
        endTimeUnixNano: T1,
        statusCode: 2,
        statusMessage: 'payment failed',
        attributes: {
          'http.request.method': 'POST',
          'http.response.status_code': 503,
          'http.route': '/api/checkout',
          ratio: 0.25,
          retried: true,
          negative: -42,
        },
      },
      {
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: '00f067aa0ba902b7',
        parentSpanId: 'b7ad6b7169203331',
        name: 'payment.Charge',
        kind: 3,
        startTimeUnixNano: T0,
        endTimeUnixNano: T1,
        statusCode: 0,
        statusMessage: '',
        attributes: { 'rpc.system': 'grpc', 'rpc.grpc.status_code': 14 },
      },
    ],
  },
  {
    resource: { 'service.name': 'payment' },
    scope: '',
    spans: [
      {
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: '1111111111111111',
        parentSpanId: '00f067aa0ba902b7',
        name: 'Charge',
        kind: 2,
        startTimeUnixNano: T0,
        endTimeUnixNano: T1,
        statusCode: 1,
        statusMessage: '',
        attributes: {},
      },
    ],
  },
];

const logs: ResourceLogsModel[] = [
  {
    resource: { 'service.name': 'cart' },
    scope: 'logger',
    logs: [
      {
        timeUnixNano: T0,
        observedTimeUnixNano: T1,
        severityNumber: 17,
        severityText: 'ERROR',
        body: 'cart 42 not found for user alice@example.com',
        attributes: { 'user.id': 8812, 'exception.type': 'NotFound' },
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
      },
      {
        timeUnixNano: T1,
        observedTimeUnixNano: '0',
        severityNumber: 0,
        severityText: '',
        body: '',
        attributes: {},
        traceId: '',
        spanId: '',
      },
    ],
  },
];

const BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const metrics: ResourceMetricsModel[] = [
  {
    resource: { 'service.name': 'catalog' },
    scope: 'demo',
    points: [
      {
        name: 'http.server.request.duration',
        description: 'Duration of HTTP server requests.',
        unit: 's',
        type: 'histogram',
        monotonic: false,
        timeUnixNano: T1,
        attributes: { 'http.route': '/api/products/{id}', 'http.response.status_code': 200 },
        histogram: {
          explicitBounds: BOUNDS,
          bucketCounts: [1, 2, 3, 4, 5, 6, 7, 0, 0, 0, 0, 0, 0, 0, 1],
          count: 29,
          sum: 3.25,
        },
      },
      {
        name: 'queue.depth',
        description: '',
        unit: '{message}',
        type: 'gauge',
        monotonic: false,
        timeUnixNano: T1,
        attributes: {},
        value: 12.5,
      },
      {
        name: 'orders.total',
        description: '',
        unit: '{order}',
        type: 'sum',
        monotonic: true,
        timeUnixNano: T1,
        attributes: { region: 'eu' },
        value: 1234,
      },
    ],
  },
];

function flatSpans(groups: ResourceSpansModel[]) {
  return groups.flatMap((g) => g.spans.map((s) => ({ ...s, resource: g.resource, scope: g.scope })));
}

describe('OTLP protobuf round trip', () => {
  it('traces: encode -> decode is the identity on the model', () => {
    const bytes = encodeTraces(spans);
    expect(checkOtlpExportRequest(bytes).ok).toBe(true);
    const r = decodeTraces(bytes);
    expect(r.ok && r.value).toEqual(flatSpans(spans));
  });

  it('logs: encode -> decode is the identity on the model', () => {
    const r = decodeLogs(encodeLogs(logs));
    expect(r.ok && r.value).toEqual(logs[0]!.logs.map((l) => ({ ...l, resource: logs[0]!.resource })));
  });

  it('metrics: gauge, sum and histogram survive encode -> decode', () => {
    const r = decodeMetrics(encodeMetrics(metrics));
    expect(r.ok && r.value).toEqual(
      metrics[0]!.points.map((p) => ({ ...p, resource: metrics[0]!.resource })),
    );
  });

  it('keeps 64-bit nanosecond timestamps exact', () => {
    const big = '18446744073709551615';
    const r = decodeTraces(
      encodeTraces([
        { resource: {}, scope: '', spans: [{ ...spans[0]!.spans[0]!, startTimeUnixNano: big }] },
      ]),
    );
    expect(r.ok && r.value[0]!.startTimeUnixNano).toBe(big);
  });

  it('property: arbitrary span attributes round-trip', () => {
    const attrValue = fc.oneof(
      fc.string(),
      fc.boolean(),
      fc.integer({ min: -1e12, max: 1e12 }),
      fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)),
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1 }), attrValue), fc.string(), (attributes, name) => {
        const model: ResourceSpansModel[] = [
          {
            resource: { 'service.name': 'x' },
            scope: 's',
            spans: [{ ...spans[0]!.spans[1]!, name, attributes }],
          },
        ];
        const r = decodeTraces(encodeTraces(model));
        expect(r.ok && r.value).toEqual(flatSpans(model));
      }),
      { numRuns: 100 },
    );
  });

  it('reports malformed bytes as errors, not throws', () => {
    const bytes = encodeTraces(spans);
    const truncated = bytes.subarray(0, bytes.length - 3);
    const r = decodeTraces(truncated);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/malformed OTLP protobuf/);
    // A string where a fixed64 timestamp must be.
    const w = new ProtoWriter();
    w.message(1, (rs) => rs.message(2, (ss) => ss.message(2, (s) => s.string(7, 'not a time'))));
    const bad = decodeTraces(w.finish());
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error).toMatch(/start_time_unix_nano/);
  });

  it('decodes an exponential histogram into explicit buckets and skips unknown fields', () => {
    const w = new ProtoWriter();
    w.message(1, (rm) =>
      rm.message(2, (sm) =>
        sm.message(2, (m) => {
          m.string(1, 'lat');
          m.string(99, 'unknown field is skipped');
          m.message(10, (eh) =>
            eh.message(1, (dp) => {
              dp.fixed64(3, T0);
              dp.fixed64(4, 6);
              dp.double(5, 9);
              dp.sint(6, 0); // base 2
              dp.fixed64(7, 1);
              dp.message(8, (b) => {
                b.sint(1, 0);
                b.packedVarint(2, [2, 3]);
              });
            }),
          );
        }),
      ),
    );
    const r = decodeMetrics(w.finish());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value[0]!.type).toBe('exponential_histogram');
    expect(r.value[0]!.histogram).toEqual({
      explicitBounds: [1, 2, 4],
      bucketCounts: [1, 2, 3, 0],
      count: 6,
      sum: 9,
    });
  });
});

describe('OTLP/JSON', () => {
  const tracesJson = {
    resourceSpans: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: 'checkout' } },
            { key: 'deployment.environment', value: { stringValue: 'prod' } },
            { key: 'host.cpu', value: { intValue: '4' } },
          ],
        },
        scopeSpans: [
          {
            scope: { name: 'io.opentelemetry.http', version: '1.2.3' },
            spans: [
              {
                traceId: '0AF7651916CD43DD8448EB211C80319C',
                spanId: 'b7ad6b7169203331',
                parentSpanId: '',
                name: 'POST /api/checkout',
                kind: 2,
                startTimeUnixNano: T0,
                endTimeUnixNano: T1,
                attributes: [
                  { key: 'http.request.method', value: { stringValue: 'POST' } },
                  { key: 'http.response.status_code', value: { intValue: 503 } },
                  { key: 'http.route', value: { stringValue: '/api/checkout' } },
                  { key: 'ratio', value: { doubleValue: 0.25 } },
                  { key: 'retried', value: { boolValue: true } },
                  { key: 'negative', value: { intValue: '-42' } },
                ],
                events: [{ timeUnixNano: T0, name: 'exception', attributes: [] }],
                status: { code: 2, message: 'payment failed' },
                someFutureField: { ignored: true },
              },
            ],
          },
        ],
      },
    ],
  };

  it('JSON -> protobuf -> decode equals the protobuf path', () => {
    const r = decodeTracesJson(JSON.stringify(tracesJson));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const expected = flatSpans(spans)[0]!;
    expect(r.value).toEqual([expected]);
  });

  it('logs and metrics JSON decode to the same models as their protobuf encodings', () => {
    const logsJson = {
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'cart' } }] },
          scopeLogs: [
            {
              scope: { name: 'logger' },
              logRecords: [
                {
                  timeUnixNano: T0,
                  observedTimeUnixNano: T1,
                  severityNumber: 17,
                  severityText: 'ERROR',
                  body: { stringValue: 'cart 42 not found for user alice@example.com' },
                  attributes: [
                    { key: 'user.id', value: { intValue: '8812' } },
                    { key: 'exception.type', value: { stringValue: 'NotFound' } },
                  ],
                  traceId: '0af7651916cd43dd8448eb211c80319c',
                  spanId: 'b7ad6b7169203331',
                },
              ],
            },
          ],
        },
      ],
    };
    const lj = decodeLogsJson(JSON.stringify(logsJson));
    const lp = decodeLogs(encodeLogs([{ ...logs[0]!, logs: [logs[0]!.logs[0]!] }]));
    expect(lj.ok && lp.ok).toBe(true);
    expect(lj.ok && lj.value).toEqual(lp.ok && lp.value);

    const metricsJson = {
      resourceMetrics: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'catalog' } }] },
          scopeMetrics: [
            {
              scope: { name: 'demo' },
              metrics: [
                {
                  name: 'http.server.request.duration',
                  description: 'Duration of HTTP server requests.',
                  unit: 's',
                  histogram: {
                    aggregationTemporality: 1,
                    dataPoints: [
                      {
                        timeUnixNano: T1,
                        count: '29',
                        sum: 3.25,
                        bucketCounts: [
                          '1',
                          '2',
                          '3',
                          '4',
                          '5',
                          '6',
                          '7',
                          '0',
                          '0',
                          '0',
                          '0',
                          '0',
                          '0',
                          '0',
                          '1',
                        ],
                        explicitBounds: BOUNDS,
                        attributes: [
                          { key: 'http.route', value: { stringValue: '/api/products/{id}' } },
                          { key: 'http.response.status_code', value: { intValue: 200 } },
                        ],
                      },
                    ],
                  },
                },
                {
                  name: 'queue.depth',
                  unit: '{message}',
                  gauge: { dataPoints: [{ timeUnixNano: T1, asDouble: 12.5 }] },
                },
                {
                  name: 'orders.total',
                  unit: '{order}',
                  sum: {
                    aggregationTemporality: 'AGGREGATION_TEMPORALITY_DELTA',
                    isMonotonic: true,
                    dataPoints: [
                      {
                        timeUnixNano: T1,
                        asInt: '1234',
                        attributes: [{ key: 'region', value: { stringValue: 'eu' } }],
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    const mj = decodeMetricsJson(JSON.stringify(metricsJson));
    expect(mj.ok && mj.value).toEqual(
      metrics[0]!.points.map((p) => ({ ...p, resource: metrics[0]!.resource })),
    );
  });

  it('structured bodies and array attributes become compact JSON', () => {
    const r = decodeLogsJson(
      JSON.stringify({
        resourceLogs: [
          {
            scopeLogs: [
              {
                logRecords: [
                  {
                    body: {
                      kvlistValue: {
                        values: [
                          { key: 'a', value: { intValue: '1' } },
                          {
                            key: 'b',
                            value: { arrayValue: { values: [{ stringValue: 'x' }, { boolValue: false }] } },
                          },
                        ],
                      },
                    },
                    attributes: [{ key: 'tags', value: { arrayValue: { values: [{ stringValue: 't1' }] } } }],
                  },
                ],
              },
            ],
          },
        ],
      }),
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value[0]!.body).toBe('{"a":1,"b":["x",false]}');
    expect(r.value[0]!.attributes).toEqual({ tags: '["t1"]' });
  });

  it('rejects bad JSON with a reason naming the path', () => {
    const bad = otlpJsonToProto(
      'traces',
      '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz"}]}]}]}',
    );
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error).toContain('resourceSpans[0].scopeSpans[0].spans[0].traceId');
    const notJson = otlpJsonToProto('logs', '{nope');
    expect(notJson.ok).toBe(false);
    if (!notJson.ok) expect(notJson.error).toMatch(/not valid JSON/);
    const wrongShape = otlpJsonToProto('metrics', '[1,2]');
    expect(wrongShape.ok).toBe(false);
  });
});

describe('shallow split', () => {
  it('splits per resource, preserving the bytes of each entry', () => {
    const bytes = encodeTraces(spans);
    const r = splitByResource(bytes);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.map((c) => c.service)).toEqual(['checkout', 'payment']);
    // Concatenating the chunks gives back the original request.
    const total = r.value.reduce((n, c) => n + c.bytes.length, 0);
    expect(total).toBe(bytes.length);
    const joined = new Uint8Array(total);
    let pos = 0;
    for (const c of r.value) {
      joined.set(c.bytes, pos);
      pos += c.bytes.length;
    }
    expect(joined).toEqual(bytes);
    // Each chunk is itself a valid request with the same content as the matching model group.
    for (const [i, c] of r.value.entries()) {
      expect(c.bytes).toEqual(encodeTraces([spans[i]!]));
      expect(checkOtlpExportRequest(c.bytes).ok).toBe(true);
      expect(firstServiceName(c.bytes)).toBe(spans[i]!.resource['service.name']);
    }
    expect(countResources(bytes)).toEqual({ ok: true, value: 2 });
  });

  it('enforces the chunk limit and rejects garbage', () => {
    const r = splitByResource(encodeTraces(spans), { maxChunks: 1 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/more than 1 resource/);
    expect(splitByResource(new Uint8Array([0x0a, 0x05, 0x01])).ok).toBe(false);
    expect(splitByResource(new Uint8Array([0x08, 0x01])).ok).toBe(false); // field 1 as a varint
  });

  it('firstServiceName is null without a service.name and works for logs and metrics too', () => {
    expect(firstServiceName(encodeTraces([{ resource: { other: 'x' }, scope: '', spans: [] }]))).toBeNull();
    expect(firstServiceName(new Uint8Array())).toBeNull();
    expect(firstServiceName(encodeLogs(logs))).toBe('cart');
    expect(firstServiceName(encodeMetrics(metrics))).toBe('catalog');
  });
});
