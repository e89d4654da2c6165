/**
 * OTLP partial success: a request whose resource entries are partly malformed publishes the well-formed entries and
 * answers 200 / OK with partial_success (rejected count + error_message); nothing is acknowledged before the accepted
 * entries are durable, and a request with no well-formed entry is refused as a whole.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { MemoryBus } from '../../adapters/bus/memory.js';
import { FsObjectStore } from '../../adapters/objects/fs.js';
import type { Bus, BusRecord, ObjectStore } from '../../core/ports.js';
import { encodeLogs, encodeMetrics, encodeTraces, ProtoWriter } from '../../core/otlp/encode.js';
import { decodeTraces } from '../../core/otlp/decode.js';
import type { ResourceSpansModel } from '../../core/otlp/model.js';
import { walk, WIRE_LEN } from '../../core/protowire.js';
import { splitByResource } from '../../core/otlp/split.js';
import { ALL_TOPICS, TOPICS } from '../../events/registry.js';
import { createMetrics } from '../../runtime/observability.js';
import {
  exportResponseBytes,
  exportResponseJson,
  rawExportService,
  startOtlpCollector,
  type OtlpCollector,
} from '../../collectors/otlp.js';
import { partialSuccessMessage, triageExportRequest } from '../../collectors/triage.js';

const span = (i: number) => ({
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: `00000000000000${String(i).padStart(2, '0')}`,
  parentSpanId: '',
  name: `GET /${i}`,
  kind: 2,
  startTimeUnixNano: '1717171717000000000',
  endTimeUnixNano: '1717171717050000000',
  statusCode: 0,
  statusMessage: '',
  attributes: { 'http.route': `/${i}` },
});
const group = (service: string, spans: number): ResourceSpansModel => ({
  resource: { 'service.name': service },
  scope: 'test',
  spans: Array.from({ length: spans }, (_, i) => span(i + 1)),
});

/** A ResourceSpans entry (top-level field 1) for `service` whose 3 spans include one that is not a message. */
function badEntry(service: string): Uint8Array {
  const w = new ProtoWriter();
  w.message(1, (rs) => {
    rs.message(1, (res) =>
      res.message(1, (kv) => {
        kv.string(1, 'service.name');
        kv.message(2, (av) => av.string(1, service));
      }),
    );
    rs.message(2, (ss) => {
      const good = splitByResource(encodeTraces([group(service, 1)]));
      // the first span of a valid one-span request, re-used as a well-formed span
      let spanBytes = new Uint8Array();
      if (!good.ok) throw new Error(good.error);
      walk(good.value[0]!.bytes, (f) => {
        walk(
          good.value[0]!.bytes,
          (g) => {
            if (g.field !== 2) return;
            walk(
              good.value[0]!.bytes,
              (h) => {
                if (h.field === 2) spanBytes = good.value[0]!.bytes.slice(h.valueStart, h.end);
              },
              g.valueStart,
              g.end,
            );
          },
          f.valueStart,
          f.end,
        );
      });
      ss.bytes(2, spanBytes);
      ss.varint(2, 7); // a "span" that is not length-delimited
      ss.bytes(2, spanBytes);
    });
  });
  return w.finish();
}

const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

const good2 = encodeTraces([group('frontend', 2), group('checkout', 3)]);
/** frontend (2 spans), payments (malformed, 3 spans), checkout (3 spans). */
const mixed = concat(
  encodeTraces([group('frontend', 2)]),
  badEntry('payments'),
  encodeTraces([group('checkout', 3)]),
);

/** ExportTracePartialSuccess from an Export*ServiceResponse: [rejected, message] or null when absent. */
function decodePartial(bytes: Uint8Array): { rejected: number; message: string } | null {
  let out: { rejected: number; message: string } | null = null;
  walk(bytes, (f) => {
    if (f.field !== 1 || f.wire !== WIRE_LEN) return;
    out = { rejected: 0, message: '' };
    walk(
      bytes,
      (g) => {
        if (g.field === 1) {
          let v = 0;
          let mul = 1;
          for (let i = g.valueStart; i < g.end; i++) {
            v += (bytes[i]! & 0x7f) * mul;
            mul *= 128;
          }
          out!.rejected = v;
        } else if (g.field === 2)
          out!.message = new TextDecoder().decode(bytes.subarray(g.valueStart, g.end));
      },
      f.valueStart,
      f.end,
    );
  });
  return out;
}

