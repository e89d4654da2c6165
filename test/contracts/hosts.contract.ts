/**
 * Cross-host contract: the same stage declaration must behave the same whether it runs in-process over the bus
 * (local host), behind a real node:http server as a Knative service fed by a KafkaSource, or as a Lambda behind
 * middy fed by MSK / self-managed Kafka / S3 / HTTP API events. Input shapes come from test/fixtures/events/
 * (captured structures of the real platform events) with our payloads patched in.
 *
 * For each case:
 * - valid input -> acked, and the expected emits land on the bus as valid registry events;
 * - schema-invalid input -> dead letter on slo-scout.dlq.v1 whose reason names the failing field; the host acks;
 * - handler retryable -> Knative 503 + Retry-After, Lambda reports the record in batchItemFailures (S3: the
 *   invocation fails), the local host retries in-process and then dead-letters with "retries exhausted";
 * - bus unavailable while emitting -> retry everywhere, nothing is acked (cases that emit something).
 *
 * `makeCtx(bus)` must build a StageContext around the given bus (the suite watches and breaks that bus); it is called
 * once per test, so cache expensive ports (a database) inside it.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Bus, BusRecord } from '../../core/ports.js';
import {
  newEvent,
  toBusRecord,
  toHttpBinary,
  toStructured,
  type CloudEvent,
} from '../../events/cloudevents.js';
import { TOPICS, topicByCeType, type TopicId } from '../../events/registry.js';
import type { DeadLetter, ObjectCreatedNotification } from '../../events/schemas.js';
import { decodePayload } from '../../events/validate.js';
import { createKnativeServer, type KnativeServerOptions } from '../../runtime/hosts/knative.js';
import { lambdaHandler, type HttpResultV2, type KafkaBatchResponse } from '../../runtime/hosts/lambda.js';
import { startLocalHost } from '../../runtime/hosts/local.js';
import { normaliseObjectCreated } from '../../runtime/process.js';
import {
  retryable,
  type EventStage,
  type HttpStage,
  type Inbound,
  type Stage,
  type StageContext,
} from '../../runtime/stage.js';
import { RecordingBus, waitUntil } from '../support/test-bus.js';

export interface EventStageCase {
  readonly stage: EventStage;
  /**
   * A valid input. Topic triggers: a payload for one of the stage's topics. Object triggers: an S3 or MinIO
   * notification (topic objectsCreated) whose first record's key is under the stage's prefix.
   */
  readonly valid: { readonly topic: TopicId; readonly key: string | null; readonly data: unknown };
  /** A payload for the same topic that violates its schema, and a field name the dead-letter reason must mention. */
  readonly invalid: { readonly data: unknown; readonly field: string };
  /** Records a valid input must emit: exactly `count` on each topic, or at least one when count is omitted. */
  readonly emits: readonly { readonly topic: TopicId; readonly count?: number }[];
}

export interface HttpStageCase {
  readonly stage: HttpStage;
  readonly request: {
    readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
    readonly path: string;
    readonly query?: string;
    readonly headers?: Readonly<Record<string, string>>;
    readonly body?: string;
  };
  readonly expect: { readonly status: number; readonly body?: (body: unknown) => void };
}

export type HostCase = EventStageCase | HttpStageCase;
export type MakeCtx = (bus: Bus) => Promise<StageContext>;

// ---- fixtures and builders ----------------------------------------------------------------------------------------

const FIXTURES = new URL('../fixtures/events/', import.meta.url);

/** A captured event shape from test/fixtures/events (a fresh copy each call). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function fixture<T = any>(name: string): T {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as T;
}

export interface HttpFixture {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

const encoder = new TextEncoder();
const SOURCE = '/slo-scout/tests/hosts-contract';
const DLQ = TOPICS.deadLetters.name;
export const RETRY_KEY = 'retry-me';
export const FORCED = 'forced retry by the hosts contract';

export function payloadBytes(data: unknown): Uint8Array {
  return data instanceof Uint8Array ? data : encoder.encode(JSON.stringify(data));
}

/** An HTTP fixture's body as bytes (JSON values are serialised, strings sent as they are). */
export function fixtureBody(f: HttpFixture): Uint8Array {
  return typeof f.body === 'string' ? encoder.encode(f.body) : payloadBytes(f.body);
}

