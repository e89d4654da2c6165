/**
 * Shared collector machinery: an in-flight byte limiter (back-pressure), collector metrics, the publisher that turns
 * accepted batches into CloudEvents on the bus (after archiving them), and HTTP body/response helpers.
 *
 * Acknowledgement rule for every collector: the client hears "accepted" only after the raw batch is archived and
 * every record is durable on the bus. Anything else is a retryable failure (or a permanent one for bad input).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzip, inflate, brotliDecompress } from 'node:zlib';
import {
  UnavailableError,
  type Bus,
  type BusRecord,
  type Logger,
  type Metrics,
  type ObjectStore,
} from '../core/ports.js';
import { newEvent, toBusRecord } from '../events/cloudevents.js';
import type { TopicDef } from '../events/registry.js';
import { archiveRaw, type ArchiveFormat, type ArchiveResult } from './archive.js';

// ---- options -------------------------------------------------------------------------------------------------------

/** Options every push collector (OTLP, Fluent Bit HTTP, Forward) takes; each adds its listener and size limits. */
export interface CollectorBaseOptions {
  readonly bus: Bus;
  /** Raw-batch archive; null disables archiving. */
  readonly objects: ObjectStore | null;
  readonly metrics?: Metrics;
  readonly log?: Logger;
  /** Address to listen on. Default 127.0.0.1. */
  readonly host?: string;
  /** Bound on bytes being processed at once; beyond it requests are refused as busy. Default 64 MiB. */
  readonly maxInFlightBytes?: number;
  /** Tenant recorded on every batch and in the archive keys. Default `default`. */
  readonly tenant?: string;
  /** How long close() waits for in-flight requests before cutting connections. Default 10 s. */
  readonly drainTimeoutMs?: number;
  readonly now?: () => Date;
}

// ---- back-pressure -------------------------------------------------------------------------------------------------

/**
 * Bounds the bytes being processed at once. acquire() never waits: over the bound it fails fast and the caller
 * answers with a retryable "busy" status. A single batch larger than the bound is admitted when nothing else is in
 * flight, so it can never be rejected forever.
 */
export class InFlightLimiter {
  private used = 0;
  private waiters: (() => void)[] = [];
  private roomWaiters: (() => void)[] = [];

  constructor(readonly maxBytes: number) {
    if (!(maxBytes > 0)) throw new Error(`InFlightLimiter: maxBytes must be positive, got ${maxBytes}`);
  }

  get inFlight(): number {
    return this.used;
  }

