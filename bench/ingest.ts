/**
 * `npm run bench -- ingest [--seconds N] [--rounds N] [--concurrency N] [--spans N] [--kafka-batch-mib N]
 *   [--kafka-producers N] [--kafka-compression none|gzip|zstd] [--archive]`
 *
 * Ingest throughput of the collectors, against a ceiling measured in the same run with the same client load:
 * - ceiling: a bare grpc-js server exposing the OTLP TraceService Export method that discards every request;
 * - OTLP gRPC and OTLP/HTTP (protobuf) into the collector, published to the bus (Kafka when SLO_SCOUT_KAFKA_BROKERS is
 *   set, on run-unique topic names so nothing else consumes them; the in-memory bus otherwise);
 * - Forward protocol (PackedForward with chunk acks) into the log collector.
 * The load generator runs in a worker thread, so the server side owns the main event loop (one core).
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { Packr } from 'msgpackr';
import { MemoryBus } from '../adapters/bus/memory.js';
import { KafkaBus, type KafkaCompression } from '../adapters/bus/kafka.js';
import { FsObjectStore } from '../adapters/objects/fs.js';
import type { Bus, ObjectStore } from '../core/ports.js';
import { encodeTraces } from '../core/otlp/encode.js';
import type { ResourceSpansModel } from '../core/otlp/model.js';
import { ALL_TOPICS } from '../events/registry.js';
import { rawExportService, startOtlpCollector } from '../collectors/otlp.js';
import { startForwardCollector } from '../collectors/forward.js';

type Target = 'grpc' | 'http' | 'forward';
interface LoadJob {
  readonly target: Target;
  readonly port: number;
  readonly seconds: number;
  readonly concurrency: number;
  /** Distinct request bodies, sent round-robin (identical bodies would make batch compression unrealistic). */
  readonly bodies: readonly Uint8Array[];
}
interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly seconds: number;
}

// ---- load generator (worker thread) ----------------------------------------------------------------------------------

async function runLoad(job: LoadJob): Promise<LoadResult> {
  const deadline = performance.now() + job.seconds * 1000;
  let requests = 0;
  let errors = 0;
  const started = performance.now();
  if (job.target === 'grpc') {
    const Client = grpc.makeGenericClientConstructor(rawExportService('traces'), 'Export');
    const clients = Array.from(
      { length: Math.max(1, Math.ceil(job.concurrency / 8)) },
      () =>
        new Client(`127.0.0.1:${job.port}`, grpc.credentials.createInsecure(), {
          'grpc.max_send_message_length': 64 * 1024 * 1024,
        }) as unknown as grpc.Client & {
          Export: (b: Buffer, cb: (e: grpc.ServiceError | null) => void) => void;
        },
    );
    const bufs = job.bodies.map((b) => Buffer.from(b));
    let next = 0;
    await Promise.all(
      Array.from({ length: job.concurrency }, async (_, i) => {
        const c = clients[i % clients.length]!;
        while (performance.now() < deadline) {
          const buf = bufs[next++ % bufs.length]!;
          const e = await new Promise<grpc.ServiceError | null>((r) => c.Export(buf, r));
          if (e) errors++;
          else requests++;
        }
      }),
    );
    for (const c of clients) c.close();
  } else if (job.target === 'http') {
    let next = 0;
    await Promise.all(
      Array.from({ length: job.concurrency }, async () => {
        while (performance.now() < deadline) {
          const res = await fetch(`http://127.0.0.1:${job.port}/v1/traces`, {
            method: 'POST',
            body: job.bodies[next++ % job.bodies.length]!,
            headers: { 'content-type': 'application/x-protobuf' },
          });
          await res.arrayBuffer();
          if (res.status === 200) requests++;
          else errors++;
        }
      }),
    );
  } else {
    // Forward: each connection keeps up to 4 chunks in flight and counts acks.
    const packr = new Packr({ useRecords: false });
    const entries = job.bodies.map((b) => Buffer.from(b));
    let next = 0;
    await Promise.all(
      Array.from(
        { length: job.concurrency },
        (_, ci) =>
          new Promise<void>((resolve) => {
            const s = connect(job.port, '127.0.0.1');
            let inflight = 0;
            let seq = 0;
            let buf = Buffer.alloc(0);
            const send = () => {
              while (inflight < 4 && performance.now() < deadline) {
                const chunk = `c${ci}-${seq++}`;
                const entriesBuf = entries[next++ % entries.length]!;
                s.write(packr.pack(['bench.logs', entriesBuf, { chunk, size: 0 }]));
                inflight++;
              }
              if (inflight === 0) {
                s.end();
                resolve();
              }
            };
            s.on('connect', send);
            s.on('data', (d: Buffer) => {
              buf = Buffer.concat([buf, d]);
              // Each ack is a small fixmap {ack: "..."}; count complete ones.
              let vals: unknown[];
              try {
                vals = packr.unpackMultiple(buf) as unknown[];
                buf = Buffer.alloc(0);
              } catch {
                return;
              }
              requests += vals.length;
              inflight -= vals.length;
              send();
            });
            s.on('error', () => {
              errors++;
              resolve();
            });
            s.on('close', () => resolve());
          }),
      ),
    );
  }
  return { requests, errors, seconds: (performance.now() - started) / 1000 };
}

