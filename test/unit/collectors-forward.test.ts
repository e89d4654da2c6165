import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { Packr, Unpackr } from 'msgpackr';
import { FluentClient, EventTime as FluentEventTime, type EventModes } from '@fluent-org/logger';
import * as fluentProtocol from '@fluent-org/logger/build/src/protocol.js';
import { MemoryBus } from '../../adapters/bus/memory.js';
import { FsObjectStore } from '../../adapters/objects/fs.js';
import type { BusRecord } from '../../core/ports.js';
import { fromBusRecord } from '../../events/cloudevents.js';
import { ALL_TOPICS, TOPICS } from '../../events/registry.js';
import type { RawLogBatch } from '../../events/schemas.js';
import { decodePayload } from '../../events/validate.js';
import { createMetrics } from '../../runtime/observability.js';
import {
  msgpackValueEnd,
  startForwardCollector,
  type ForwardCollector,
  type ForwardSecurity,
} from '../../collectors/forward.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

interface H {
  bus: MemoryBus;
  fc: ForwardCollector;
  published: BusRecord[];
  metrics: ReturnType<typeof createMetrics>;
  store: FsObjectStore;
}
const open: H[] = [];
const clients: FluentClient[] = [];

async function harness(o: { maxInFlightBytes?: number; security?: ForwardSecurity } = {}): Promise<H> {
  const bus = new MemoryBus({ autoCreate: false });
  await bus.ensureTopics(
    ALL_TOPICS.map((t) => ({ name: t.name, partitions: 3, retentionMs: t.retentionMs })),
  );
  const published: BusRecord[] = [];
  const metrics = createMetrics();
  const store = new FsObjectStore({ root: mkdtempSync(join(tmpdir(), 'fwd-')), bucket: 'fwd-bucket' });
  const fc = await startForwardCollector({
    bus: {
      kind: 'rec',
      publish: async (topic, records) => {
        await bus.publish(topic, records);
        published.push(...records);
      },
      subscribe: (a, b) => bus.subscribe(a, b),
      ensureTopics: (t) => bus.ensureTopics(t),
      close: () => bus.close(),
    },
    objects: store,
    metrics,
    port: 0,
    ...(o.maxInFlightBytes ? { maxInFlightBytes: o.maxInFlightBytes } : {}),
    ...(o.security ? { security: o.security } : {}),
  });
  const h = { bus, fc, published, metrics, store };
  open.push(h);
  return h;
}

afterEach(async () => {
  for (const c of clients.splice(0)) await c.disconnect().catch(() => undefined);
  for (const h of open.splice(0)) {
    await h.fc.close();
    await h.bus.close();
  }
});

function batches(h: H): RawLogBatch[] {
  return h.published.map((r) => {
    const ev = fromBusRecord(r);
    if (!ev.ok) throw new Error(ev.error);
    const p = decodePayload(TOPICS.rawLogs, ev.value.data);
    if (!p.ok) throw new Error(p.error);
    return p.value as RawLogBatch;
  });
}

/** fixext8 ext type 0: EventTime. */
function eventTime(sec: number, nsec: number): Uint8Array {
  const b = new Uint8Array(10);
  b[0] = 0xd7;
  b[1] = 0x00;
  const v = new DataView(b.buffer);
  v.setUint32(2, sec);
  v.setUint32(6, nsec);
  return b;
}
const cat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
const arr = (n: number) => new Uint8Array([0x90 | n]);
const p = (v: unknown) => new Uint8Array(packr.pack(v));

/** Sends raw bytes; collects acks until `want` acks arrive or the socket closes. */
function rawSession(port: number, bytes: Uint8Array, want: number, timeoutMs = 3000) {
  return new Promise<{ acks: string[]; closed: boolean }>((resolve) => {
    const acks: string[] = [];
    let buf = Buffer.alloc(0);
    const s: Socket = connect(port, '127.0.0.1', () => s.write(bytes));
    const done = (closed: boolean) => {
      clearTimeout(t);
      s.destroy();
      resolve({ acks, closed });
    };
    const t = setTimeout(() => done(false), timeoutMs);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const values = unpackr.unpackMultiple(buf) as { ack: string }[];
      buf = Buffer.alloc(0);
      for (const v of values) acks.push(v.ack);
      if (acks.length >= want) done(false);
    });
    s.on('close', () => done(true));
    s.on('error', () => undefined);
  });
}