  /** Reserves n bytes; returns a release function (idempotent), or null when over the bound. */
  acquire(n: number): (() => void) | null {
    const size = Math.max(0, Math.floor(n));
    if (this.used > 0 && this.used + size > this.maxBytes) return null;
    this.used += size;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= size;
      if (this.roomWaiters.length > 0) {
        const r = this.roomWaiters;
        this.roomWaiters = [];
        for (const f of r) f();
      }
      if (this.used === 0) {
        const w = this.waiters;
        this.waiters = [];
        for (const f of w) f();
      }
    };
  }

  /** Calls `f` once, at the next release (for callers that wait for room instead of failing fast). */
  onRelease(f: () => void): void {
    if (this.used === 0) queueMicrotask(f);
    else this.roomWaiters.push(f);
  }

  /** Resolves when nothing is in flight. */
  drain(): Promise<void> {
    if (this.used === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

// ---- metrics ---------------------------------------------------------------------------------------------------------

export const noopMetrics: Metrics = {
  counter: () => undefined,
  gauge: () => undefined,
  observe: () => undefined,
};

export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

export type RejectReason =
  'invalid' | 'too_large' | 'busy' | 'unavailable' | 'unsupported' | 'unauthenticated' | 'internal';

/** Collector metrics, named once here so dashboards and tests agree. */
export class CollectorMetrics {
  constructor(
    private readonly metrics: Metrics,
    private readonly collector: string,
  ) {}

  received(signal: string, transport: string, bytes: number): void {
    const l = { collector: this.collector, signal, transport };
    this.metrics.counter('slo_scout_collector_requests_received_total', 'Export requests received.', l);
    this.metrics.counter(
      'slo_scout_collector_bytes_received_total',
      'Request bytes received (decompressed).',
      l,
      bytes,
    );
  }

  published(signal: string, records: number, items: number): void {
    const l = { collector: this.collector, signal };
    this.metrics.counter('slo_scout_collector_records_published_total', 'Bus records published.', l, records);
    this.metrics.counter(
      'slo_scout_collector_items_accepted_total',
      'Resource groups or log records accepted.',
      l,
      items,
    );
  }

  rejected(signal: string, transport: string, reason: RejectReason): void {
    this.metrics.counter('slo_scout_collector_requests_rejected_total', 'Export requests rejected.', {
      collector: this.collector,
      signal,
      transport,
      reason,
    });
  }

  /** Items (spans, data points, log records) refused through an OTLP partial success. */
  rejectedItems(signal: string, transport: string, items: number): void {
    this.metrics.counter(
      'slo_scout_collector_items_rejected_total',
      'Items rejected in partially accepted requests (malformed resource entries).',
      { collector: this.collector, signal, transport },
      items,
    );
  }

  inFlight(bytes: number): void {
    this.metrics.gauge('slo_scout_collector_inflight_bytes', 'Bytes currently being processed.', bytes, {
      collector: this.collector,
    });
  }

  /** Time the bus took to confirm a write (Kafka acks=all round trip, including batching linger). */
  busLatency(signal: string, seconds: number): void {
    this.metrics.observe(
      'slo_scout_collector_kafka_publish_seconds',
      'Bus (Kafka) publish latency.',
      seconds,
      {
        collector: this.collector,
        signal,
      },
    );
  }

  /**
   * Publish lag: how old the data is when it becomes durable on the bus. Push collectors measure from request
   * arrival; the Prometheus collector from the end of the pulled window.
   */
  publishLag(signal: string, seconds: number): void {
    this.metrics.gauge(
      'slo_scout_collector_publish_lag_seconds',
      'Age of the newest data at the moment it became durable on the bus.',
      seconds,
      { collector: this.collector, signal },
    );
  }

  publishLatency(signal: string, seconds: number): void {
    this.metrics.observe(
      'slo_scout_collector_publish_seconds',
      'Archive + publish latency per request.',
      seconds,
      {
        collector: this.collector,
        signal,
      },
    );
  }
}

// ---- publishing ------------------------------------------------------------------------------------------------------

export interface PublishItem {
  readonly key: string | null;
  /** Bytes for binary topics, an object for JSON topics (validated against the topic schema by newEvent). */
  readonly data: unknown;
  readonly extensions?: Readonly<Record<string, string>>;
  readonly subject?: string;
  /** CloudEvents id; deterministic ids let consumers drop re-published duplicates. Default: a random UUID. */
  readonly id?: string;
}

export interface ArchiveRequest {
  readonly signal: string;
  readonly tenant: string;
  readonly body: Uint8Array;
  readonly format: ArchiveFormat;
}

/**
 * Archives a raw batch, then publishes its items as CloudEvents (Kafka binary mode) to one topic. Resolves only when
 * both are durable. Errors propagate: UnavailableError means retry later; anything else is internal.
 */
export class Publisher {
  constructor(
    private readonly bus: Bus,
    private readonly objects: ObjectStore | null,
    private readonly source: string,
    private readonly now: () => Date = () => new Date(),
    private readonly cm: CollectorMetrics | null = null,
  ) {}

  async archive(req: ArchiveRequest): Promise<ArchiveResult | null> {
    if (!this.objects) return null;
    return archiveRaw(this.objects, { ...req, receivedAt: this.now() });
  }

  async publish(def: TopicDef, items: readonly PublishItem[]): Promise<number> {
    if (items.length === 0) return 0;
    const time = this.now().toISOString();
    const records: BusRecord[] = items.map((it) =>
      toBusRecord(
        newEvent(def, {
          source: this.source,
          data: it.data,
          time,
          ...(it.subject !== undefined ? { subject: it.subject } : {}),
          ...(it.id !== undefined ? { id: it.id } : {}),
          ...(it.extensions ? { extensions: it.extensions } : {}),
        }),
        it.key,
      ),
    );
    const started = performance.now();
    await this.bus.publish(def.name, records);
    this.cm?.busLatency(def.id, (performance.now() - started) / 1000);
    return records.length;
  }
}

/** True for failures worth retrying (the bus or the object store is down). */
export function isUnavailable(e: unknown): boolean {
  return e instanceof UnavailableError || (e as { name?: unknown } | null)?.name === 'UnavailableError';
}

// ---- HTTP helpers ----------------------------------------------------------------------------------------------------

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: RejectReason,
  ) {
    super(message);
  }
}

