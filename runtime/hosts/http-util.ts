/**
 * Transport mapping shared by the HTTP-shaped hosts (Knative over node:http, Lambda behind a function URL or API
 * Gateway HTTP API): request bodies become Deliveries, Finals become status codes, and HttpStage requests and
 * responses are mapped in one place, so both hosts answer identically.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { UnavailableError } from '../../core/ports.js';
import { err, ok, type Result } from '../../core/result.js';
import { fromHttp, type CloudEvent, type HttpHeaders } from '../../events/cloudevents.js';
import { TOPICS, topicByCeType, topicByName } from '../../events/registry.js';
import { processEvent, triggerTopics, type Delivery, type Final } from '../process.js';
import type { EventStage, HttpRequest, HttpResponse, HttpStage, StageContext, Transport } from '../stage.js';

export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
/** The CloudEvents type a KafkaSource gives Kafka records that are not CloudEvents themselves. */
export const KAFKA_SOURCE_EVENT_TYPE = 'dev.knative.kafka.event';

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
}

const utf8 = new TextDecoder();
const encoder = new TextEncoder();

export function jsonResponse(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): RawResponse {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: encoder.encode(JSON.stringify(body)),
  };
}

/** Lower-cases header names and joins repeated values, as HTTP allows. */
export function normaliseHeaders(h: HttpHeaders): Record<string, string> {
  const o: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    o[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : (v as string);
  }
  return o;
}

/** Repeated query parameters are joined with ',' (what API Gateway does with queryStringParameters). */
export function parseQuery(raw: string): Record<string, string> {
  const q: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(raw)) q[k] = k in q ? `${q[k]},${v}` : v;
  return q;
}

/** Reads a request body, refusing (without buffering) anything over `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<Result<Uint8Array, string>> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.resolve(err(`request body of ${declared} bytes exceeds the limit of ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        resolve(err(`request body exceeds the limit of ${limit} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!over) resolve(ok(new Uint8Array(Buffer.concat(chunks))));
    });
    req.on('error', reject);
  });
}

function uuidFrom(text: string): string {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

// ---- inbound mapping ------------------------------------------------------------------------------------------

/**
 * A KafkaSource wraps a Kafka record that is not a CloudEvent as `dev.knative.kafka.event` with
 * source `/apis/v1/namespaces/<ns>/kafkasources/<name>#<topic>`, subject `partition:<p>#<offset>`,
 * id `partition:<p>/offset:<o>` and the record key in the `key` extension. The topic in the source fragment tells
 * the registry what the payload is, exactly as `deliveryFromRecord` does for a raw Kafka record.
 */
export function unwrapKafkaSourceEvent(ev: CloudEvent, transport: Transport): Delivery {
  const hash = ev.source.lastIndexOf('#');
  const topic = hash >= 0 && hash < ev.source.length - 1 ? ev.source.slice(hash + 1) : undefined;
  const bySubject = /^partition:(\d+)#(\d+)$/.exec(ev.subject ?? '');
  const byId = /^partition:(\d+)\/offset:(\d+)$/.exec(ev.id);
  const pos = bySubject ?? byId;
  const partition = pos ? Number(pos[1]) : undefined;
  const offset = pos ? pos[2] : undefined;
  const def = topic ? topicByName(topic) : undefined;
  const event: CloudEvent = def
    ? {
        ...ev,
        // The same id a raw Kafka record gets in deliveryFromRecord, so emits are identical across hosts.
        id: `${topic}/${partition ?? 0}/${offset ?? ev.id}`,
        type: def.ceType,
        datacontenttype: def.contentType,
      }
    : ev;
  return {
    event,
    transport,
    key: ev.extensions['key'] ?? null,
    ...(topic !== undefined ? { topic } : {}),
    ...(partition !== undefined ? { partition } : {}),
    ...(offset !== undefined ? { offset } : {}),
    attempt: 1,
  };
}

