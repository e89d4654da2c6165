/**
 * `npm run bench -- ingest [--seconds N] [--rounds N] [--concurrency N] [--spans N] [--kafka-batch-mib N]
 *   [--kafka-producers N] [--kafka-compression none|gzip|snappy|lz4|zstd] [--archive] [--no-pin]
 *   [--isolate PID[,PID...]]`
 *
 * Ingest throughput of the collectors, against a ceiling measured in the same run with the same client load:
 * - ceiling: a bare grpc-js server exposing the OTLP TraceService Export method that discards every request;
 * - OTLP gRPC and OTLP/HTTP (protobuf) into the collector, published to the bus (Kafka when SLO_SCOUT_KAFKA_BROKERS is
 *   set, on run-unique topic names so nothing else consumes them; the in-memory bus otherwise);
 * - Forward protocol (PackedForward with chunk acks) into the log collector.
 *
 * The load generator runs in a child process (this same module, forked), so the benchmark process holds only the
 * servers (and the bus client). Each phase is measured twice: wall-clock throughput as the client sees it, and
 * throughput per CPU second the server process spent (process.cpuUsage() user+system across all its threads,
 * between the client's "go" and its result) — "per core". The per-core figure excludes the CPU the load generator
 * and a co-located broker take, which on a small shared machine otherwise skews the wall ratio.
 *
 * Fairness on a small shared machine:
 * - CPU pinning (Linux with taskset and >= 2 CPUs; --no-pin turns it off): the server process, all its threads, runs
 *   on CPU 0 and each load generator on the other CPUs, so the servers never share their core with the client.
 *   --isolate PID,... moves other local processes (a co-located broker: `--isolate $(cat .services/kafka/kafka.pid)`)
 *   to the load generator's CPUs for the run and gives them all CPUs back afterwards; otherwise the broker's
 *   background work lands on the servers' core now and then and taxes whichever phase it hits.
 * - Before every measured phase the bench waits (up to 5 s) for the machine to go quiet (all CPUs under 25 % busy
 *   over 250 ms), so a broker still writing the previous phase's data does not tax the next phase.
 * - Ceiling and collector phases alternate (ceiling, gRPC, HTTP, ceiling, gRPC, HTTP, ..., ceiling), so every
 *   collector phase sits between two ceiling phases; its ratio is taken against the geometric mean of those two, which
 *   cancels slow drifts of the host's speed. The reported ratio is the median of these per-round ratios; the
 *   reported rates are per-side medians.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { Packr } from 'msgpackr';
import { MemoryBus } from '../adapters/bus/memory.js';
import { rng } from '../core/random.js';
import { withTopicPrefix } from '../adapters/bus/prefixed.js';
import {
  DEFAULT_KAFKA_COMPRESSION,
  isKafkaCompression,
  KAFKA_COMPRESSIONS,
  KafkaBus,
} from '../adapters/bus/kafka.js';
import { FsObjectStore } from '../adapters/objects/fs.js';
import type { Bus, ObjectStore } from '../core/ports.js';
import { encodeTraces } from '../core/otlp/encode.js';
import type { ResourceSpansModel } from '../core/otlp/model.js';
import { ALL_TOPICS } from '../events/registry.js';
import { rawExportService, startOtlpCollector } from '../collectors/otlp.js';
import { startForwardCollector } from '../collectors/forward.js';
import { createMetrics } from '../runtime/observability.js';

/** Set in the forked load generator's environment; the module then runs as the client instead of the bench. */
const LOADGEN_ENV = 'SLO_SCOUT_INGEST_BENCH_LOADGEN';

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

// ---- load generator (child process) ---------------------------------------------------------------------------------

interface PreparedLoad {
  /** Runs the load for job.seconds from now. */
  readonly start: () => Promise<LoadResult>;
  readonly cleanup: () => void;
}

/**
 * Runs `job.concurrency` closed-loop workers for `job.seconds`: each sends the next body (round-robin) as soon as its
 * previous request settled, and counts successes and failures.
 */
