/**
 * AWS Lambda host. The base handler is a plain async function (exported for tests); `lambdaHandler` wraps it with
 * middy and nothing else, so middlewares can be added by the deployment without touching the mapping.
 *
 * Event shapes handled:
 * - Amazon MSK (`eventSource: "aws:kafka"`) and self-managed Kafka (`"SelfManagedKafka"`): `records` keyed by
 *   `<topic>-<partition>`, values/keys base64, headers as `[{name: byte[]}]`. Records needing a retry are reported as
 *   a partial batch response. For Kafka event source mappings (with `ReportBatchItemFailures` enabled) the
 *   `itemIdentifier` is an object naming the topic-partition and the offset, `{ partition: "<topic>-<partition>",
 *   offset: <number> }`, not a string as for SQS/Kinesis; Lambda resumes each reported partition from the lowest
 *   reported offset. (Shape as produced by AWS's own Powertools batch processor and the Rust runtime's
 *   KafkaEventResponse.)
 * - S3 notifications (`Records[].eventSource: "aws:s3"`): each record becomes a delivery on the object-created topic.
 *   S3 invokes asynchronously and has no partial batch response, so any record needing a retry fails the whole
 *   invocation (Lambda's async retry then re-runs it; acked records are idempotent by event id).
 * - Function URL / API Gateway HTTP API (payload v2): HttpStages are routed with matchRoute; event stages accept
 *   CloudEvents (binary, structured, batched) or S3/MinIO notification bodies, mapped exactly like the Knative host.
 */
import middy from '@middy/core';
import { createHash } from 'node:crypto';
import { deliveryFromRecord, processEvent, type Final } from '../process.js';
import { matchRoute, type EventStage, type Stage, type StageContext } from '../stage.js';
import {
  handleEventRequest,
  jsonResponse,
  objectNotificationDelivery,
  runHttpStage,
  stageRequest,
  type RawResponse,
} from './http-util.js';

export interface KafkaItemIdentifier {
  /** The `records` map key: `<topic>-<partition>`. */
  readonly partition: string;
  readonly offset: number;
}

export interface KafkaBatchResponse {
  batchItemFailures: { itemIdentifier: KafkaItemIdentifier }[];
}

export interface HttpResultV2 {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: boolean;
}

export interface S3Summary {
  readonly records: number;
  readonly outcomes: readonly string[];
}

export type LambdaResult = KafkaBatchResponse | HttpResultV2 | S3Summary;