describe('Forward protocol: a real client (@fluent-org/logger) in every event mode, with acks', () => {
  const modes: EventModes[] = ['Message', 'Forward', 'PackedForward', 'CompressedPackedForward'];
  for (const mode of modes) {
    it(`${mode}: every emit resolves only after its records are on the bus`, async () => {
      const h = await harness();
      const client = new FluentClient('app', {
        eventMode: mode,
        socket: { host: '127.0.0.1', port: h.fc.port },
        ack: { ackTimeout: 5000 },
        milliseconds: true,
      });
      clients.push(client);
      const t = new FluentEventTime(1717171717, 123456789);
      const sent = Array.from({ length: 20 }, (_, i) =>
        client.emit('web', { log: `request ${i}`, level: 'info', kubernetes: { namespace_name: 'shop' } }, t),
      );
      await Promise.all(sent);
      const got = batches(h).flatMap((b) => b.records.map((r) => ({ ...r, tag: b.tag, source: b.source })));
      expect(got).toHaveLength(20);
      expect(new Set(got.map((r) => r.body))).toEqual(new Set(sent.map((_, i) => `request ${i}`)));
      for (const r of got) {
        expect(r.tag).toBe('app.web');
        expect(r.source).toBe('fluentbit-forward');
        expect(r.time_unix_nano).toBe('1717171717123456789');
        expect(r.severity).toBe('info');
        expect(r.resource['k8s.namespace.name']).toBe('shop');
      }
      // archived raw, too
      let archived = 0;
      for await (const o of h.store.list('raw/')) if (o.key.includes('signal=fluentbit')) archived++;
      expect(archived).toBeGreaterThan(0);
      expect(h.metrics.render()).toMatch(/slo_scout_collector_records_published_total\{collector="forward"/);
      expect(h.metrics.render()).toMatch(
        /slo_scout_collector_kafka_publish_seconds_count\{collector="forward"/,
      );
    });
  }
});

describe('Forward protocol: hand-built frames', () => {
  it('Message mode with nanosecond EventTime and a chunk, split across TCP writes', async () => {
    const h = await harness();
    const msg = cat(
      arr(4),
      p('svc.log'),
      eventTime(1700000000, 999999999),
      p({ message: 'hello' }),
      p({ chunk: 'c1' }),
    );
    const s = connect(h.fc.port, '127.0.0.1');
    const acks: string[] = [];
    s.on('data', (d: Buffer) =>
      acks.push(...(unpackr.unpackMultiple(d) as { ack: string }[]).map((x) => x.ack)),
    );
    await new Promise((r) => s.once('connect', r));
    for (const b of msg) {
      s.write(new Uint8Array([b]));
    }
    await expect.poll(() => acks, { timeout: 3000 }).toEqual(['c1']);
    s.destroy();
    const b = batches(h);
    expect(b[0]!.records[0]!.time_unix_nano).toBe('1700000000999999999');
    expect(b[0]!.records[0]!.body).toBe('hello');
  });

  it('Forward, PackedForward (bin and legacy str), CompressedPackedForward (two gzip members), v2 metadata entries', async () => {
    const h = await harness();
    const entry = (i: number) => cat(arr(2), eventTime(1700000000 + i, i), p({ log: `e${i}` }));
    const v2entry = (i: number) =>
      cat(arr(2), cat(arr(2), eventTime(1700000100, i), p({ meta: 1 })), p({ log: `v2-${i}` }));
    const forward = cat(arr(3), p('a'), cat(arr(2), entry(1), entry(2)), p({ chunk: 'f' }));
    const stream = cat(entry(3), entry(4), v2entry(5));
    const binHdr = new Uint8Array([0xc4, stream.length]);
    const packed = cat(arr(3), p('b'), binHdr, stream, p({ chunk: 'p', size: 3 }));
    const strStream = cat(entry(6));
    const packedStr = cat(
      arr(3),
      p('c'),
      new Uint8Array([0xd9, strStream.length]),
      strStream,
      p({ chunk: 's' }),
    );
    const gz = cat(gzipSync(entry(7)), gzipSync(entry(8)));
    const gzHdr = new Uint8Array([0xc5, gz.length >> 8, gz.length & 0xff]);
    const compressed = cat(arr(3), p('d'), gzHdr, gz, p({ chunk: 'z', compressed: 'gzip' }));
    const r = await rawSession(h.fc.port, cat(forward, packed, packedStr, compressed), 4);
    expect(r.acks.sort()).toEqual(['f', 'p', 's', 'z']);
    const bodies = batches(h)
      .flatMap((b) => b.records.map((x) => `${b.tag}:${x.body}:${x.time_unix_nano}`))
      .sort();
    expect(bodies).toEqual(
      [
        'a:e1:1700000001000000001',
        'a:e2:1700000002000000002',
        'b:e3:1700000003000000003',
        'b:e4:1700000004000000004',
        'b:v2-5:1700000100000000005',
        'c:e6:1700000006000000006',
        'd:e7:1700000007000000007',
        'd:e8:1700000008000000008',
      ].sort(),
    );
  });

  it('malformed messages close the connection without an ack and publish nothing', async () => {
    const h = await harness();
    const bad = [
      new Uint8Array([0xc1]),
      cat(arr(2), p(42), p({ a: 1 })), // tag not a string
      cat(arr(3), p('t'), p([[1, 'not a map']]), p({ chunk: 'x' })),
      cat(arr(3), p('t'), new Uint8Array([0xc4, 3, 1, 2, 3]), p({ chunk: 'y', compressed: 'gzip' })),
    ];
    for (const b of bad) {
      const r = await rawSession(h.fc.port, b, 1, 2000);
      expect(r.acks).toEqual([]);
      expect(r.closed).toBe(true);
    }
    // A message whose second entry is broken is rejected whole: nothing half-published.
    const half = cat(
      arr(3),
      p('t'),
      p([
        [1700000000, { log: 'ok' }],
        [1700000000, 7],
      ]),
      p({ chunk: 'h' }),
    );
    const r = await rawSession(h.fc.port, half, 1, 2000);
    expect(r.acks).toEqual([]);
    expect(h.published).toHaveLength(0);
  });

  it('bus outage: no ack, connection closed, nothing published; after recovery the retry is acked', async () => {
    const h = await harness();
    h.bus.setAvailable(false);
    const msg = cat(arr(4), p('t'), p(1700000000), p({ log: 'x' }), p({ chunk: 'k' }));
    const r = await rawSession(h.fc.port, msg, 1, 3000);
    expect(r.acks).toEqual([]);
    expect(r.closed).toBe(true);
    expect(h.published).toHaveLength(0);
    h.bus.setAvailable(true);
    const r2 = await rawSession(h.fc.port, msg, 1, 3000);
    expect(r2.acks).toEqual(['k']);
    expect(h.published).toHaveLength(1);
  });

  it('back-pressure: a tiny in-flight bound pauses reading instead of dropping; every chunk is acked', async () => {
    const h = await harness({ maxInFlightBytes: 64 });
    const msgs = Array.from({ length: 50 }, (_, i) =>
      cat(arr(4), p('bp'), p(1700000000 + i), p({ log: `m${i}`.padEnd(40, '.') }), p({ chunk: `c${i}` })),
    );
    const r = await rawSession(h.fc.port, cat(...msgs), 50, 10_000);
    expect(r.acks).toHaveLength(50);
    expect(batches(h).flatMap((b) => b.records)).toHaveLength(50);
    expect(h.metrics.render()).toMatch(/slo_scout_collector_requests_rejected_total\{[^}]*reason="busy"/);
  });
});

describe('msgpackValueEnd', () => {
  it('finds value boundaries and reports incomplete input', () => {
    const v = p({ a: [1, 2, { b: 'x'.repeat(300) }], c: new Uint8Array(70000) });
    const end = msgpackValueEnd(v, 0);
    expect(end).toEqual({ ok: true, value: v.length });
    for (const cut of [1, 5, 100, v.length - 1])
      expect(msgpackValueEnd(v.subarray(0, cut), 0)).toEqual({ ok: true, value: -1 });
    expect(msgpackValueEnd(new Uint8Array([0xc1]), 0).ok).toBe(false);
  });
});

describe('Forward protocol: shared-key authentication (HELO/PING/PONG) with a real client', () => {
  const security = { sharedKey: 'kitchen-sink-42', hostname: 'slo-scout-collector' };
  const client = (port: number, auth: { sharedKey: string; username?: string; password?: string }) => {
    const c = new FluentClient('app', {
      eventMode: 'PackedForward',
      socket: { host: '127.0.0.1', port },
      security: { clientHostname: 'node-7', ...auth },
      ack: { ackTimeout: 3000 },
    });
    clients.push(c);
    return c;
  };

  it('accepts a client with the shared key, which in turn verifies the collector', async () => {
    const h = await harness({ security });
    const c = client(h.fc.port, { sharedKey: security.sharedKey });
    await Promise.all([c.emit('web', { log: 'one' }), c.emit('web', { log: 'two' })]);
    expect(
      batches(h)
        .flatMap((b) => b.records.map((r) => r.body))
        .sort(),
    ).toEqual(['one', 'two']);
  });

  /**
   * The handshake as @fluent-org/logger's own protocol module writes it (its FluentClient keeps retrying a refused
   * connection and never settles the emit, so refusals are checked one exchange at a time): HELO in, PING out,
   * PONG back; then one message that must only be published when the PONG said yes.
   */
  async function handshake(
    port: number,
    auth: { sharedKey: string; username?: string; password?: string },
  ): Promise<{ pong: unknown[]; closed: boolean }> {
    const s = connect(port, '127.0.0.1');
    const got: unknown[] = [];
    let closed = false;
    s.on('data', (d: Buffer) => got.push(...(unpackr.unpackMultiple(d) as unknown[])));
    const gone = new Promise<void>((r) => s.once('close', () => r()));
    s.on('error', () => undefined);
    await expect.poll(() => got.length, { timeout: 3000 }).toBe(1);
    const helo = got[0] as [string, { nonce: Uint8Array; auth: Uint8Array | string }];
    const ping = fluentProtocol.generatePing(
      'node-7',
      { salt: 'c0ffee', nonce: helo[1].nonce as never, key: auth.sharedKey },
      auth.username
        ? { username: auth.username, password: auth.password ?? '', salt: helo[1].auth as never }
        : undefined,
    );
    s.write(fluentProtocol.encodeMessage(ping));
    await expect.poll(() => got.length, { timeout: 3000 }).toBe(2);
    s.write(packr.pack(['app.web', [[1700000000, { log: 'after handshake' }]], { chunk: 'c1' }]));
    await Promise.race([gone.then(() => (closed = true)), new Promise((r) => setTimeout(r, 500))]);
    s.destroy();
    return { pong: got[1] as unknown[], closed };
  }

  it('refuses a wrong shared key with a PONG saying why, closes, and publishes nothing', async () => {
    const h = await harness({ security });
    const r = await handshake(h.fc.port, { sharedKey: 'guess' });
    expect(r.pong).toEqual(['PONG', false, 'shared key mismatch', 'slo-scout-collector', '']);
    expect(r.closed).toBe(true);
    expect(h.published).toHaveLength(0);
    expect(h.metrics.render()).toMatch(
      /slo_scout_collector_requests_rejected_total\{[^}]*reason="unauthenticated"[^}]*\} 1/,
    );
    const ok = await handshake(h.fc.port, { sharedKey: security.sharedKey });
    expect(ok.pong.slice(0, 4)).toEqual(['PONG', true, '', 'slo-scout-collector']);
    await expect.poll(() => h.published.length, { timeout: 3000 }).toBe(1);
  });

  it('checks users on top of the shared key', async () => {
    const h = await harness({ security: { ...security, users: { alice: 'correct horse' } } });
    await client(h.fc.port, {
      sharedKey: security.sharedKey,
      username: 'alice',
      password: 'correct horse',
    }).emit('web', { log: 'from alice' });
    expect(batches(h).flatMap((b) => b.records.map((r) => r.body))).toEqual(['from alice']);
    for (const who of [
      { username: 'alice', password: 'battery' },
      { username: 'mallory', password: 'correct horse' },
    ]) {
      const r = await handshake(h.fc.port, { sharedKey: security.sharedKey, ...who });
      expect(r.pong).toEqual(['PONG', false, 'username/password mismatch', 'slo-scout-collector', '']);
    }
    expect(batches(h).flatMap((b) => b.records.map((r) => r.body))).toEqual(['from alice']);
  });

  it('sends HELO first and refuses data that does not start with PING, without publishing it', async () => {
    const h = await harness({ security });
    const s = connect(h.fc.port, '127.0.0.1');
    const got: unknown[] = [];
    s.on('data', (d: Buffer) => got.push(...(unpackr.unpackMultiple(d) as unknown[])));
    const closed = new Promise((r) => s.once('close', r));
    await new Promise((r) => s.once('connect', r));
    await expect.poll(() => got.length, { timeout: 3000 }).toBe(1);
    const helo = got[0] as [string, { nonce: Uint8Array; auth: unknown; keepalive: boolean }];
    expect(helo[0]).toBe('HELO');
    expect(helo[1].nonce).toHaveLength(16);
    expect(helo[1].keepalive).toBe(true);
    s.write(packr.pack(['app.web', [[1700000000, { log: 'sneaky' }]], { chunk: 'c9' }]));
    await closed;
    expect(got[1]).toEqual(['PONG', false, expect.stringMatching(/PING/), 'slo-scout-collector', '']);
    expect(h.published).toHaveLength(0);
  });
});
