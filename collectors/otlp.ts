/**
 * OTLP collector: gRPC (opentelemetry.proto.collector.{trace,metrics,logs}.v1.*Service/Export) and OTLP/HTTP
 * (/v1/traces, /v1/metrics, /v1/logs; protobuf or JSON; gzip/deflate/br). Requests are validated shallowly, split
 * per resource without a full decode, archived raw, and published to the otlp.* topics keyed by service.name.
 * The client is answered only after archive + publish are durable.
 *
 * gRPC runs without protobuf codegen: the service definition uses identity (de)serialisers, so handlers see the raw
 * request bytes, and replies are empty Export*ServiceResponse messages (zero bytes is a valid empty message).
 */
import {
  createServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { otlpJsonToProto, type OtlpSignal } from '../core/otlp/json.js';
import { ProtoWriter } from '../core/otlp/encode.js';
import { CE_SOURCE, TOPICS, type TopicDef } from '../events/registry.js';
import type { OtlpBatchExtensions } from '../events/schemas.js';
import {
  CollectorMetrics,
  type CollectorBaseOptions,
  decodeContentEncoding,
  HttpError,
  InFlightLimiter,
  isUnavailable,
  mediaType,
  noopMetrics,
  Publisher,
  readBody,
  RETRY_AFTER_SECONDS,
  send,
  serveOps,
  ResponseTracker,
  silentLogger,
  type RejectReason,
} from './common.js';
import { partialSuccessMessage, triageExportRequest } from './triage.js';

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export interface OtlpCollectorOptions extends CollectorBaseOptions {
  /** 0 picks a free port; null disables the listener. Defaults 4317 / 4318. */
  readonly grpcPort?: number | null;
  readonly httpPort?: number | null;
  /** Largest accepted request, compressed or not. Default 4 MiB. */
  readonly maxMessageBytes?: number;
  /** Largest number of resource entries in one request. Default 10 000. */
  readonly maxResourcesPerRequest?: number;
}

export interface OtlpCollector {
  /** Bound ports; -1 when the listener is disabled. */
  readonly grpcPort: number;
  readonly httpPort: number;
  close(): Promise<void>;
}

export const OTLP_GRPC_SERVICES: Record<OtlpSignal, string> = {
  traces: 'opentelemetry.proto.collector.trace.v1.TraceService',
  metrics: 'opentelemetry.proto.collector.metrics.v1.MetricsService',
  logs: 'opentelemetry.proto.collector.logs.v1.LogsService',
};

const TOPIC_OF: Record<OtlpSignal, TopicDef> = {
  traces: TOPICS.otlpTraces,
  metrics: TOPICS.otlpMetrics,
  logs: TOPICS.otlpLogs,
};

const HTTP_PATHS: Record<string, OtlpSignal> = {
  '/v1/traces': 'traces',
  '/v1/metrics': 'metrics',
  '/v1/logs': 'logs',
};

const identity = (b: Buffer): Buffer => b;

/** A unary Export method receiving and returning raw bytes. */
export function rawExportService(signal: OtlpSignal): grpc.ServiceDefinition {
  return {
    Export: {
      path: `/${OTLP_GRPC_SERVICES[signal]}/Export`,
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
      originalName: 'export',
    },
  };
}

/** OTLP partial success: items rejected (spans / data points / log records) and why. */
export interface PartialSuccess {
  readonly rejected: number;
  readonly message: string;
}

type Outcome =
  | { readonly ok: true; readonly resources: number; readonly partial: PartialSuccess | null }
  | { readonly ok: false; readonly reason: RejectReason; readonly message: string };

// google.rpc.Code values.
const RPC = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** google.rpc.Status{code=1, message=2, details=3 Any{type_url=1, value=2}} with an optional RetryInfo detail. */
export function rpcStatusBytes(code: number, message: string, retryAfterSeconds?: number): Uint8Array {
  const w = new ProtoWriter();
  w.varint(1, code);
  if (message) w.string(2, message);
  if (retryAfterSeconds !== undefined) {
    w.message(3, (any) => {
      any.string(1, 'type.googleapis.com/google.rpc.RetryInfo');
      // RetryInfo{retry_delay=1 Duration{seconds=1, nanos=2}}
      any.message(2, (ri) => ri.message(1, (d) => d.varint(1, retryAfterSeconds)));
    });
  }
  return w.finish();
}

/**
 * Export{Trace,Metrics,Logs}ServiceResponse{partial_success=1 Export*PartialSuccess{rejected_<items>=1 int64,
 * error_message=2}} — the three signals share this layout. No partial success: the empty message (zero bytes).
 */
export function exportResponseBytes(partial: PartialSuccess | null): Uint8Array {
  if (!partial) return new Uint8Array();
  const w = new ProtoWriter();
  w.message(1, (ps) => {
    ps.varint(1, partial.rejected);
    if (partial.message) ps.string(2, partial.message);
  });
  return w.finish();
}

const JSON_REJECTED_FIELD: Record<OtlpSignal, string> = {
  traces: 'rejectedSpans',
  metrics: 'rejectedDataPoints',
  logs: 'rejectedLogRecords',
};

/** The OTLP/JSON response: {} or {"partialSuccess": {"rejectedSpans": "3", "errorMessage": "..."}} (int64 as a string). */
export function exportResponseJson(signal: OtlpSignal, partial: PartialSuccess | null): string {
  if (!partial) return '{}';
  return JSON.stringify({
    partialSuccess: {
      [JSON_REJECTED_FIELD[signal]]: String(partial.rejected),
      errorMessage: partial.message,
    },
  });
}

const REASON_STATUS: Record<RejectReason, { http: number; grpc: grpc.status; rpc: number; retry: boolean }> =
  {
    invalid: { http: 400, grpc: grpc.status.INVALID_ARGUMENT, rpc: RPC.INVALID_ARGUMENT, retry: false },
    too_large: { http: 413, grpc: grpc.status.RESOURCE_EXHAUSTED, rpc: RPC.INVALID_ARGUMENT, retry: false },
    busy: { http: 429, grpc: grpc.status.RESOURCE_EXHAUSTED, rpc: RPC.RESOURCE_EXHAUSTED, retry: true },
    unavailable: { http: 503, grpc: grpc.status.UNAVAILABLE, rpc: RPC.UNAVAILABLE, retry: true },
    unsupported: { http: 415, grpc: grpc.status.INVALID_ARGUMENT, rpc: RPC.INVALID_ARGUMENT, retry: false },
    unauthenticated: { http: 401, grpc: grpc.status.UNAUTHENTICATED, rpc: RPC.UNAUTHENTICATED, retry: false },
    internal: { http: 500, grpc: grpc.status.INTERNAL, rpc: RPC.INTERNAL, retry: false },
  };

export async function startOtlpCollector(opts: OtlpCollectorOptions): Promise<OtlpCollector> {
  const host = opts.host ?? '127.0.0.1';
  const maxMessageBytes = opts.maxMessageBytes ?? 4 * 1024 * 1024;
  const limiter = new InFlightLimiter(opts.maxInFlightBytes ?? 64 * 1024 * 1024);
  const tenant = opts.tenant ?? 'default';
  const log = opts.log ?? silentLogger;
  const sink = opts.metrics ?? noopMetrics;
  const cm = new CollectorMetrics(sink, 'otlp');
  const now = opts.now ?? (() => new Date());
  const publisher = new Publisher(opts.bus, opts.objects, CE_SOURCE.collector('otlp'), now, cm);
  let closing = false;

  /** Transport-independent export handling; `raw` is what gets archived (protobuf or the JSON text). */
  async function handleExport(
    signal: OtlpSignal,
    transport: 'grpc' | 'http',
    raw: Uint8Array,
    format: 'pb' | 'json',
  ): Promise<Outcome> {
    cm.received(signal, transport, raw.length);
    if (closing) return { ok: false, reason: 'unavailable', message: 'collector is shutting down' };
    const release = limiter.acquire(raw.length);
    if (!release) {
      return {
        ok: false,
        reason: 'busy',
        message: `collector busy: ${limiter.inFlight} bytes in flight (limit ${limiter.maxBytes}); retry later`,
      };
    }
    cm.inFlight(limiter.inFlight);
    const started = performance.now();
    try {
      let proto = raw;
      if (format === 'json') {
        const t = otlpJsonToProto(signal, raw);
        if (!t.ok) return { ok: false, reason: 'invalid', message: t.error };
        proto = t.value;
      }
      // Per-resource triage: a malformed resource entry is rejected on its own (OTLP partial success) while the
      // well-formed ones are published; only a request whose own framing is broken is refused as a whole.
      const triage = triageExportRequest(signal, proto, {
        maxChunks: opts.maxResourcesPerRequest ?? 10_000,
      });
      if (!triage.ok) return { ok: false, reason: 'invalid', message: triage.error };
      const { accepted: chunks, rejected } = triage.value;
      if (chunks.length === 0 && rejected.length > 0) {
        return { ok: false, reason: 'invalid', message: partialSuccessMessage(signal, rejected) };
      }
      const partial: PartialSuccess | null =
        rejected.length === 0
          ? null
          : {
              rejected: rejected.reduce((n, r) => n + r.items, 0),
              message: partialSuccessMessage(signal, rejected),
            };
      if (chunks.length === 0) return { ok: true, resources: 0, partial: null };
      // The archive holds what was accepted: the raw request, or — when entries were rejected — the accepted
      // entries (concatenated single-entry requests are one valid request).
      if (partial) {
        await publisher.archive({ signal, tenant, body: concat(chunks.map((c) => c.bytes)), format: 'pb' });
      } else {
        await publisher.archive({ signal, tenant, body: raw, format });
      }
      const receivedat = now().toISOString();
      const published = await publisher.publish(
        TOPIC_OF[signal],
        chunks.map((c) => {
          const service = c.service ?? 'unknown_service';
          const ext: OtlpBatchExtensions = { signal, tenant, service, receivedat };
          return { key: service, data: c.bytes, extensions: { ...ext } };
        }),
      );
      if (partial) {
        cm.rejectedItems(signal, transport, partial.rejected);
        log.warn('otlp export partially accepted', { signal, transport, rejected: partial.rejected });
      }
      cm.published(signal, published, chunks.length);
      cm.publishLatency(signal, (performance.now() - started) / 1000);
      return { ok: true, resources: chunks.length, partial };
    } catch (e) {
      if (isUnavailable(e)) {
        log.warn('otlp export not accepted: dependency unavailable', { signal, error: e });
        return {
          ok: false,
          reason: 'unavailable',
          message: `temporarily unavailable: ${(e as Error).message}`,
        };
      }
      log.error('otlp export failed', { signal, error: e });
      return { ok: false, reason: 'internal', message: `internal error: ${(e as Error).message}` };
    } finally {
      release();
      cm.inFlight(limiter.inFlight);
    }
  }

  // ---- gRPC ----------------------------------------------------------------------------------------------------------
  let grpcServer: grpc.Server | null = null;
  let grpcPort = -1;
  if (opts.grpcPort !== null) {
    grpcServer = new grpc.Server({
      'grpc.max_receive_message_length': maxMessageBytes,
      'grpc.max_send_message_length': 1024 * 1024,
    });
    for (const signal of ['traces', 'metrics', 'logs'] as const) {
      const handler: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
        const bytes = new Uint8Array(call.request.buffer, call.request.byteOffset, call.request.byteLength);
        handleExport(signal, 'grpc', bytes, 'pb').then(
          (out) => {
            if (out.ok) {
              const reply = exportResponseBytes(out.partial);
              callback(null, Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength));
              return;
            }
            cm.rejected(signal, 'grpc', out.reason);
            const st = REASON_STATUS[out.reason];
            const metadata = new grpc.Metadata();
            if (st.retry) {
              metadata.set(
                'grpc-status-details-bin',
                Buffer.from(rpcStatusBytes(st.rpc, out.message, RETRY_AFTER_SECONDS)),
              );
            }
            callback({ code: st.grpc, details: out.message, metadata });
          },
          (e: unknown) => callback({ code: grpc.status.INTERNAL, details: String(e) }),
        );
      };
      grpcServer.addService(rawExportService(signal), { Export: handler });
    }
    const server = grpcServer;
    grpcPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync(
        `${host}:${opts.grpcPort ?? 4317}`,
        grpc.ServerCredentials.createInsecure(),
        (e, port) => (e ? reject(e) : resolve(port)),
      ),
    );
  }

  // ---- HTTP ----------------------------------------------------------------------------------------------------------
  async function onHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    if (serveOps(req, res, path, sink, () => !closing)) return;
    const signal = HTTP_PATHS[path];
    if (!signal) {
      send(res, 404, `no OTLP endpoint at ${path}; use /v1/traces, /v1/metrics or /v1/logs\n`, 'text/plain');
      return;
    }
    if (req.method !== 'POST') {
      send(res, 405, 'use POST\n', 'text/plain', { allow: 'POST' });
      return;
    }
    const ct = mediaType(req.headers['content-type']);
    const format = ct === 'application/x-protobuf' ? 'pb' : ct === 'application/json' ? 'json' : null;
    const reply = (reason: RejectReason, message: string) => {
      cm.rejected(signal, 'http', reason);
      const st = REASON_STATUS[reason];
      const headers: Record<string, string> = st.retry ? { 'retry-after': String(RETRY_AFTER_SECONDS) } : {};
      if (format === 'pb') {
        send(res, st.http, rpcStatusBytes(st.rpc, message), 'application/x-protobuf', headers);
      } else {
        send(res, st.http, JSON.stringify({ code: st.rpc, message }), 'application/json', headers);
      }
    };
    if (!format) {
      req.resume();
      reply(
        'unsupported',
        `unsupported Content-Type "${ct}": use application/x-protobuf or application/json`,
      );
      return;
    }
    let body: Uint8Array;
    try {
      const wire = await readBody(req, maxMessageBytes);
      body = await decodeContentEncoding(wire, req.headers['content-encoding'], maxMessageBytes);
    } catch (e) {
      if (e instanceof HttpError) reply(e.reason, e.message);
      else reply('invalid', `could not read the request body: ${(e as Error).message}`);
      return;
    }
    const out = await handleExport(signal, 'http', body, format);
    if (!out.ok) {
      reply(out.reason, out.message);
      return;
    }
    // An Export*ServiceResponse: empty (no bytes / {}) unless some resource entries were rejected.
    if (format === 'pb') send(res, 200, exportResponseBytes(out.partial), 'application/x-protobuf');
    else send(res, 200, exportResponseJson(signal, out.partial), 'application/json');
  }

  const responses = new ResponseTracker();
  let httpServer: HttpServer | null = null;
  let httpPort = -1;
  if (opts.httpPort !== null) {
    httpServer = createServer((req, res) => {
      responses.track(res);
      onHttp(req, res).catch((e: unknown) => {
        log.error('otlp http handler crashed', { error: e });
        send(res, 500, 'internal error\n', 'text/plain');
      });
    });
    const server = httpServer;
    httpPort = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.httpPort ?? 4318, host, () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  }

  log.info('otlp collector listening', { host, grpcPort, httpPort });

  return {
    grpcPort,
    httpPort,
    async close() {
      if (closing) return;
      closing = true;
      const timeoutMs = opts.drainTimeoutMs ?? 10_000;
      responses.closeAfterResponses();
      const httpClosed = httpServer
        ? new Promise<void>((resolve) => {
            httpServer!.close(() => resolve());
            httpServer!.closeIdleConnections();
          })
        : Promise.resolve();
      const grpcClosed = grpcServer
        ? new Promise<void>((resolve) => grpcServer!.tryShutdown(() => resolve()))
        : Promise.resolve();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      const r = await Promise.race([Promise.all([limiter.drain(), httpClosed, grpcClosed]), timedOut]);
      clearTimeout(timer);
      if (r === 'timeout') {
        log.warn('otlp collector drain timed out; closing connections', { inFlightBytes: limiter.inFlight });
        httpServer?.closeAllConnections();
        grpcServer?.forceShutdown();
      }
    },
  };
}