interface KafkaRecordShape {
  topic: string;
  partition: number;
  offset: number;
  timestamp?: number;
  timestampType?: string;
  key?: string | null;
  value?: string | null;
  headers?: Record<string, number[]>[];
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function kafkaHeaders(list: KafkaRecordShape['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of list ?? []) {
    for (const [name, bytes] of Object.entries(entry)) {
      // Lambda serialises header bytes as (possibly signed) numbers.
      out[name] = Buffer.from(bytes.map((b) => b & 0xff)).toString('utf8');
    }
  }
  return out;
}

function b64(v: string | null | undefined): Uint8Array {
  return v ? new Uint8Array(Buffer.from(v, 'base64')) : new Uint8Array();
}

async function handleKafka(stage: EventStage, ctx: StageContext, event: Json): Promise<KafkaBatchResponse> {
  const records = event['records'];
  if (!isObj(records)) throw new Error('Kafka event without a "records" object');
  const failures: { itemIdentifier: KafkaItemIdentifier }[] = [];
  // Partitions are independent; records within one are processed in offset order.
  await Promise.all(
    Object.entries(records).map(async ([tp, list]) => {
      if (!Array.isArray(list)) throw new Error(`Kafka event records["${tp}"] is not an array`);
      let blocked: string | undefined;
      for (const r of (list as KafkaRecordShape[]).slice().sort((a, b) => a.offset - b.offset)) {
        const itemIdentifier = { partition: `${r.topic}-${r.partition}`, offset: r.offset };
        if (blocked !== undefined) {
          // An earlier record of this partition needs a retry; Lambda resumes from it, so this one comes again.
          failures.push({ itemIdentifier });
          continue;
        }
        const d = deliveryFromRecord(
          {
            headers: kafkaHeaders(r.headers),
            value: b64(r.value),
            key: r.key ? Buffer.from(r.key, 'base64').toString('utf8') : null,
            topic: r.topic,
            partition: r.partition,
            offset: String(r.offset),
          },
          'lambda',
        );
        const f = await processEvent(stage, ctx, d);
        if (f.result === 'retry') {
          blocked = f.reason;
          failures.push({ itemIdentifier });
        }
      }
    }),
  );
  failures.sort(
    (a, b) =>
      a.itemIdentifier.partition.localeCompare(b.itemIdentifier.partition) ||
      a.itemIdentifier.offset - b.itemIdentifier.offset,
  );
  return { batchItemFailures: failures };
}

async function handleS3(stage: EventStage, ctx: StageContext, records: unknown[]): Promise<S3Summary> {
  const finals: Final[] = [];
  for (const rec of records) {
    const r = isObj(rec) ? rec : {};
    const s3 = isObj(r['s3']) ? r['s3'] : {};
    const bucket =
      isObj(s3['bucket']) && typeof s3['bucket']['name'] === 'string' ? s3['bucket']['name'] : '';
    const obj = isObj(s3['object']) ? s3['object'] : {};
    const seed = createHash('sha256').update(JSON.stringify(rec)).digest('hex');
    const d = objectNotificationDelivery(
      new TextEncoder().encode(JSON.stringify({ Records: [rec] })),
      'lambda',
      {
        source: bucket ? `arn:aws:s3:::${bucket}` : 'aws:s3',
        ...(typeof r['eventTime'] === 'string' ? { time: r['eventTime'] } : {}),
        idSeed: `${bucket}/${String(obj['key'])}/${String(obj['sequencer'] ?? seed)}`,
      },
    );
    finals.push(await processEvent(stage, ctx, d));
  }
  const retries = finals.filter((f): f is Extract<Final, { result: 'retry' }> => f.result === 'retry');
  if (retries.length) {
    throw new Error(
      `${retries.length} of ${finals.length} S3 records need a retry: ${retries.map((f) => f.reason).join('; ')}`,
    );
  }
  return {
    records: finals.length,
    outcomes: finals.map((f) => (f.result === 'acked' ? f.outcome : 'retry')),
  };
}

function toResultV2(r: RawResponse): HttpResultV2 {
  const ct = r.headers['content-type'] ?? '';
  const text = /^(text\/|application\/(json|xml|yaml|x-yaml|javascript)|[^;]*\+json)/.test(ct);
  return {
    statusCode: r.status,
    headers: r.headers,
    body: Buffer.from(r.body).toString(text ? 'utf8' : 'base64'),
    isBase64Encoded: !text,
  };
}

async function handleHttpV2(stage: Stage, ctx: StageContext, event: Json): Promise<HttpResultV2> {
  const rc = event['requestContext'] as Json;
  const http = rc['http'] as Json;
  const method = String(http['method']).toUpperCase();
  const path = typeof event['rawPath'] === 'string' ? event['rawPath'] : String(http['path'] ?? '/');
  const rawQuery = typeof event['rawQueryString'] === 'string' ? event['rawQueryString'] : '';
  const headers: Record<string, string> = {};
  if (isObj(event['headers'])) {
    for (const [k, v] of Object.entries(event['headers']))
      if (typeof v === 'string') headers[k.toLowerCase()] = v;
  }
  if (Array.isArray(event['cookies']) && event['cookies'].length)
    headers['cookie'] = event['cookies'].join('; ');
  const rawBody = typeof event['body'] === 'string' ? event['body'] : '';
  const body = new Uint8Array(Buffer.from(rawBody, event['isBase64Encoded'] === true ? 'base64' : 'utf8'));

  if (stage.kind === 'http') {
    if (!matchRoute(stage.routes, method, path))
      return toResultV2(jsonResponse(404, { error: 'not found', path }));
    return toResultV2(await runHttpStage(stage, ctx, stageRequest(method, path, rawQuery, headers, body)));
  }
  if (method !== 'POST')
    return toResultV2(jsonResponse(405, { error: 'events must be POSTed' }, { allow: 'POST' }));
  return toResultV2(await handleEventRequest([stage], ctx, headers, body, 'lambda'));
}

export type LambdaBaseHandler = (event: unknown, context?: unknown) => Promise<LambdaResult>;

/**
 * The plain handler. The context is created once per container (the promise is cached; a failed creation is
 * retried on the next invocation).
 */
export function lambdaBaseHandler(stage: Stage, makeCtx: () => Promise<StageContext>): LambdaBaseHandler {
  let cached: Promise<StageContext> | undefined;
  const getCtx = (): Promise<StageContext> =>
    (cached ??= makeCtx().catch((e: unknown) => {
      cached = undefined;
      throw e;
    }));

  const eventOnly = (what: string): EventStage => {
    if (stage.kind !== 'event')
      throw new Error(`stage ${stage.name} is an HTTP stage and cannot consume ${what}`);
    return stage;
  };

  return async (event: unknown): Promise<LambdaResult> => {
    if (!isObj(event)) throw new Error(`unrecognised Lambda event: expected an object, got ${typeof event}`);
    const source = event['eventSource'];
    if ((source === 'aws:kafka' || source === 'SelfManagedKafka') && isObj(event['records'])) {
      return handleKafka(eventOnly(`${source} events`), await getCtx(), event);
    }
    const records = event['Records'];
    if (
      Array.isArray(records) &&
      records.length > 0 &&
      isObj(records[0]) &&
      records[0]['eventSource'] === 'aws:s3'
    ) {
      return handleS3(eventOnly('S3 events'), await getCtx(), records);
    }
    const rc = event['requestContext'];
    if (isObj(rc) && isObj(rc['http']) && typeof rc['http']['method'] === 'string') {
      return handleHttpV2(stage, await getCtx(), event);
    }
    const keys = Object.keys(event).slice(0, 8).join(', ');
    throw new Error(
      `unrecognised Lambda event for stage ${stage.name}: expected MSK/self-managed Kafka, S3, or an HTTP API v2 / ` +
        `function URL request (top-level keys: ${keys})`,
    );
  };
}

/** The deployable handler: middy around the plain base handler. */
export function lambdaHandler(stage: Stage, makeCtx: () => Promise<StageContext>) {
  return middy(lambdaBaseHandler(stage, makeCtx));
}