function cloudEventDelivery(ev: CloudEvent, transport: Transport): Delivery {
  if (ev.type === KAFKA_SOURCE_EVENT_TYPE) return unwrapKafkaSourceEvent(ev, transport);
  return {
    event: ev,
    transport,
    key: ev.extensions['partitionkey'] ?? ev.extensions['key'] ?? null,
    attempt: 1,
  };
}

function looksLikeObjectNotification(o: unknown): boolean {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return false;
  const r = o as Record<string, unknown>;
  const records = r['Records'];
  if (!Array.isArray(records)) return false;
  if (typeof r['EventName'] === 'string') return true; // MinIO webhook target
  const first = records[0] as Record<string, unknown> | undefined;
  return typeof first?.['eventSource'] === 'string' && String(first['eventSource']).endsWith(':s3');
}

/**
 * Wraps an S3-style notification (MinIO webhook body, raw AWS S3 notification, or one record of a Lambda S3 event)
 * as a delivery on the object-created topic. The payload is validated later by processEvent like any other.
 */
export function objectNotificationDelivery(
  body: Uint8Array,
  transport: Transport,
  meta: { source: string; time?: string; idSeed?: string },
): Delivery {
  const def = TOPICS.objectsCreated;
  return {
    event: {
      specversion: '1.0',
      id: uuidFrom(meta.idSeed ?? Buffer.from(body).toString('base64')),
      source: meta.source,
      type: def.ceType,
      ...(meta.time ? { time: meta.time } : {}),
      datacontenttype: def.contentType,
      extensions: {},
      data: body,
    },
    transport,
    key: null,
    topic: def.name,
    attempt: 1,
  };
}

/**
 * Turns an HTTP request body into deliveries: CloudEvents in binary, structured or batched mode (KafkaSource-wrapped
 * records are unwrapped), or an S3/MinIO notification without CloudEvents headers. Anything else is an error that
 * the caller reports as 400.
 */
export function deliveriesFromHttp(
  headers: HttpHeaders,
  body: Uint8Array,
  transport: Transport,
): Result<Delivery[], string> {
  const h = normaliseHeaders(headers);
  const ce = fromHttp(h, body);
  if (ce.ok) {
    if (ce.value.length === 0) return err('batched CloudEvents body is an empty array');
    return ok(ce.value.map((ev) => cloudEventDelivery(ev, transport)));
  }
  const claimsCloudEvent =
    h['ce-specversion'] !== undefined || (h['content-type'] ?? '').includes('cloudevents');
  if (!claimsCloudEvent) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(utf8.decode(body));
    } catch {
      parsed = undefined;
    }
    if (looksLikeObjectNotification(parsed)) {
      const minio = typeof (parsed as Record<string, unknown>)['EventName'] === 'string';
      return ok([
        objectNotificationDelivery(body, transport, {
          source: minio ? '/slo-scout/webhooks/minio' : '/slo-scout/webhooks/s3',
        }),
      ]);
    }
  }
  return err(ce.error);
}

/** The event stages of a server that consume a delivery (by CloudEvents type, else by the known topic). */
export function consumersOf(stages: readonly EventStage[], d: Delivery): EventStage[] {
  const def = topicByCeType(d.event.type) ?? (d.topic ? topicByName(d.topic) : undefined);
  if (!def) return [];
  return stages.filter((s) => triggerTopics(s).includes(def.name));
}

export interface EventResponseOptions {
  readonly retryAfterSeconds?: number;
}

type Routed = { readonly delivery: Delivery; readonly stage: EventStage };

/**
 * Runs an HTTP event request through processEvent and maps the outcome:
 * - every delivery acked (done, dead-lettered or ignored) -> 202 with {outcome};
 * - any delivery needing a retry -> 503 with Retry-After (Knative delivery and API Gateway clients retry 5xx);
 * - a body that is not a CloudEvent or object notification at all -> 400. Knative does not retry 4xx other than
 *   404/409/429, so such a request goes to the trigger's own dead-letter sink, which is the right place for it.
 * With one stage, every delivery goes to it (processEvent dead-letters what it does not consume). With several,
 * deliveries are routed by topic; one that no stage consumes is a 400 as well.
 */