if (!isMainThread && parentPort) {
  const job = workerData as LoadJob;
  void runLoad(job).then((r) => parentPort!.postMessage(r));
}

function load(job: LoadJob): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(fileURLToPath(import.meta.url), { workerData: job });
    w.once('message', (m: LoadResult) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

// ---- servers (main thread) ----------------------------------------------------------------------------------------

async function bareGrpcServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  const handler: grpc.handleUnaryCall<Buffer, Buffer> = (_call, cb) => cb(null, Buffer.alloc(0));
  server.addService(rawExportService('traces'), { Export: handler });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return { port, close: () => new Promise((r) => server.tryShutdown(() => r())) };
}

/** Deterministic PRNG (LCG) so runs are comparable; ids and timings vary like real telemetry. */
function prng(seed: number): () => number {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function hexId(rnd: () => number, chars: number): string {
  let s = '';
  for (let i = 0; i < chars; i++) s += Math.floor(rnd() * 16).toString(16);
  return s;
}

/**
 * One Export request: `resources` services, random trace/span ids and start times, latencies, a few routes and
 * status codes — so it compresses like real OTLP (about 3-4x with zstd) rather than like a repeated template.
 */
function traceRequest(resources: number, spansPerResource: number, seed: number): Uint8Array {
  const rnd = prng(seed);
  const base = 1717171717000000000n + BigInt(seed) * 1_000_000_000n;
  const groups: ResourceSpansModel[] = Array.from({ length: resources }, (_, r) => ({
    resource: { 'service.name': `svc-${r}`, 'host.name': `node-${r}` },
    scope: 'bench',
    spans: Array.from({ length: spansPerResource }, (_, i) => {
      const start = base + BigInt(Math.floor(rnd() * 1e9));
      const status = rnd() < 0.02 ? 500 : 200;
      return {
        traceId: hexId(rnd, 32),
        spanId: hexId(rnd, 16),
        parentSpanId: rnd() < 0.5 ? hexId(rnd, 16) : '',
        name: `GET /api/items/${i % 20}`,
        kind: 2,
        startTimeUnixNano: String(start),
        endTimeUnixNano: String(start + BigInt(Math.floor(rnd() * 200_000_000))),
        statusCode: status === 500 ? 2 : 0,
        statusMessage: '',
        attributes: {
          'http.route': `/api/items/:id`,
          'http.response.status_code': status,
          'http.request.method': 'GET',
        },
      };
    }),
  }));
  return encodeTraces(groups);
}

function arg(args: string[], name: string, def: number): number {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return v;
}

/** Renames every topic so a shared Kafka's real topics are not touched. */
function prefixedBus(inner: Bus, prefix: string): Bus {
  return {
    kind: inner.kind,
    publish: (t, r) => inner.publish(`${prefix}${t}`, r),
    subscribe: (o, h) => inner.subscribe({ ...o, topics: o.topics.map((t) => `${prefix}${t}`) }, h),
    ensureTopics: (ts) => inner.ensureTopics(ts.map((t) => ({ ...t, name: `${prefix}${t.name}` }))),
    close: () => inner.close(),
  };
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const seconds = arg(args, 'seconds', 5);
  const concurrency = arg(args, 'concurrency', 16);
  const spansPerResource = arg(args, 'spans', 100);
  const resources = 4;
  const archive = args.includes('--archive');
  const bodies = Array.from({ length: 32 }, (_, i) => traceRequest(resources, spansPerResource, i + 1));
  const body = bodies[0]!;
  const spansPerRequest = resources * spansPerResource;

  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

  const brokers = process.env['SLO_SCOUT_KAFKA_BROKERS']?.trim();
  const kafkaProducers = arg(args, 'kafka-producers', 4);
  const ci = args.indexOf('--kafka-compression');
  const kafkaCompression = (ci >= 0 ? args[ci + 1] : 'zstd') as KafkaCompression;
  if (!['none', 'gzip', 'zstd'].includes(kafkaCompression))
    throw new Error('--kafka-compression must be none, gzip or zstd');
  const runId = `bench-${Date.now().toString(36)}`;
  const rawBus: Bus = brokers
    ? new KafkaBus({
        brokers: brokers.split(','),
        clientId: runId,
        logLevel: 'error',
        maxBatchBytes: arg(args, 'kafka-batch-mib', 4) * 1024 * 1024,
        producers: kafkaProducers,
        compression: kafkaCompression,
      })
    : new MemoryBus({ autoCreate: false, retainRecords: 0 });
  const bus = brokers ? prefixedBus(rawBus, `${runId}.`) : rawBus;
  await bus.ensureTopics(
    ALL_TOPICS.map((t) => ({
      name: t.name,
      partitions: brokers ? t.partitions : 3,
      retentionMs: 3_600_000,
      maxMessageBytes: t.maxMessageBytes,
    })),
  );
  // The in-memory bus keeps records: drain them with a consumer so memory reflects steady state.
  const drains = brokers
    ? []
    : [
        await bus.subscribe(
          { group: 'bench-drain', topics: ALL_TOPICS.map((t) => t.name), maxBatch: 1000 },
          async () => Promise.resolve(),
        ),
      ];
  let dir: string | null = null;
  let objects: ObjectStore | null = null;
  if (archive) {
    dir = mkdtempSync(join(tmpdir(), 'slo-scout-bench-'));
    objects = new FsObjectStore({ root: dir, bucket: 'bench-archive' });
  }
  process.stderr.write(
    `ingest bench: ${seconds}s per phase, ${concurrency} concurrent requests, ${spansPerRequest} spans/request ` +
      `(${body.length} bytes), bus=${brokers ? 'kafka' : 'memory'}, archive=${archive}\n`,
  );
  try {
    // Ceiling and collector phases alternate for `rounds` rounds; the best round of each counts, which damps the
    // noise of a shared machine without favouring either side.
    const rounds = arg(args, 'rounds', 2);
    const best = (a: LoadResult | null, b: LoadResult) =>
      !a || b.requests / b.seconds > a.requests / a.seconds ? b : a;
    let ceiling: LoadResult | null = null;
    let g: LoadResult | null = null;
    let h: LoadResult | null = null;
    const otlp = await startOtlpCollector({
      bus,
      objects,
      grpcPort: 0,
      httpPort: 0,
      maxMessageBytes: 16 * 1024 * 1024,
    });
    const bare = await bareGrpcServer();
    for (let r = 0; r < rounds; r++) {
      ceiling = best(ceiling, await load({ target: 'grpc', port: bare.port, seconds, concurrency, bodies }));
      g = best(g, await load({ target: 'grpc', port: otlp.grpcPort, seconds, concurrency, bodies }));
      h = best(h, await load({ target: 'http', port: otlp.httpPort, seconds, concurrency, bodies }));
    }
    await bare.close();
    await otlp.close();
    if (!ceiling || !g || !h) throw new Error('no rounds ran');

    const packr = new Packr({ useRecords: false });
    const recordsPerChunk = 200;
    const streams = Array.from({ length: 16 }, (_, c) => {
      const rnd = prng(1000 + c);
      return Buffer.concat(
        Array.from({ length: recordsPerChunk }, (_, i) => {
          const status = rnd() < 0.02 ? 500 : 200;
          return packr.pack([
            1717171717 + c * recordsPerChunk + i,
            {
              log: `GET /api/items/${Math.floor(rnd() * 500)} ${status} ${Math.floor(rnd() * 300)}ms user=${hexId(rnd, 8)} trace=${hexId(rnd, 32)}`,
              level: status === 500 ? 'error' : 'info',
              kubernetes: { namespace_name: 'shop', pod_name: `web-${hexId(rnd, 5)}` },
            },
          ]);
        }),
      );
    });
    const fwd = await startForwardCollector({ bus, objects, port: 0 });
    const f = await load({
      target: 'forward',
      port: fwd.port,
      seconds,
      concurrency: Math.min(concurrency, 8),
      bodies: streams,
    });
    await fwd.close();

    const ceilingRate = (ceiling.requests * spansPerRequest) / ceiling.seconds;
    const grpcRate = (g.requests * spansPerRequest) / g.seconds;
    const httpRate = (h.requests * spansPerRequest) / h.seconds;
    return {
      bus: brokers ? 'kafka' : 'memory',
      ...(brokers ? { kafka_producers: kafkaProducers, kafka_compression: kafkaCompression } : {}),
      archive,
      seconds_per_phase: seconds,
      rounds,
      concurrency,
      spans_per_request: spansPerRequest,
      request_bytes: body.length,
      server_cores: 1,
      ceiling_spans_per_s: Math.round(ceilingRate),
      otlp_grpc_spans_per_s: Math.round(grpcRate),
      ratio: Number((grpcRate / ceilingRate).toFixed(3)),
      otlp_http_spans_per_s: Math.round(httpRate),
      http_ratio: Number((httpRate / ceilingRate).toFixed(3)),
      forward_records_per_s: Math.round((f.requests * recordsPerChunk) / f.seconds),
      errors: { ceiling: ceiling.errors, grpc: g.errors, http: h.errors, forward: f.errors },
      peak_rss_mb: Math.round(peakRss / (1024 * 1024)),
    };
  } finally {
    clearInterval(sampler);
    for (const d of drains) await d.close();
    await bus.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