async function closedLoop(
  job: LoadJob,
  send: (worker: number, body: number) => Promise<boolean>,
): Promise<LoadResult> {
  let requests = 0;
  let errors = 0;
  let next = 0;
  const started = performance.now();
  const deadline = started + job.seconds * 1000;
  await Promise.all(
    Array.from({ length: job.concurrency }, async (_, i) => {
      while (performance.now() < deadline) {
        if (await send(i, next++ % job.bodies.length)) requests++;
        else errors++;
      }
    }),
  );
  return { requests, errors, seconds: (performance.now() - started) / 1000 };
}

/**
 * Connects and warms up (one request per gRPC channel / HTTP connection, TCP connect for Forward) so that the
 * measured window holds only steady-state traffic, then returns the function that runs the timed load.
 */
async function prepareLoad(job: LoadJob): Promise<PreparedLoad> {
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
    const call = (c: (typeof clients)[number], buf: Buffer) =>
      new Promise<grpc.ServiceError | null>((r) => c.Export(buf, r));
    for (const c of clients) {
      const e = await call(c, bufs[0]!);
      if (e) throw new Error(`load generator warm-up failed: ${e.message}`);
    }
    return {
      start: () => closedLoop(job, async (i, b) => !(await call(clients[i % clients.length]!, bufs[b]!))),
      cleanup: () => clients.forEach((c) => c.close()),
    };
  }
  if (job.target === 'http') {
    const post = async (body: Uint8Array) => {
      const res = await fetch(`http://127.0.0.1:${job.port}/v1/traces`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/x-protobuf' },
      });
      await res.arrayBuffer();
      return res.status;
    };
    const warm = await Promise.all(Array.from({ length: job.concurrency }, () => post(job.bodies[0]!)));
    if (warm.some((st) => st !== 200))
      throw new Error(`load generator warm-up failed: HTTP ${warm.join(',')}`);
    return {
      start: () => closedLoop(job, async (_, b) => (await post(job.bodies[b]!)) === 200),
      cleanup: () => undefined,
    };
  }
  // Forward: each connection keeps up to 4 chunks in flight and counts acks.
  let requests = 0;
  let errors = 0;
  const packr = new Packr({ useRecords: false });
  const entries = job.bodies.map((b) => Buffer.from(b));
  const sockets = await Promise.all(
    Array.from(
      { length: job.concurrency },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const s = connect(job.port, '127.0.0.1');
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        }),
    ),
  );
  return {
    start: async () => {
      const started = performance.now();
      const deadline = started + job.seconds * 1000;
      let next = 0;
      await Promise.all(
        sockets.map(
          (s, ci) =>
            new Promise<void>((resolve) => {
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
              send();
            }),
        ),
      );
      return { requests, errors, seconds: (performance.now() - started) / 1000 };
    },
    cleanup: () => sockets.forEach((s) => s.destroy()),
  };
}

type ToChild = { readonly type: 'job'; readonly job: LoadJob } | { readonly type: 'go' };
type FromChild =
  | { readonly type: 'ready' }
  | { readonly type: 'result'; readonly result: LoadResult }
  | { readonly type: 'error'; readonly message: string };

if (process.env[LOADGEN_ENV] === '1' && process.send) {
  const reply = (m: FromChild) => process.send!(m);
  let prepared: PreparedLoad | null = null;
  process.on('message', (m: ToChild) => {
    if (m.type === 'job') {
      prepareLoad(m.job).then(
        (p) => {
          prepared = p;
          reply({ type: 'ready' });
        },
        (e: unknown) => reply({ type: 'error', message: (e as Error).message }),
      );
    } else if (prepared) {
      const p = prepared;
      void p.start().then((result) => {
        process.send!({ type: 'result', result } satisfies FromChild, () => {
          p.cleanup();
          process.disconnect();
        });
      });
    }
  });
}

/** One phase as measured from the server side: the client's result plus the server process's CPU time. */
interface Measured extends LoadResult {
  /** User + system CPU seconds of this (server) process, all threads, between "go" and the client's result. */
  readonly serverCpuSeconds: number;
}

// ---- fairness helpers ------------------------------------------------------------------------------------------------

interface Pinning {
  readonly server: string;
  readonly load: string;
}

/** Pins this process (all threads) to CPU 0 and returns the CPU list for load generators; null when not possible. */
function pinServer(): Pinning | null {
  const n = cpus().length;
  if (process.platform !== 'linux' || n < 2) return null;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
    return { server: '0', load: n === 2 ? '1' : `1-${n - 1}` };
  } catch {
    return null; // no taskset (util-linux) or not permitted
  }
}