export async function handleEventRequest(
  stages: readonly EventStage[],
  ctx: StageContext,
  headers: HttpHeaders,
  body: Uint8Array,
  transport: Transport,
  opts: EventResponseOptions = {},
): Promise<RawResponse> {
  const parsed = deliveriesFromHttp(headers, body, transport);
  if (!parsed.ok) return jsonResponse(400, { error: 'bad request', reason: parsed.error });
  const routed: Routed[] = [];
  for (const d of parsed.value) {
    const targets = stages.length === 1 ? stages : consumersOf(stages, d);
    if (targets.length === 0) {
      return jsonResponse(400, {
        error: 'bad request',
        reason: `no stage on this server consumes events of type "${d.event.type}"; POST to /<stage-name> instead`,
      });
    }
    for (const stage of targets) routed.push({ delivery: d, stage });
  }
  const results: { id: string; stage: string; final: Final }[] = [];
  for (const r of routed) {
    results.push({
      id: r.delivery.event.id,
      stage: r.stage.name,
      final: await processEvent(r.stage, ctx, r.delivery),
    });
  }
  return eventResponse(results, opts);
}

export function eventResponse(
  results: readonly { id: string; stage: string; final: Final }[],
  opts: EventResponseOptions = {},
): RawResponse {
  const view = results.map((r) =>
    r.final.result === 'acked'
      ? {
          id: r.id,
          stage: r.stage,
          outcome: r.final.outcome,
          ...(r.final.reason ? { reason: r.final.reason } : {}),
        }
      : { id: r.id, stage: r.stage, outcome: 'retry', reason: r.final.reason },
  );
  const retry = results.find((r) => r.final.result === 'retry');
  const status = retry ? 503 : 202;
  const extra: Record<string, string> = retry ? { 'retry-after': String(opts.retryAfterSeconds ?? 2) } : {};
  if (view.length === 1) return jsonResponse(status, view[0], extra);
  return jsonResponse(status, { outcome: retry ? 'retry' : 'acked', results: view }, extra);
}

// ---- HttpStage mapping ------------------------------------------------------------------------------------------

export function stageRequest(
  method: string,
  path: string,
  rawQuery: string,
  headers: HttpHeaders,
  body: Uint8Array,
): HttpRequest {
  return {
    method: method.toUpperCase(),
    path,
    query: parseQuery(rawQuery),
    headers: normaliseHeaders(headers),
    body,
  };
}

/** Object bodies become JSON, strings UTF-8 text, bytes pass through; the stage's own content-type wins. */
export function stageResponse(res: HttpResponse): RawResponse {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers ?? {})) headers[k.toLowerCase()] = v;
  let body: Uint8Array;
  if (res.body === undefined) body = new Uint8Array();
  else if (res.body instanceof Uint8Array) {
    body = res.body;
    headers['content-type'] ??= 'application/octet-stream';
  } else if (typeof res.body === 'string') {
    body = encoder.encode(res.body);
    headers['content-type'] ??= 'text/plain; charset=utf-8';
  } else {
    body = encoder.encode(JSON.stringify(res.body));
    headers['content-type'] ??= 'application/json; charset=utf-8';
  }
  return { status: res.status, headers, body };
}

/** Calls an HttpStage; an outage of a port is 503 (retryable), any other exception a 500 with a logged error. */
export async function runHttpStage(
  stage: HttpStage,
  ctx: StageContext,
  req: HttpRequest,
): Promise<RawResponse> {
  try {
    return stageResponse(await stage.handle(req, ctx));
  } catch (e) {
    if (e instanceof UnavailableError) {
      return jsonResponse(503, { error: 'unavailable', reason: e.message }, { 'retry-after': '2' });
    }
    ctx.log.error('http stage threw', { stage: stage.name, path: req.path, error: String(e) });
    return jsonResponse(500, { error: 'internal error' });
  }
}