describe('triageExportRequest', () => {
  it('accepts every entry of a well-formed request and counts its items', () => {
    const t = triageExportRequest('traces', good2);
    expect(t.ok).toBe(true);
    if (!t.ok) return;
    expect(t.value.rejected).toEqual([]);
    expect(t.value.accepted.map((c) => c.service)).toEqual(['frontend', 'checkout']);
    expect(t.value.acceptedItems).toBe(5);
    // the accepted chunks are exactly what splitByResource produces
    const s = splitByResource(good2);
    expect(s.ok && s.value.map((c) => Buffer.from(c.bytes).toString('hex'))).toEqual(
      t.value.accepted.map((c) => Buffer.from(c.bytes).toString('hex')),
    );
  });

  it('rejects only the malformed entry, counting all of its spans', () => {
    const t = triageExportRequest('traces', mixed);
    expect(t.ok).toBe(true);
    if (!t.ok) return;
    expect(t.value.accepted.map((c) => c.service)).toEqual(['frontend', 'checkout']);
    expect(t.value.acceptedItems).toBe(5);
    expect(t.value.rejected).toHaveLength(1);
    expect(t.value.rejected[0]).toMatchObject({ index: 1, service: 'payments', items: 3 });
    expect(t.value.rejected[0]!.reason).toMatch(/^span must be length-delimited, got wire type 0/);
    const msg = partialSuccessMessage('traces', t.value.rejected);
    expect(msg).toMatch(
      /^rejected 3 spans in 1 malformed resource entry: resource entry 1 \(service.name="payments"\)/,
    );
  });

  it('refuses a request whose own framing is broken', () => {
    const t = triageExportRequest('traces', new Uint8Array([0x0a, 0x10, 0x01, 0x02]));
    expect(t.ok).toBe(false);
    const wrongWire = triageExportRequest('traces', new Uint8Array([0x08, 0x01]));
    expect(!wrongWire.ok && wrongWire.error).toMatch(/field 1 must be length-delimited/);
  });

  it('counts data points for metrics and log records for logs', () => {
    const point = (route: string, value: number) => ({
      name: 'http.server.active_requests',
      description: '',
      unit: '1',
      type: 'gauge' as const,
      monotonic: false,
      timeUnixNano: '1717171777000000000',
      attributes: { 'http.route': route },
      value,
    });
    const m = encodeMetrics([
      { resource: { 'service.name': 'api' }, scope: 'test', points: [point('/a', 1), point('/b', 2)] },
    ]);
    const tm = triageExportRequest('metrics', m);
    expect(tm.ok && tm.value.acceptedItems).toBe(2);
    const log = (i: number) => ({
      timeUnixNano: `171717171700000000${i}`,
      observedTimeUnixNano: `171717171700000000${i}`,
      severityNumber: 9,
      severityText: 'INFO',
      body: `line ${i}`,
      attributes: {},
      traceId: '',
      spanId: '',
    });
    const l = encodeLogs([
      { resource: { 'service.name': 'api' }, scope: 'test', logs: [log(1), log(2), log(3)] },
    ]);
    const tl = triageExportRequest('logs', l);
    expect(tl.ok && tl.value.acceptedItems).toBe(3);
    expect(partialSuccessMessage('metrics', [{ index: 0, service: null, items: 2, reason: 'x' }])).toMatch(
      /^rejected 2 data points/,
    );
  });

  it('never throws and partitions the entries of any mutated request', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(mixed.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        (flips) => {
          const b = mixed.slice();
          for (const [i, v] of flips) b[i] = v;
          const t = triageExportRequest('traces', b);
          if (!t.ok) return;
          const entries: number[] = [];
          walk(b, (f) => void (f.field === 1 && entries.push(f.start)));
          expect(t.value.accepted.length + t.value.rejected.length).toBe(entries.length);
          for (const r of t.value.rejected) expect(r.items).toBeGreaterThanOrEqual(1);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('Export*ServiceResponse encoding', () => {
  it('is empty without a partial success, and carries rejected + message with one', () => {
    expect(exportResponseBytes(null)).toHaveLength(0);
    expect(exportResponseJson('traces', null)).toBe('{}');
    expect(decodePartial(exportResponseBytes({ rejected: 300, message: 'bad entry' }))).toEqual({
      rejected: 300,
      message: 'bad entry',
    });
    expect(JSON.parse(exportResponseJson('logs', { rejected: 3, message: 'm' }))).toEqual({
      partialSuccess: { rejectedLogRecords: '3', errorMessage: 'm' },
    });
    expect(
      JSON.parse(exportResponseJson('metrics', { rejected: 1, message: 'm' })).partialSuccess,
    ).toHaveProperty('rejectedDataPoints', '1');
  });
});

// ---- through the collector -------------------------------------------------------------------------------------------

class GatedBus {
  readonly inner = new MemoryBus({ autoCreate: false });
  readonly published: { topic: string; record: BusRecord }[] = [];
  gate: Promise<void> | null = null;
  fail = false;
  asBus(): Bus {
    return {
      kind: 'gated',
      publish: async (topic, records) => {
        if (this.gate) await this.gate;
        if (this.fail) {
          const { UnavailableError } = await import('../../core/ports.js');
          throw new UnavailableError('bus down (test)', 'kafka');
        }
        await this.inner.publish(topic, records);
        for (const record of records) this.published.push({ topic, record });
      },
      subscribe: (o, h) => this.inner.subscribe(o, h),
      ensureTopics: (t) => this.inner.ensureTopics(t),
      close: () => this.inner.close(),
    };
  }
}

let root: string;
let n = 0;
const open: OtlpCollector[] = [];
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'slo-scout-partial-'));
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function harness(): Promise<{
  gb: GatedBus;
  store: ObjectStore;
  otlp: OtlpCollector;
  metrics: ReturnType<typeof createMetrics>;
}> {
  const gb = new GatedBus();
  await gb.inner.ensureTopics(ALL_TOPICS.map((t) => ({ name: t.name, partitions: 2, retentionMs: 60_000 })));
  const store = new FsObjectStore({ root, bucket: `partial-${++n}` });
  const metrics = createMetrics();
  const otlp = await startOtlpCollector({
    bus: gb.asBus(),
    objects: store,
    metrics,
    grpcPort: 0,
    httpPort: 0,
  });
  open.push(otlp);
  return { gb, store, otlp, metrics };
}

function grpcExport(
  port: number,
  body: Uint8Array,
): Promise<{ error: grpc.ServiceError | null; reply: Buffer | null }> {
  const Client = grpc.makeGenericClientConstructor(rawExportService('traces'), 'Export');
  const c = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    Export: (b: Buffer, cb: (e: grpc.ServiceError | null, r?: Buffer) => void) => void;
  };
  return new Promise((resolve) =>
    c.Export(Buffer.from(body), (error, reply) => {
      c.close();
      resolve({ error, reply: reply ?? null });
    }),
  );
}

async function archived(store: ObjectStore): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const o of store.list('raw/signal=traces/')) {
    const got = await store.get(o.key);
    if (got) out.push(new Uint8Array(gunzipSync(got)));
  }
  return out;
}