function eventFor(c: EventStageCase, data?: Uint8Array): CloudEvent {
  const ev = newEvent(TOPICS[c.valid.topic], { source: SOURCE, data: c.valid.data });
  return data ? { ...ev, data } : ev;
}

/** Transport headers of a fixture (tracing, proxies) without its CloudEvents attributes and content type. */
function transportHeaders(f: HttpFixture): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(f.headers)) {
    if (!k.startsWith('ce-') && k !== 'content-type' && k !== 'content-length') out[k] = v;
  }
  return out;
}

export function knativeBinary(ev: CloudEvent): { headers: Record<string, string>; body: Uint8Array } {
  const bin = toHttpBinary(ev);
  return {
    headers: { ...transportHeaders(fixture('knative-kafkasource-binary.json')), ...bin.headers },
    body: bin.body,
  };
}

export function knativeStructured(ev: CloudEvent): { headers: Record<string, string>; body: Uint8Array } {
  const f = fixture<HttpFixture>('knative-kafkasource-structured.json');
  return {
    headers: { ...transportHeaders(f), 'content-type': f.headers['content-type']! },
    body: payloadBytes(toStructured(ev)),
  };
}

/** A KafkaSource delivery of a Kafka record that is not a CloudEvent (`dev.knative.kafka.event`). */
export function knativeWrapped(
  topic: TopicId,
  key: string | null,
  value: Uint8Array,
  pos: { partition: number; offset: number },
): { headers: Record<string, string> } & { body: Uint8Array } {
  const f = fixture<HttpFixture>('knative-kafka-event-wrapped.json');
  const def = TOPICS[topic];
  const source = f.headers['ce-source']!.replace(/#.*$/, `#${def.name}`);
  const headers: Record<string, string> = {
    ...f.headers,
    'ce-source': source,
    'ce-id': `partition:${pos.partition}/offset:${pos.offset}`,
    'ce-subject': `partition:${pos.partition}#${pos.offset}`,
    'content-type': def.contentType,
    'ce-kafkaheadercontenttype': def.contentType,
  };
  if (key === null) delete headers['ce-key'];
  else headers['ce-key'] = encodeURIComponent(key);
  return { headers, body: value };
}

export interface KafkaRecordSpec {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: Uint8Array;
  headers: Readonly<Record<string, string>>;
}

/** An MSK or self-managed Kafka Lambda event with the fixture's envelope and record shape. */
export function kafkaLambdaEvent(kind: 'msk' | 'self-managed', records: readonly KafkaRecordSpec[]): unknown {
  const fx = fixture<{ records: Record<string, Record<string, unknown>[]> }>(
    kind === 'msk' ? 'msk-event.json' : 'self-managed-kafka-event.json',
  );
  const template = Object.values(fx.records)[0]![0]!;
  const out: Record<string, Record<string, unknown>[]> = {};
  for (const r of records) {
    const rec: Record<string, unknown> = {
      ...template,
      topic: r.topic,
      partition: r.partition,
      offset: r.offset,
      value: Buffer.from(r.value).toString('base64'),
      headers: Object.entries(r.headers).map(([k, v]) => ({ [k]: [...Buffer.from(v, 'utf8')] })),
    };
    if (r.key === null) delete rec['key'];
    else rec['key'] = Buffer.from(r.key, 'utf8').toString('base64');
    (out[`${r.topic}-${r.partition}`] ??= []).push(rec);
  }
  return { ...fx, records: out };
}

function s3Key(key: string, dialect: 'aws' | 'minio'): string {
  const enc = encodeURIComponent(key).replace(/%20/g, '+');
  return dialect === 'aws' ? enc.replace(/%2F/g, '/') : enc;
}

/** The fixture's S3 / MinIO notification with the bucket and key of the case's first object. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function objectNotification(dialect: 'aws' | 'minio', bucket: string, key: string): any {
  const n = fixture(dialect === 'aws' ? 's3-put-event.json' : 'minio-webhook-put.json');
  const r = n.Records[0];
  r.s3.bucket.name = bucket;
  r.s3.bucket.arn = `arn:aws:s3:::${bucket}`;
  r.s3.object.key = s3Key(key, dialect);
  if (dialect === 'minio') n.Key = `${bucket}/${key}`;
  return n;
}

export function apiGatewayEvent(
  name: 'function-url-get.json' | 'apigw-v2-post-cloudevent.json',
  req: { method: string; path: string; query?: string; headers?: Record<string, string>; body?: Uint8Array },
): unknown {
  const e = fixture(name);
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(e.headers as Record<string, string>)) {
    if (!k.startsWith('ce-') && k !== 'content-type' && k !== 'content-length') base[k] = v;
  }
  e.rawPath = req.path;
  e.rawQueryString = req.query ?? '';
  e.requestContext.http.method = req.method;
  e.requestContext.http.path = req.path;
  e.routeKey = '$default';
  e.requestContext.routeKey = '$default';
  e.headers = { ...base, ...(req.headers ?? {}) };
  if (req.body && req.body.length) {
    e.body = Buffer.from(req.body).toString('base64');
    e.isBase64Encoded = true;
  } else {
    delete e.body;
    e.isBase64Encoded = false;
  }
  return e;
}

export function parseHttpV2(r: HttpResultV2): unknown {
  const text = Buffer.from(r.body, r.isBase64Encoded ? 'base64' : 'utf8').toString('utf8');
  return (r.headers['content-type'] ?? '').includes('json') ? JSON.parse(text) : text;
}

// ---- stage instrumentation -------------------------------------------------------------------------------------

/** Counts handler calls and can force a retryable outcome for chosen inputs. */
export function instrument(
  stage: EventStage,
  retryWhen: (input: Inbound<unknown>) => boolean = () => false,
): { stage: EventStage; calls: () => number } {
  let calls = 0;
  const wrapped: EventStage = {
    ...stage,
    handle: async (input, ctx) => {
      calls++;
      if (retryWhen(input)) return retryable(FORCED);
      return stage.handle(input, ctx);
    },
  };
  return { stage: wrapped, calls: () => calls };
}

// ---- assertions -----------------------------------------------------------------------------------------------

async function expectEmits(bus: RecordingBus, c: EventStageCase, times = 1): Promise<void> {
  for (const e of c.emits) {
    const def = TOPICS[e.topic];
    const want = (e.count ?? 1) * times;
    await bus.waitFor(def.name, want);
    const events = bus.events(def.name);
    if (e.count !== undefined) expect(events.length).toBe(want);
    for (const ev of events) {
      expect(topicByCeType(ev.type)?.name).toBe(def.name);
      const decoded = decodePayload(def, ev.data);
      expect(decoded.ok ? 'valid' : decoded.error).toBe('valid');
    }
  }
}

async function expectDeadLetter(
  bus: RecordingBus,
  stage: string,
  transport: string,
  match: string | RegExp,
): Promise<DeadLetter> {
  await bus.waitFor(DLQ, 1);
  const letters = bus.payloads<DeadLetter>(DLQ);
  expect(letters).toHaveLength(1);
  const dl = letters[0]!;
  expect(dl.stage).toBe(stage);
  expect(dl.source.transport).toBe(transport);
  if (typeof match === 'string') expect(dl.reason).toContain(match);
  else expect(dl.reason).toMatch(match);
  const check = decodePayload(TOPICS.deadLetters, bus.records(DLQ)[0]!.value);
  expect(check.ok).toBe(true);
  return dl;
}

function emitTopics(c: EventStageCase): string[] {
  return c.emits.map((e) => TOPICS[e.topic].name);
}

// ---- HTTP helpers -------------------------------------------------------------------------------------------------

export interface Reply {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export async function send(
  base: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: Uint8Array | string },
): Promise<Reply> {
  const res = await fetch(base + path, {
    method: init.method ?? 'POST',
    headers: init.headers ?? {},
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  const text = await res.text();
  const json = (res.headers.get('content-type') ?? '').includes('json');
  return { status: res.status, headers: res.headers, body: json && text ? JSON.parse(text) : text };
}

export async function withKnative<T>(
  stages: Stage | readonly Stage[],
  ctx: StageContext,
  fn: (base: string) => Promise<T>,
  opts: Partial<KnativeServerOptions> = {},
): Promise<T> {
  const server = createKnativeServer(stages, ctx, { port: 0, host: '127.0.0.1', ...opts });
  const { port } = await server.listen();
  try {
    return await fn(`http://127.0.0.1:${port}`);
  } finally {
    await server.close();
  }
}

// ---- the suite ----------------------------------------------------------------------------------------------------

export function hostsContract(cases: readonly HostCase[], makeCtx: MakeCtx): void {
  for (const c of cases) {
    if (c.stage.kind === 'event') eventStageContract(c as EventStageCase, makeCtx);
    else httpStageContract(c as HttpStageCase, makeCtx);
  }
}

function eventStageContract(c: EventStageCase, makeCtx: MakeCtx): void {
  const def = TOPICS[c.valid.topic];
  const objects = c.stage.trigger.kind === 'object';
  const first = objects ? normaliseObjectCreated(c.valid.data as ObjectCreatedNotification)[0] : undefined;
  if (objects && !first)
    throw new Error(`case ${c.stage.name}: valid data must be an object-created notification`);
  const emitsSomething = c.emits.length > 0;
  // A stage that emits nothing is acked even while the bus is down, so the outage scenarios do not apply to it.
  const itWhenEmitting = (name: string, fn: () => Promise<void>) => {
    if (emitsSomething) it(name, fn);
  };

  describe(`hosts contract: ${c.stage.name}`, () => {
    let bus: RecordingBus;
    let ctx: StageContext;
    beforeEach(async () => {
      bus = await RecordingBus.memory();
      ctx = await makeCtx(bus);
    });
    afterEach(async () => {
      await bus.close();
    });

    /** A bus record carrying the valid input: a binary-mode CloudEvent, or raw notification JSON (MinIO's Kafka target). */
    const validRecord = (raw: boolean): BusRecord =>
      raw
        ? { key: c.valid.key, value: payloadBytes(c.valid.data), headers: {} }
        : toBusRecord(eventFor(c), c.valid.key);

    describe('local host', () => {
      const runLocal = async (
        stage: EventStage,
        records: readonly BusRecord[],
        opts: { maxAttempts?: number } = {},
        until: () => boolean,
        what: string,
      ) => {
        const host = await startLocalHost([stage], ctx, { backoffMs: 1, ...opts });
        try {
          await bus.inject(def.name, records);
          await waitUntil(until, 10_000, () => what);
        } finally {
          await host.close();
        }
      };

      it('valid input is handled once and its emits land on the bus', async () => {
        const s = instrument(c.stage);
        const records = objects ? [validRecord(false), validRecord(true)] : [validRecord(false)];
        const emitted = () =>
          s.calls() >= records.length &&
          c.emits.every((e) => bus.records(TOPICS[e.topic].name).length >= (e.count ?? 1) * records.length);
        await runLocal(s.stage, records, {}, emitted, 'handler calls and emits');
        await expectEmits(bus, c, records.length);
        expect(s.calls()).toBe(records.length);
        expect(bus.records(DLQ)).toHaveLength(0);
      });

      it('schema-invalid input is dead-lettered without calling the handler', async () => {
        const s = instrument(c.stage);
        const bad = toBusRecord(eventFor(c, payloadBytes(c.invalid.data)), c.valid.key);
        await runLocal(s.stage, [bad], {}, () => bus.records(DLQ).length > 0, 'a dead letter');
        await expectDeadLetter(bus, c.stage.name, 'bus', c.invalid.field);
        expect(s.calls()).toBe(0);
        for (const t of emitTopics(c)) expect(bus.records(t)).toHaveLength(0);
      });

      it('a retryable outcome is retried in-process, then dead-lettered as "retries exhausted"', async () => {
        const s = instrument(c.stage, () => true);
        await runLocal(
          s.stage,
          [validRecord(false)],
          { maxAttempts: 3 },
          () => bus.records(DLQ).length > 0,
          'DLQ',
        );
        await expectDeadLetter(bus, c.stage.name, 'bus', `retries exhausted after 3 attempts: ${FORCED}`);
        expect(s.calls()).toBe(3);
      });

      itWhenEmitting(
        'while the bus cannot take emits nothing is acked; after recovery it is processed',
        async () => {
          const s = instrument(c.stage);
          bus.failing = () => true;
          const host = await startLocalHost([s.stage], ctx, { backoffMs: 1, maxAttempts: 2 });
          try {
            await bus.inject(def.name, [validRecord(false)]);
            // 2 in-process attempts, the dead letter fails too, the batch is rejected and delivered again.
            await waitUntil(
              () => s.calls() >= 3,
              10_000,
              () => `handler calls: ${s.calls()}`,
            );
            expect(bus.total()).toBe(0);
            bus.failing = null;
            await expectEmits(bus, c);
            expect(bus.records(DLQ)).toHaveLength(0);
          } finally {
            await host.close();
          }
        },
      );
    });

    describe('knative host', () => {
      const valid: { name: string; make: () => { headers: Record<string, string>; body: Uint8Array } }[] = [
        { name: 'binary mode', make: () => knativeBinary(eventFor(c)) },
        { name: 'structured mode', make: () => knativeStructured(eventFor(c)) },
        {
          name: 'a KafkaSource-wrapped plain Kafka record (dev.knative.kafka.event)',
          make: () =>
            knativeWrapped(c.valid.topic, c.valid.key, payloadBytes(c.valid.data), {
              partition: 1,
              offset: 77,
            }),
        },
      ];
      if (objects) {
        for (const dialect of ['minio', 'aws'] as const) {
          valid.push({
            name: `a raw ${dialect === 'minio' ? 'MinIO webhook' : 'AWS S3'} notification`,
            make: () => ({
              headers: { 'content-type': 'application/json' },
              body: payloadBytes(objectNotification(dialect, first!.bucket, first!.key)),
            }),
          });
        }
      }
      for (const v of valid) {
        it(`valid input in ${v.name} -> 202 and the emits land on the bus`, async () => {
          const { headers, body } = v.make();
          const r = await withKnative(c.stage, ctx, (base) => send(base, '/', { headers, body }));
          expect(r.status).toBe(202);
          expect(r.body.outcome).toBe('done');
          await expectEmits(bus, c);
          expect(bus.records(DLQ)).toHaveLength(0);
        });
      }

      it('valid input on POST /<stage-name> and in batched mode -> 202, every event handled', async () => {
        const batch = [toStructured(eventFor(c)), toStructured(eventFor(c))];
        const r = await withKnative(c.stage, ctx, (base) =>
          send(base, `/${c.stage.name}`, {
            headers: { 'content-type': 'application/cloudevents-batch+json' },
            body: JSON.stringify(batch),
          }),
        );
        expect(r.status).toBe(202);
        expect(r.body.results.map((x: { outcome: string }) => x.outcome)).toEqual(['done', 'done']);
        await expectEmits(bus, c, 2);
      });

      it('schema-invalid input -> dead letter naming the field, and 202', async () => {
        const { headers, body } = knativeBinary(eventFor(c, payloadBytes(c.invalid.data)));
        const r = await withKnative(c.stage, ctx, (base) => send(base, '/', { headers, body }));
        expect(r.status).toBe(202);
        expect(r.body.outcome).toBe('dead-lettered');
        expect(r.body.reason).toContain(c.invalid.field);
        await expectDeadLetter(bus, c.stage.name, 'knative', c.invalid.field);
      });

      it('schema-invalid KafkaSource-wrapped record -> dead letter with its topic, partition and offset', async () => {
        const { headers, body } = knativeWrapped(c.valid.topic, c.valid.key, payloadBytes(c.invalid.data), {
          partition: 2,
          offset: 318,
        });
        const r = await withKnative(c.stage, ctx, (base) => send(base, '/', { headers, body }));
        expect(r.status).toBe(202);
        const dl = await expectDeadLetter(bus, c.stage.name, 'knative', c.invalid.field);
        expect(dl.source).toMatchObject({ topic: def.name, partition: 2, offset: '318' });
        expect(dl.original.key).toBe(c.valid.key);
      });

      it('a retryable outcome -> 503 with Retry-After and the reason; nothing dead-lettered', async () => {
        const s = instrument(c.stage, () => true);
        const { headers, body } = knativeBinary(eventFor(c));
        const r = await withKnative(s.stage, ctx, (base) => send(base, '/', { headers, body }));
        expect(r.status).toBe(503);
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(r.body.reason).toBe(FORCED);
        expect(bus.total()).toBe(0);
      });

      itWhenEmitting('the bus failing during emit -> 503, never acked', async () => {
        bus.failing = () => true;
        const { headers, body } = knativeBinary(eventFor(c));
        const r = await withKnative(c.stage, ctx, (base) => send(base, '/', { headers, body }));
        expect(r.status).toBe(503);
        expect(r.body.outcome).toBe('retry');
        expect(r.body.reason).toMatch(/emit failed|dead-letter publish failed|unavailable/);
        expect(bus.total()).toBe(0);
      });

      it('a body that is not a CloudEvent at all -> 400 with a clear error', async () => {
        const r = await withKnative(c.stage, ctx, (base) =>
          send(base, '/', { headers: { 'content-type': 'text/plain' }, body: 'hello' }),
        );
        expect(r.status).toBe(400);
        expect(r.body.reason).toMatch(/not a CloudEvent/);
        expect(bus.total()).toBe(0);
      });
    });

    describe('lambda host', () => {
      const run = (stage: EventStage, event: unknown) =>
        lambdaHandler(stage, async () => ctx)(event, {} as never);

      const record = (
        over: Partial<KafkaRecordSpec> & { raw?: boolean; data?: Uint8Array } = {},
      ): KafkaRecordSpec => {
        const rec: BusRecord =
          over.data !== undefined
            ? objects
              ? { key: c.valid.key, value: over.data, headers: {} }
              : toBusRecord(eventFor(c, over.data), c.valid.key)
            : validRecord(over.raw ?? objects);
        return {
          topic: def.name,
          partition: over.partition ?? 0,
          offset: over.offset ?? 100,
          key: over.key !== undefined ? over.key : rec.key,
          value: rec.value,
          headers: rec.headers,
        };
      };

      for (const kind of ['msk', 'self-managed'] as const) {
        it(`valid ${kind} Kafka records -> no batchItemFailures and the emits land on the bus`, async () => {
          const res = (await run(c.stage, kafkaLambdaEvent(kind, [record()]))) as KafkaBatchResponse;
          expect(res).toEqual({ batchItemFailures: [] });
          await expectEmits(bus, c);
          expect(bus.records(DLQ)).toHaveLength(0);
        });
      }

      it('schema-invalid Kafka record -> dead letter naming the field, not reported as a failure', async () => {
        const event = kafkaLambdaEvent('msk', [record({ data: payloadBytes(c.invalid.data), offset: 7 })]);
        const res = (await run(c.stage, event)) as KafkaBatchResponse;
        expect(res.batchItemFailures).toEqual([]);
        const dl = await expectDeadLetter(bus, c.stage.name, 'lambda', c.invalid.field);
        expect(dl.source).toMatchObject({ topic: def.name, partition: 0, offset: '7' });
      });

      it('a retryable record is reported as {partition: "<topic>-<partition>", offset}, with the rest of its partition', async () => {
        const s = instrument(c.stage, (input) => input.key === RETRY_KEY);
        const event = kafkaLambdaEvent('msk', [
          record({ partition: 0, offset: 10 }),
          record({ partition: 0, offset: 11, key: RETRY_KEY }),
          record({ partition: 0, offset: 12 }),
          record({ partition: 1, offset: 5 }),
        ]);
        const res = (await run(s.stage, event)) as KafkaBatchResponse;
        expect(res.batchItemFailures).toEqual([
          { itemIdentifier: { partition: `${def.name}-0`, offset: 11 } },
          { itemIdentifier: { partition: `${def.name}-0`, offset: 12 } },
        ]);
        expect(s.calls()).toBe(3); // offset 12 waits for 11: Lambda resumes the partition from 11
        await expectEmits(bus, c, 2);
        expect(bus.records(DLQ)).toHaveLength(0);
      });

      itWhenEmitting('the bus failing during emit -> the record is in batchItemFailures', async () => {
        bus.failing = () => true;
        const res = (await run(
          c.stage,
          kafkaLambdaEvent('self-managed', [record({ offset: 3 })]),
        )) as KafkaBatchResponse;
        expect(res.batchItemFailures).toEqual([
          { itemIdentifier: { partition: `${def.name}-0`, offset: 3 } },
        ]);
        expect(bus.total()).toBe(0);
      });

      it('API Gateway v2 POST with a binary CloudEvent -> 202 / invalid -> 202 + DLQ / retryable -> 503', async () => {
        const call = async (stage: EventStage, ev: CloudEvent) => {
          const bin = toHttpBinary(ev);
          const r = (await run(
            stage,
            apiGatewayEvent('apigw-v2-post-cloudevent.json', {
              method: 'POST',
              path: '/events',
              headers: bin.headers,
              body: bin.body,
            }),
          )) as HttpResultV2;
          return { status: r.statusCode, headers: r.headers, body: parseHttpV2(r) as { outcome: string } };
        };
        const ok = await call(c.stage, eventFor(c));
        expect(ok.status).toBe(202);
        expect(ok.body.outcome).toBe('done');
        await expectEmits(bus, c);

        const bad = await call(c.stage, eventFor(c, payloadBytes(c.invalid.data)));
        expect(bad.status).toBe(202);
        expect(bad.body.outcome).toBe('dead-lettered');
        await expectDeadLetter(bus, c.stage.name, 'lambda', c.invalid.field);

        const retry = await call(instrument(c.stage, () => true).stage, eventFor(c));
        expect(retry.status).toBe(503);
        expect(Number(retry.headers['retry-after'])).toBeGreaterThan(0);
      });

      if (objects) {
        const s3Event = (key: string) => {
          const n = objectNotification('aws', first!.bucket, key);
          return n as { Records: unknown[] };
        };

        it('S3 event -> each record handled as an object-created delivery', async () => {
          const res = await run(c.stage, s3Event(first!.key));
          expect(res).toMatchObject({ records: 1, outcomes: ['done'] });
          await expectEmits(bus, c);
        });

        it('S3 event with an invalid record -> dead-lettered, the invocation succeeds', async () => {
          const e = s3Event(first!.key) as { Records: { s3: { object: { key: string } } }[] };
          e.Records[0]!.s3.object.key = '';
          const res = await run(c.stage, e);
          expect(res).toMatchObject({ outcomes: ['dead-lettered'] });
          await expectDeadLetter(bus, c.stage.name, 'lambda', '/Records/0/s3/object/key');
        });

        it('S3 event needing a retry -> the invocation fails (S3 has no partial batch response)', async () => {
          await expect(run(instrument(c.stage, () => true).stage, s3Event(first!.key))).rejects.toThrow(
            FORCED,
          );
          expect(bus.total()).toBe(0);
        });
      }
    });
  });
}

function httpStageContract(c: HttpStageCase, makeCtx: MakeCtx): void {
  describe(`hosts contract: ${c.stage.name} (http)`, () => {
    let bus: RecordingBus;
    let ctx: StageContext;
    beforeEach(async () => {
      bus = await RecordingBus.memory();
      ctx = await makeCtx(bus);
    });
    afterEach(async () => {
      await bus.close();
    });
    const body = c.request.body !== undefined ? encoder.encode(c.request.body) : undefined;

    it('knative: the route answers over real HTTP; unknown paths are 404', async () => {
      await withKnative(c.stage, ctx, async (base) => {
        const r = await send(base, c.request.path + (c.request.query ? `?${c.request.query}` : ''), {
          method: c.request.method,
          headers: { ...(c.request.headers ?? {}) },
          ...(body ? { body } : {}),
        });
        expect(r.status).toBe(c.expect.status);
        c.expect.body?.(r.body);
        const missing = await send(base, '/definitely/not/a/route', { method: 'GET' });
        expect(missing.status).toBe(404);
      });
    });

    it('lambda: a function URL event gets the same answer; unknown paths are 404', async () => {
      const handler = lambdaHandler(c.stage, async () => ctx);
      const r = (await handler(
        apiGatewayEvent('function-url-get.json', {
          method: c.request.method,
          path: c.request.path,
          ...(c.request.query !== undefined ? { query: c.request.query } : {}),
          ...(c.request.headers ? { headers: { ...c.request.headers } } : {}),
          ...(body ? { body } : {}),
        }),
        {} as never,
      )) as HttpResultV2;
      expect(r.statusCode).toBe(c.expect.status);
      c.expect.body?.(parseHttpV2(r));
      const missing = (await handler(
        apiGatewayEvent('function-url-get.json', { method: 'GET', path: '/definitely/not/a/route' }),
        {} as never,
      )) as HttpResultV2;
      expect(missing.statusCode).toBe(404);
    });
  });
}