/** Pins other processes (all threads) to `cpuList`; returns a function that gives them every CPU back. */
function isolate(pids: readonly number[], cpuList: string): () => void {
  const all = `0-${cpus().length - 1}`;
  const moved: number[] = [];
  for (const pid of pids) {
    try {
      execFileSync('taskset', ['-a', '-p', '-c', cpuList, String(pid)], { stdio: 'ignore' });
      moved.push(pid);
    } catch {
      throw new Error(`--isolate: cannot pin process ${pid} (not running, or not permitted)`);
    }
  }
  return () => {
    for (const pid of moved) {
      try {
        execFileSync('taskset', ['-a', '-p', '-c', all, String(pid)], { stdio: 'ignore' });
      } catch {
        // it may have exited meanwhile
      }
    }
  };
}

function pinChild(pid: number | undefined, cpuList: string): void {
  if (pid === undefined) return;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpuList, String(pid)], { stdio: 'ignore' });
  } catch {
    // the child may already have exited; the phase then fails on its own
  }
}

/** Busy fraction of the busiest CPU over `ms`. */
async function busiestCpu(ms: number): Promise<number> {
  const snap = () =>
    cpus().map((c) => ({ idle: c.times.idle, total: Object.values(c.times).reduce((a, b) => a + b, 0) }));
  const a = snap();
  await new Promise((r) => setTimeout(r, ms));
  const b = snap();
  return Math.max(...b.map((x, i) => 1 - (x.idle - a[i]!.idle) / Math.max(1, x.total - a[i]!.total)));
}

/** Waits until every CPU is under 25 % busy over 250 ms (at most `maxMs`); returns the time waited. */
async function waitQuiet(maxMs = 5_000): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < maxMs && (await busiestCpu(250)) > 0.25);
  return performance.now() - t0;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

let loadCpus: string | null = null;
let quietWaitMs = 0;