describe('OTLP collector partial success', () => {
  it('gRPC: publishes the well-formed entries, archives only them, answers OK with rejected_spans', async () => {
    const h = await harness();
    const r = await grpcExport(h.otlp.grpcPort, mixed);
    expect(r.error).toBeNull();
    const partial = decodePartial(new Uint8Array(r.reply!));
    expect(partial?.rejected).toBe(3);
    expect(partial?.message).toMatch(/payments/);
    const recs = h.gb.published.filter((p) => p.topic === TOPICS.otlpTraces.name);
    expect(recs.map((p) => p.record.key)).toEqual(['frontend', 'checkout']);
    const arch = await archived(h.store);
    expect(arch).toHaveLength(1);
    const decoded = decodeTraces(arch[0]!);
    expect(decoded.ok).toBe(true);
    if (decoded.ok) {
      expect(decoded.value).toHaveLength(5);
      expect([...new Set(decoded.value.map((g) => g.resource['service.name']))]).toEqual([
        'frontend',
        'checkout',
      ]);
    }
    expect(h.metrics.render()).toMatch(
      /slo_scout_collector_items_rejected_total\{[^}]*signal="traces"[^}]*\} 3/,
    );
  });

  it('HTTP: 200 with partialSuccess in protobuf; a well-formed request still gets an empty response', async () => {
    const h = await harness();
    const res = await fetch(`http://127.0.0.1:${h.otlp.httpPort}/v1/traces`, {
      method: 'POST',
      body: mixed,
      headers: { 'content-type': 'application/x-protobuf' },
    });
    expect(res.status).toBe(200);
    expect(decodePartial(new Uint8Array(await res.arrayBuffer()))?.rejected).toBe(3);
    const ok = await fetch(`http://127.0.0.1:${h.otlp.httpPort}/v1/traces`, {
      method: 'POST',
      body: good2,
      headers: { 'content-type': 'application/x-protobuf' },
    });
    expect(ok.status).toBe(200);
    expect((await ok.arrayBuffer()).byteLength).toBe(0);
    expect(h.gb.published).toHaveLength(4);
  });

  it('refuses a request in which no entry is well-formed, publishing and archiving nothing', async () => {
    const h = await harness();
    const r = await grpcExport(h.otlp.grpcPort, concat(badEntry('a'), badEntry('b')));
    expect(r.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(r.error?.details).toMatch(/rejected 6 spans in 2 malformed resource entries/);
    expect(h.gb.published).toHaveLength(0);
    expect(await archived(h.store)).toHaveLength(0);
  });

  it('does not answer before the accepted entries are durable, and retries (not partial success) on an outage', async () => {
    const h = await harness();
    let open!: () => void;
    h.gb.gate = new Promise<void>((r) => (open = r));
    let answered = false;
    const pending = grpcExport(h.otlp.grpcPort, mixed).then((r) => {
      answered = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(answered).toBe(false);
    h.gb.fail = true;
    open();
    const r = await pending;
    expect(r.error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(h.gb.published).toHaveLength(0);
  });
});