/** Reads a request body, failing with 413 past `limit` bytes (on the wire). */
export function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(
        new HttpError(413, `request body of ${declared} bytes exceeds the ${limit}-byte limit`, 'too_large'),
      );
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        reject(new HttpError(413, `request body exceeds the ${limit}-byte limit`, 'too_large'));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (failed) return;
      // Buffer.concat already allocates a fresh buffer: hand out a plain view of it instead of copying it again.
      const body = Buffer.concat(chunks);
      resolve(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
    });
    req.on('error', (e) => {
      if (!failed) reject(e);
      failed = true;
    });
  });
}

/** Undoes Content-Encoding (gzip, deflate, br, identity) with the decompressed size bounded by `limit`. */
export async function decodeContentEncoding(
  body: Uint8Array,
  encoding: string | undefined,
  limit: number,
): Promise<Uint8Array> {
  const enc = (encoding ?? 'identity').trim().toLowerCase();
  if (enc === '' || enc === 'identity') return body;
  type Decompress = (
    buf: Uint8Array,
    o: { maxOutputLength: number },
    cb: (e: Error | null, out: Buffer) => void,
  ) => void;
  const fn: Decompress | null =
    enc === 'gzip' || enc === 'x-gzip'
      ? (b, o, cb) => gunzip(b, o, cb)
      : enc === 'deflate'
        ? (b, o, cb) => inflate(b, o, cb)
        : enc === 'br'
          ? (b, o, cb) => brotliDecompress(b, o, cb)
          : null;
  if (!fn)
    throw new HttpError(
      415,
      `unsupported Content-Encoding "${enc}" (gzip, deflate, br or identity)`,
      'unsupported',
    );
  return new Promise((resolve, reject) => {
    fn(body, { maxOutputLength: limit }, (e, out) => {
      if (!e) resolve(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
      else if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError)
        reject(new HttpError(413, `decompressed body exceeds the ${limit}-byte limit`, 'too_large'));
      else reject(new HttpError(400, `body is not valid ${enc}: ${e.message}`, 'invalid'));
    });
  });
}

/** Media type of a Content-Type header, lower-cased, without parameters. */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

export function send(
  res: ServerResponse,
  status: number,
  body: string | Uint8Array,
  contentType: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
  });
  res.end(body);
}

/** Seconds clients are told to wait before retrying a busy/unavailable collector. */
export const RETRY_AFTER_SECONDS = 2;

export function readyBody(ready: boolean): string {
  return ready ? 'ok\n' : 'shutting down\n';
}

/** Serves /healthz, /readyz and /metrics. Returns true when it handled the request. */
export function serveOps(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  metrics: Metrics,
  ready: () => boolean,
): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (path === '/healthz') {
    send(res, 200, 'ok\n', 'text/plain; charset=utf-8');
    return true;
  }
  if (path === '/readyz') {
    const r = ready();
    send(res, r ? 200 : 503, readyBody(r), 'text/plain; charset=utf-8');
    return true;
  }
  if (path === '/metrics') {
    const render = (metrics as { render?: () => string }).render;
    if (typeof render !== 'function')
      send(res, 404, 'metrics are not exported by this sink\n', 'text/plain; charset=utf-8');
    else send(res, 200, render.call(metrics), 'text/plain; version=0.0.4; charset=utf-8');
    return true;
  }
  return false;
}

/**
 * Tracks responses in progress so a closing server can tell their keep-alive connections to close once the response
 * is written (otherwise server.close() waits for the client's idle timeout).
 */
export class ResponseTracker {
  private readonly active = new Set<ServerResponse>();
  private closing = false;

  track(res: ServerResponse): void {
    if (this.closing) res.setHeader('connection', 'close');
    this.active.add(res);
    const done = () => this.active.delete(res);
    res.once('finish', done);
    res.once('close', done);
  }

  /** Marks every in-progress (and future) response as the last on its connection. */
  closeAfterResponses(): void {
    this.closing = true;
    for (const res of this.active) if (!res.headersSent) res.setHeader('connection', 'close');
  }
}