async function load(job: LoadJob): Promise<Measured> {
  quietWaitMs += await waitQuiet();
  return new Promise((resolve, reject) => {
    const child: ChildProcess = fork(fileURLToPath(import.meta.url), [], {
      env: { ...process.env, [LOADGEN_ENV]: '1' },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    if (loadCpus) pinChild(child.pid, loadCpus);
    let cpu0: NodeJS.CpuUsage | null = null;
    child.on('message', (m: FromChild) => {
      if (m.type === 'ready') {
        cpu0 = process.cpuUsage();
        child.send({ type: 'go' } satisfies ToChild);
      } else if (m.type === 'result') {
        const d = process.cpuUsage(cpu0 ?? undefined);
        resolve({ ...m.result, serverCpuSeconds: (d.user + d.system) / 1e6 });
      } else {
        child.kill();
        reject(new Error(`load generator: ${m.message}`));
      }
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`load generator exited with code ${code}`));
    });
    child.send({ type: 'job', job } satisfies ToChild);
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
  const rnd = rng(seed);
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

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const seconds = arg(args, 'seconds', 3);
  const concurrency = arg(args, 'concurrency', 16);
  const spansPerResource = arg(args, 'spans', 100);
  const resources = 4;
  const archive = args.includes('--archive');
  const bodies = Array.from({ length: 32 }, (_, i) => traceRequest(resources, spansPerResource, i + 1));
  const body = bodies[0]!;
  const spansPerRequest = resources * spansPerResource;

  const pinning = args.includes('--no-pin') ? null : pinServer();
  loadCpus = pinning?.load ?? null;
  const ii = args.indexOf('--isolate');
  const isolatePids =
    ii < 0
      ? []
      : (args[ii + 1] ?? '').split(',').map((x) => {
          const pid = Number(x.trim());
          if (!Number.isInteger(pid) || pid <= 0) throw new Error('--isolate needs PID[,PID...]');
          return pid;
        });
  if (isolatePids.length > 0 && !pinning)
    throw new Error('--isolate needs CPU pinning (Linux, taskset, 2+ CPUs)');
  const unisolate = pinning ? isolate(isolatePids, pinning.load) : () => undefined;
  quietWaitMs = 0;
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

  const brokers = process.env['SLO_SCOUT_KAFKA_BROKERS']?.trim();
  const kafkaProducers = arg(args, 'kafka-producers', 1);
  const ci = args.indexOf('--kafka-compression');
  const kafkaCompression = ci >= 0 ? (args[ci + 1] ?? '') : DEFAULT_KAFKA_COMPRESSION;
  if (!isKafkaCompression(kafkaCompression))
    throw new Error(`--kafka-compression must be one of ${KAFKA_COMPRESSIONS.join(', ')}`);
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
  const bus = brokers ? withTopicPrefix(rawBus, `${runId}.`) : rawBus;
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
      `(${body.length} bytes), bus=${brokers ? 'kafka' : 'memory'}, archive=${archive}, ` +
      `cpu pinning=${pinning ? `server ${pinning.server}, load ${pinning.load}` : 'off'}\n`,
  );
  try {
    // Ceiling and collector phases alternate for `rounds` rounds, with a closing ceiling phase; each collector phase
    // is paired with the ceilings before and after it (see the header comment).
    const rounds = arg(args, 'rounds', 5);
    const wallRate = (m: Measured) => (m.requests * spansPerRequest) / m.seconds;
    const cpuRate = (m: Measured) => (m.requests * spansPerRequest) / m.serverCpuSeconds;
    type Side = 'ceiling' | 'grpc' | 'http';
    const runs: Record<Side, Measured[]> = { ceiling: [], grpc: [], http: [] };
    // Self-observability on, as `slo-scout run-collector` runs it.
    const metrics = createMetrics();
    const otlp = await startOtlpCollector({
      bus,
      objects,
      metrics,
      grpcPort: 0,
      httpPort: 0,
      maxMessageBytes: 16 * 1024 * 1024,
    });
    const bare = await bareGrpcServer();
    // Background CPU of this process with both servers up and no traffic (bus client timers, RSS sampler): it is
    // charged to every phase alike, so it is reported rather than subtracted.
    const idle0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 1000));
    const idleD = process.cpuUsage(idle0);
    const idleCpuPerS = (idleD.user + idleD.system) / 1e6;
    // Unmeasured warm-up of every server (JIT, connection pools, bus producers), identical for all sides.
    for (const port of [bare.port, otlp.grpcPort])
      await load({ target: 'grpc', port, seconds: 1, concurrency, bodies });
    await load({ target: 'http', port: otlp.httpPort, seconds: 1, concurrency, bodies });
    for (let r = 0; r < rounds; r++) {
      runs.ceiling.push(await load({ target: 'grpc', port: bare.port, seconds, concurrency, bodies }));
      runs.grpc.push(await load({ target: 'grpc', port: otlp.grpcPort, seconds, concurrency, bodies }));
      runs.http.push(await load({ target: 'http', port: otlp.httpPort, seconds, concurrency, bodies }));
      const line = (['ceiling', 'grpc', 'http'] as const)
        .map((k) => `${k} ${Math.round(wallRate(runs[k][r]!))} (${Math.round(cpuRate(runs[k][r]!))})`)
        .join(', ');
      process.stderr.write(`round ${r + 1}: spans/s wall (per server CPU s): ${line}\n`);
    }
    const closing = await load({ target: 'grpc', port: bare.port, seconds, concurrency, bodies });
    process.stderr.write(
      `closing ceiling: ${Math.round(wallRate(closing))} (${Math.round(cpuRate(closing))})\n`,
    );
    await bare.close();
    await otlp.close();
    if (rounds < 1) throw new Error('no rounds ran');

    const packr = new Packr({ useRecords: false });
    const recordsPerChunk = 200;
    const streams = Array.from({ length: 16 }, (_, c) => {
      const rnd = rng(1000 + c);
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
    const fwd = await startForwardCollector({ bus, objects, port: 0, metrics });
    const f = await load({
      target: 'forward',
      port: fwd.port,
      seconds,
      concurrency: Math.min(concurrency, 8),
      bodies: streams,
    });
    await fwd.close();

    const med = (side: Side, rate: (m: Measured) => number) =>
      median((side === 'ceiling' ? ceilings : runs[side]).map(rate));
    const ceilings = [...runs.ceiling, closing];
    const paired = (side: Side, rate: (m: Measured) => number) =>
      runs[side].map((m, i) => rate(m) / Math.sqrt(rate(ceilings[i]!) * rate(ceilings[i + 1]!)));
    const r3 = (x: number) => Number(x.toFixed(3));
    const sum = (side: Side, f: (m: Measured) => number) =>
      (side === 'ceiling' ? ceilings : runs[side]).reduce((a, m) => a + f(m), 0);
    return {
      bus: brokers ? 'kafka' : 'memory',
      ...(brokers ? { kafka_producers: kafkaProducers, kafka_compression: kafkaCompression } : {}),
      archive,
      seconds_per_phase: seconds,
      rounds,
      concurrency,
      spans_per_request: spansPerRequest,
      request_bytes: body.length,
      cpu_pinning: pinning ? { ...pinning, isolated_pids: isolatePids } : 'off',
      quiet_wait_s: Number((quietWaitMs / 1000).toFixed(1)),
      method:
        'Load generator in a child process (same requests, concurrency and grpc-js client for ceiling and ' +
        'collector; phases alternate; server pinned to one CPU and the load generator to the others when ' +
        'cpu_pinning is set; each phase starts once the machine is quiet). *_per_s: spans/s wall-clock as the ' +
        'client sees it. *_per_cpu_s ("per core"): spans per CPU second of the server process alone ' +
        "(process.cpuUsage user+system, all threads, including the collector's Kafka client and compression; the " +
        'broker and the load generator are other processes and not counted). Rates are medians over rounds; ' +
        'ratio = median over rounds of (collector per-core / geometric mean of the ceiling per-core measured just ' +
        'before and just after it); ratio_wall the same for wall-clock rates.',
      ceiling_spans_per_s: Math.round(med('ceiling', wallRate)),
      ceiling_spans_per_cpu_s: Math.round(med('ceiling', cpuRate)),
      otlp_grpc_spans_per_s: Math.round(med('grpc', wallRate)),
      otlp_grpc_spans_per_cpu_s: Math.round(med('grpc', cpuRate)),
      ratio: r3(median(paired('grpc', cpuRate))),
      ratio_wall: r3(median(paired('grpc', wallRate))),
      ratio_by_round: paired('grpc', cpuRate).map(r3),
      otlp_http_spans_per_s: Math.round(med('http', wallRate)),
      otlp_http_spans_per_cpu_s: Math.round(med('http', cpuRate)),
      http_ratio: r3(median(paired('http', cpuRate))),
      http_ratio_wall: r3(median(paired('http', wallRate))),
      forward_records_per_s: Math.round((f.requests * recordsPerChunk) / f.seconds),
      forward_records_per_cpu_s: Math.round((f.requests * recordsPerChunk) / f.serverCpuSeconds),
      server_cpu_s: {
        ceiling: Number(sum('ceiling', (m) => m.serverCpuSeconds).toFixed(2)),
        grpc: Number(sum('grpc', (m) => m.serverCpuSeconds).toFixed(2)),
        http: Number(sum('http', (m) => m.serverCpuSeconds).toFixed(2)),
        forward: Number(f.serverCpuSeconds.toFixed(2)),
      },
      server_cpu_utilisation: {
        ceiling: r3(sum('ceiling', (m) => m.serverCpuSeconds) / sum('ceiling', (m) => m.seconds)),
        grpc: r3(sum('grpc', (m) => m.serverCpuSeconds) / sum('grpc', (m) => m.seconds)),
        http: r3(sum('http', (m) => m.serverCpuSeconds) / sum('http', (m) => m.seconds)),
      },
      idle_server_cpu_per_s: Number(idleCpuPerS.toFixed(3)),
      spans_per_cpu_s_by_round: {
        ceiling: ceilings.map((m) => Math.round(cpuRate(m))),
        grpc: runs.grpc.map((m) => Math.round(cpuRate(m))),
        http: runs.http.map((m) => Math.round(cpuRate(m))),
      },
      errors: {
        ceiling: sum('ceiling', (m) => m.errors),
        grpc: sum('grpc', (m) => m.errors),
        http: sum('http', (m) => m.errors),
        forward: f.errors,
      },
      peak_rss_mb: Math.round(peakRss / (1024 * 1024)),
    };
  } finally {
    unisolate();
    clearInterval(sampler);
    for (const d of drains) await d.close();
    await bus.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
