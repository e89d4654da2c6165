/**
 * Fuzzed and mutated payloads on every protocol: OTLP gRPC, OTLP/HTTP (protobuf and JSON), the Fluent Bit http
 * input (JSON and msgpack) and the Forward protocol. The collectors must never crash, must reject what they cannot
 * accept with a client error, and must publish either everything of a request or nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { connect } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { Packr } from 'msgpackr';
import { MemoryBus } from '../../adapters/bus/memory.js';
import { encodeTraces } from '../../core/otlp/encode.js';
import { countResources } from '../../core/otlp/split.js';
import { ALL_TOPICS } from '../../events/registry.js';
import { rawExportService, startOtlpCollector, type OtlpCollector } from '../../collectors/otlp.js';
import { startLogCollector, type LogCollector } from '../../collectors/logs.js';
import { RecordingBus } from '../support/test-bus.js';
import {
  parseForwardMessage,
  startForwardCollector,
  type ForwardCollector,
} from '../../collectors/forward.js';

const bus = new MemoryBus({ autoCreate: false });
/** Counts every record the collectors published (rec.total()). */
const rec = new RecordingBus(bus);
let otlp: OtlpCollector;
let logs: LogCollector;
let fwd: ForwardCollector;
const packr = new Packr({ useRecords: false });

beforeAll(async () => {
  await bus.ensureTopics(
    ALL_TOPICS.map((t) => ({ name: t.name, partitions: 3, retentionMs: t.retentionMs })),
  );
  const common = { bus: rec, objects: null, maxMessageBytes: 256 * 1024 };
  otlp = await startOtlpCollector({ ...common, grpcPort: 0, httpPort: 0 });
  logs = await startLogCollector({ ...common, port: 0 });
  fwd = await startForwardCollector({ ...common, port: 0 });
});
afterAll(async () => {
  await Promise.all([otlp.close(), logs.close(), fwd.close()]);
  await bus.close();
});

const valid = encodeTraces(
  ['a', 'b', 'c'].map((s, i) => ({
    resource: { 'service.name': s },
    scope: 'fuzz',
    spans: [
      {
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: `000000000000000${i + 1}`,
        parentSpanId: '',
        name: `GET /${s}`,
        kind: 2,
        startTimeUnixNano: '1717171717000000000',
        endTimeUnixNano: '1717171717050000000',
        statusCode: 0,
        statusMessage: '',
        attributes: { 'http.route': `/${s}` },
      },
    ],
  })),
);

/** Random bytes, or a valid request with a few bytes flipped / truncated / extended. */
const payload = fc.oneof(
  fc.uint8Array({ maxLength: 400 }),
  fc
    .tuple(
      fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      fc.nat(valid.length),
    )
    .map(([flips, cut]) => {
      const b = valid.slice(0, Math.max(1, cut));
      for (const [i, v] of flips) if (i < b.length) b[i] = v;
      return b;
    }),
);

const grpcClient = () => {
  const Client = grpc.makeGenericClientConstructor(rawExportService('traces'), 'Export');
  return new Client(
    `127.0.0.1:${otlp.grpcPort}`,
    grpc.credentials.createInsecure(),
  ) as unknown as grpc.Client & {
    Export: (b: Buffer, cb: (e: grpc.ServiceError | null) => void) => void;
  };
};

/** Either nothing new was published, or exactly `expected` records. */
function allOrNothing(before: number, accepted: boolean, expected: number | null): void {
  const added = rec.total() - before;
  if (!accepted) expect(added).toBe(0);
  else if (expected !== null) expect(added).toBe(expected);
}

describe('fuzzed payloads', () => {
  it('OTLP gRPC', async () => {
    const client = grpcClient();
    await fc.assert(
      fc.asyncProperty(payload, async (body) => {
        const before = rec.total();
        const e = await new Promise<grpc.ServiceError | null>((r) => client.Export(Buffer.from(body), r));
        if (e) expect([grpc.status.INVALID_ARGUMENT, grpc.status.RESOURCE_EXHAUSTED]).toContain(e.code);
        const n = countResources(body);
        allOrNothing(before, !e, n.ok ? null : 0);
      }),
      { numRuns: 80 },
    );
    const ok = await new Promise<grpc.ServiceError | null>((r) => client.Export(Buffer.from(valid), r));
    expect(ok).toBeNull();
    client.close();
  });

  it('OTLP/HTTP protobuf and JSON', async () => {
    await fc.assert(
      fc.asyncProperty(payload, fc.boolean(), fc.string({ maxLength: 200 }), async (body, json, text) => {
        const before = rec.total();
        const res = await fetch(`http://127.0.0.1:${otlp.httpPort}/v1/traces`, {
          method: 'POST',
          body: json ? `{"resourceSpans":${text}}` : body,
          headers: { 'content-type': json ? 'application/json' : 'application/x-protobuf' },
        });
        await res.arrayBuffer();
        expect(res.status === 200 || (res.status >= 400 && res.status < 500)).toBe(true);
        allOrNothing(before, res.status === 200, null);
      }),
      { numRuns: 80 },
    );
  });

  it('Fluent Bit http input: JSON and msgpack', async () => {
    const values = fc.oneof(
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 200 }),
      fc.jsonValue().map((v) => new Uint8Array(packr.pack(v))),
      fc.uint8Array({ maxLength: 200 }),
    );
    await fc.assert(
      fc.asyncProperty(values, async (body) => {
        const before = rec.total();
        const res = await fetch(`http://127.0.0.1:${logs.port}/fuzz.tag`, {
          method: 'POST',
          body,
          headers: { 'content-type': typeof body === 'string' ? 'application/json' : 'application/msgpack' },
        });
        await res.arrayBuffer();
        if (res.status !== 200 && res.status !== 400)
          throw new Error(
            `status ${res.status} for ${JSON.stringify(body instanceof Uint8Array ? [...body] : body)}`,
          );
        allOrNothing(before, res.status === 200, null);
      }),
      { numRuns: 120 },
    );
  });

  it('Forward protocol: garbage and mutated messages never crash the collector nor half-publish', async () => {
    const entry = (i: number) => [1700000000 + i, { log: `line ${i}` }];
    const good = new Uint8Array(packr.pack(['t', [entry(1), entry(2), entry(3)], { chunk: 'g' }]));
    const msgs = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.jsonValue().map((v) => new Uint8Array(packr.pack(['t', v, { chunk: 'j' }]))),
      fc
        .array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 3,
        })
        .map((flips) => {
          const b = good.slice();
          for (const [i, v] of flips) b[i] = v;
          return b;
        }),
    );
    await fc.assert(
      fc.asyncProperty(msgs, async (bytes) => {
        const before = rec.total();
        const acked = await new Promise<boolean>((resolve) => {
          const s = connect(fwd.port, '127.0.0.1', () => s.end(bytes));
          let got = false;
          s.on('data', () => (got = true));
          s.on('close', () => resolve(got));
          s.on('error', () => undefined);
          setTimeout(() => s.destroy(), 1000);
        });
        // An acked message published all of its records (one batch here); an unacked one may still have been
        // stored if it carried no chunk id, but never partially.
        const added = rec.total() - before;
        expect(added === 0 || added === 1).toBe(true);
        if (acked && added === 0) {
          const parsed = await parseForwardMessage(bytes, 1 << 20);
          expect(parsed.ok && parsed.value.entries.length).toBe(0); // an empty message is acked with nothing to store
        }
      }),
      { numRuns: 80 },
    );
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(fwd.port, '127.0.0.1', () => s.write(good));
      s.on('data', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    expect(ok).toBe(true);
  });
});
