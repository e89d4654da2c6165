/**
 * Knative host: one node:http server per service, fed by a KafkaSource (or a broker Trigger) for event stages and
 * serving HttpStage routes directly. It is a transport mapping only; processEvent does the work.
 *
 * Routes:
 *   GET  /healthz            liveness
 *   GET  /readyz             readiness (503 once closing)
 *   GET  /metrics            Prometheus text, when ctx.metrics can render it
 *   <HttpStage routes>       matchRoute(stage.routes)
 *   POST /<event-stage-name> events for that stage
 *   POST /                   events for the only event stage, or routed by topic when several share the server
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isRenderable, PROMETHEUS_CONTENT_TYPE } from '../observability.js';
import { matchRoute, type EventStage, type HttpStage, type Stage, type StageContext } from '../stage.js';
import {
  DEFAULT_MAX_BODY_BYTES,
  handleEventRequest,
  jsonResponse,
  readBody,
  runHttpStage,
  stageRequest,
  type RawResponse,
} from './http-util.js';

export interface KnativeServerOptions {
  /** 0 picks a free port (tests). */
  readonly port: number;
  readonly host?: string;
  /** Larger bodies get 413. Default 8 MiB. */
  readonly maxBodyBytes?: number;
  /** Retry-After on 503 answers. Default 2 seconds. */
  readonly retryAfterSeconds?: number;
}

export interface KnativeServer {
  listen(): Promise<{ port: number }>;
  /** Stops accepting connections and resolves once in-flight requests have been answered. */
  close(): Promise<void>;
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
}

function send(res: ServerResponse, r: RawResponse): void {
  if (res.headersSent) return;
  res.writeHead(r.status, { ...r.headers, 'content-length': String(r.body.length) });
  res.end(r.body);
}

export function createKnativeServer(
  stages: readonly Stage[] | Stage,
  ctx: StageContext,
  opts: KnativeServerOptions,
): KnativeServer {
  const list = Array.isArray(stages) ? (stages as readonly Stage[]) : [stages as Stage];
  if (list.length === 0) throw new Error('createKnativeServer needs at least one stage');
  const names = new Set<string>();
  for (const s of list) {
    if (names.has(s.name)) throw new Error(`two stages named "${s.name}" on one server`);
    names.add(s.name);
  }
  const eventStages = list.filter((s): s is EventStage => s.kind === 'event');
  const httpStages = list.filter((s): s is HttpStage => s.kind === 'http');
  const byName = new Map(eventStages.map((s) => [s.name, s]));
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const retryAfterSeconds = opts.retryAfterSeconds ?? 2;

  let closing = false;
  let inflight = 0;
  let drained: (() => void) | undefined;

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname;

    if (method === 'GET' && path === '/healthz') return send(res, jsonResponse(200, { status: 'ok' }));
    if (method === 'GET' && path === '/readyz') {
      return send(
        res,
        closing ? jsonResponse(503, { status: 'closing' }) : jsonResponse(200, { status: 'ready' }),
      );
    }
    if (method === 'GET' && path === '/metrics') {
      if (!isRenderable(ctx.metrics))
        return send(res, jsonResponse(404, { error: 'metrics are not exported here' }));
      return send(res, {
        status: 200,
        headers: { 'content-type': PROMETHEUS_CONTENT_TYPE },
        body: new TextEncoder().encode(ctx.metrics.render()),
      });
    }

    const httpStage = httpStages.find((s) => matchRoute(s.routes, method, path));
    const explicit = byName.get(path.slice(1));
    const eventTargets = explicit ? [explicit] : path === '/' ? eventStages : [];
    if (!httpStage && eventTargets.length === 0) {
      return send(res, jsonResponse(404, { error: 'not found', path }));
    }
    if (!httpStage && method !== 'POST') {
      return send(res, jsonResponse(405, { error: 'events must be POSTed' }, { allow: 'POST' }));
    }

    const body = await readBody(req, maxBody);
    if (!body.ok) {
      return send(
        res,
        jsonResponse(413, { error: 'payload too large', reason: body.error }, { connection: 'close' }),
      );
    }
    if (httpStage) {
      const r = await runHttpStage(
        httpStage,
        ctx,
        stageRequest(method, path, url.search.slice(1), req.headers, body.value),
      );
      return send(res, r);
    }
    send(
      res,
      await handleEventRequest(eventTargets, ctx, req.headers, body.value, 'knative', { retryAfterSeconds }),
    );
  }

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    inflight++;
    let settled = false;
    // A request counts as in flight until its answer has been handed to the socket (or the client went away).
    const settle = () => {
      if (settled) return;
      settled = true;
      inflight--;
      if (inflight === 0 && drained) drained();
    };
    res.once('finish', settle);
    res.once('close', settle);
    route(req, res).catch((e: unknown) => {
      ctx.log.error('knative host failed a request', { url: req.url, error: String(e) });
      send(res, jsonResponse(500, { error: 'internal error' }));
    });
  };

  let server: Server | undefined;

  return {
    handler,
    listen() {
      if (server) throw new Error('server is already listening');
      const s = createServer(handler);
      server = s;
      return new Promise((resolve, reject) => {
        s.once('error', reject);
        s.listen(opts.port, opts.host ?? '0.0.0.0', () => {
          s.off('error', reject);
          const addr = s.address();
          resolve({ port: typeof addr === 'object' && addr ? addr.port : opts.port });
        });
      });
    },
    async close() {
      closing = true;
      const s = server;
      const stopped = s
        ? new Promise<void>((resolve) => {
            s.close(() => resolve());
          })
        : Promise.resolve();
      s?.closeIdleConnections();
      if (inflight > 0) await new Promise<void>((resolve) => (drained = resolve));
      // Every answer has been written; what is left are idle keep-alive sockets.
      s?.closeAllConnections();
      await stopped;
    },
  };
}
