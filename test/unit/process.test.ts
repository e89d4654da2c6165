import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UnavailableError, type Bus, type BusRecord } from '../../core/ports.js';
import { fromBusRecord, newEvent, toBusRecord, type CloudEvent } from '../../events/cloudevents.js';
import { TOPICS } from '../../events/registry.js';
import type {
  DeadLetter,
  ObjectCreated,
  ObjectCreatedNotification,
  RawLogBatch,
} from '../../events/schemas.js';
import { createMetrics, noopLogger } from '../../runtime/observability.js';
import {
  deliveryFromRecord,
  normaliseObjectCreated,
  processEvent,
  triggerTopics,
  type Delivery,
} from '../../runtime/process.js';
import {
  done,
  poison,
  retryable,
  type EventStage,
  type Inbound,
  type Outcome,
  type StageContext,
} from '../../runtime/stage.js';

/** A bus that only records publishes and can fail them per topic. */
class PublishLog implements Bus {
  readonly kind = 'publish-log';
  readonly published: { topic: string; records: readonly BusRecord[] }[] = [];
  fail: (topic: string) => boolean = () => false;
  async publish(topic: string, records: readonly BusRecord[]): Promise<void> {
    if (this.fail(topic)) throw new UnavailableError(`bus down for ${topic}`, 'bus');
    this.published.push({ topic, records });
  }
  async subscribe(): Promise<never> {
    throw new Error('not used');
  }
  async ensureTopics(): Promise<void> {}
  async close(): Promise<void> {}
  on(topic: string): BusRecord[] {
    return this.published.filter((p) => p.topic === topic).flatMap((p) => p.records);
  }
  deadLetters(): DeadLetter[] {
    return this.on(TOPICS.deadLetters.name).map(
      (r) => JSON.parse(new TextDecoder().decode(r.value)) as DeadLetter,
    );
  }
}

function setup() {
  const bus = new PublishLog();
  const errors: string[] = [];
  const metrics = createMetrics();
  const ctx: StageContext = {
    bus,
    metrics,
    log: { ...noopLogger, error: (m, f) => void errors.push(`${m} ${JSON.stringify(f)}`) },
    now: () => new Date('2024-06-01T12:00:00.000Z'),
  };
  return { bus, ctx, errors, metrics };
}

const logs: RawLogBatch = {
  source: 'fluentbit-http',
  records: [
    {
      time_unix_nano: '1717243200000000000',
      body: 'GET / 200',
      attributes: {},
      resource: { 'service.name': 'web' },
    },
  ],
};

function topicStage(behave: (input: Inbound<RawLogBatch>) => Promise<Outcome> | Outcome) {
  const seen: Inbound<RawLogBatch>[] = [];
  const stage: EventStage<RawLogBatch> = {
    kind: 'event',
    name: 'unit-logs',
    description: 'test',
    trigger: { kind: 'topic', topics: ['rawLogs'] },
    needs: [],
    async handle(input) {
      seen.push(input);
      return behave(input);
    },
  };
  return { stage, seen };
}

const fingerprint = (service: string) => ({
  topic: 'fingerprints' as const,
  key: service,
  data: {
    records: [
      {
        kind: 'log' as const,
        service,
        operation: '',
        template_id: 't1',
        template: 'GET / <*>',
        time_unix_nano: '1',
        status: 'ok' as const,
        attributes: {},
      },
    ],
  },
});

const delivery = (event: CloudEvent, over: Partial<Delivery> = {}): Delivery => ({
  event,
  transport: 'bus',
  key: 'web',
  ...over,
});
const logsEvent = (data: unknown = logs) => ({
  ...newEvent(TOPICS.rawLogs, { source: '/t', data: logs }),
  data: new TextEncoder().encode(JSON.stringify(data)),
});

describe('processEvent', () => {
  it('handles a valid event, publishes its emits, and acks', async () => {
    const { bus, ctx, metrics } = setup();
    const { stage, seen } = topicStage(() => done([fingerprint('web'), fingerprint('api')]));
    const ev = logsEvent();
    const f = await processEvent(
      stage,
      ctx,
      delivery(ev, { partition: 3, offset: '42', topic: TOPICS.rawLogs.name }),
    );
    expect(f).toEqual({ result: 'acked', outcome: 'done' });
    expect(seen[0]).toMatchObject({
      data: logs,
      topic: TOPICS.rawLogs.name,
      key: 'web',
      partition: 3,
      offset: '42',
      attempt: 1,
    });
    const out = bus.on(TOPICS.fingerprints.name).map((r) => fromBusRecord(r));
    expect(out).toHaveLength(2);
    expect(out.every((e) => e.ok && e.value.source === '/slo-scout/functions/unit-logs')).toBe(true);
    expect(bus.on(TOPICS.fingerprints.name).map((r) => r.key)).toEqual(['web', 'api']);
    expect(
      metrics.value('slo_scout_stage_records_total', {
        stage: 'unit-logs',
        transport: 'bus',
        result: 'done',
      }),
    ).toBe(1);
  });

  it('emit ids are deterministic per parent event, so redeliveries are recognisable', async () => {
    const { bus, ctx } = setup();
    const { stage } = topicStage(() => done([fingerprint('web')]));
    const ev = logsEvent();
    await processEvent(stage, ctx, delivery(ev));
    await processEvent(stage, ctx, delivery(ev, { attempt: 2 }));
    await processEvent(stage, ctx, delivery({ ...ev, id: 'another' }));
    const ids = bus.on(TOPICS.fingerprints.name).map((r) => r.headers['ce_id']);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).not.toBe(ids[0]);
  });

  it('an unknown CloudEvents type is dead-lettered', async () => {
    const { bus, ctx } = setup();
    const { stage, seen } = topicStage(() => done());
    const f = await processEvent(stage, ctx, delivery({ ...logsEvent(), type: 'com.example.nope' }));
    expect(f).toMatchObject({
      result: 'acked',
      outcome: 'dead-lettered',
      reason: 'unknown CloudEvents type "com.example.nope"',
    });
    expect(seen).toHaveLength(0);
    const [dl] = bus.deadLetters();
    expect(dl).toMatchObject({
      stage: 'unit-logs',
      reason: 'unknown CloudEvents type "com.example.nope"',
      failed_at: '2024-06-01T12:00:00.000Z',
    });
  });

  it('an event of a topic the stage does not consume is dead-lettered', async () => {
    const { bus, ctx } = setup();
    const { stage } = topicStage(() => done());
    const other = newEvent(TOPICS.otlpTraces, { source: '/t', data: new Uint8Array([0x0a, 0x00]) });
    const f = await processEvent(stage, ctx, delivery(other));
    expect(f.result === 'acked' && f.reason).toBe(
      'stage unit-logs does not consume slo-scout.otlp.traces.v1 (event type io.sloscout.otlp.traces.v1)',
    );
    expect(bus.deadLetters()).toHaveLength(1);
  });

  it('an invalid payload is dead-lettered with the failing field and the original bytes', async () => {
    const { bus, ctx } = setup();
    const { stage, seen } = topicStage(() => done());
    const bad = { ...logs, records: [{ ...logs.records[0], time_unix_nano: 'noon' }] };
    const ev = logsEvent(bad);
    const f = await processEvent(
      stage,
      ctx,
      delivery(ev, { topic: TOPICS.rawLogs.name, partition: 1, offset: '9' }),
    );
    expect(f.result).toBe('acked');
    expect(seen).toHaveLength(0);
    const [dl] = bus.deadLetters();
    expect(dl!.reason).toContain('/records/0/time_unix_nano');
    expect(dl!.source).toEqual({ transport: 'bus', topic: TOPICS.rawLogs.name, partition: 1, offset: '9' });
    expect(Buffer.from(dl!.original.value_base64, 'base64').toString()).toBe(JSON.stringify(bad));
    expect(dl!.original.headers['ce_id']).toBe(ev.id);
    expect(bus.on(TOPICS.deadLetters.name)[0]!.key).toBe('unit-logs');
    const notJson = await processEvent(stage, ctx, delivery({ ...ev, data: new TextEncoder().encode('{') }));
    expect(notJson.result === 'acked' && notJson.reason).toMatch(/is not valid JSON/);
  });

  it('a handler that throws is a retry, logged as a bug; an UnavailableError is a plain retry', async () => {
    const { bus, ctx, errors } = setup();
    const boom = topicStage(() => {
      throw new TypeError('x is undefined');
    });
    expect(await processEvent(boom.stage, ctx, delivery(logsEvent()))).toEqual({
      result: 'retry',
      reason: 'handler threw: x is undefined',
    });
    expect(errors).toHaveLength(1);
    const down = topicStage(() => {
      throw new UnavailableError('postgres unreachable', 'db');
    });
    expect(await processEvent(down.stage, ctx, delivery(logsEvent()))).toEqual({
      result: 'retry',
      reason: 'postgres unreachable',
    });
    expect(errors).toHaveLength(1);
    expect(bus.published).toHaveLength(0);
  });

  it('retryable outcomes retry; poison outcomes are dead-lettered with their reason', async () => {
    const { bus, ctx } = setup();
    const r = topicStage(() => retryable('db busy'));
    expect(await processEvent(r.stage, ctx, delivery(logsEvent()))).toEqual({
      result: 'retry',
      reason: 'db busy',
    });
    const p = topicStage(() => poison('record references an unknown tenant'));
    expect(await processEvent(p.stage, ctx, delivery(logsEvent()))).toEqual({
      result: 'acked',
      outcome: 'dead-lettered',
      reason: 'record references an unknown tenant',
    });
    expect(bus.deadLetters().map((d) => d.reason)).toEqual(['record references an unknown tenant']);
  });

  it('a failed emit publish is a retry, never an ack; a failed dead-letter publish too', async () => {
    const { bus, ctx } = setup();
    bus.fail = (t) => t === TOPICS.fingerprints.name;
    const { stage } = topicStage(() => done([fingerprint('web')]));
    const f = await processEvent(stage, ctx, delivery(logsEvent()));
    expect(f).toEqual({ result: 'retry', reason: `emit failed: bus down for ${TOPICS.fingerprints.name}` });
    bus.fail = () => true;
    const g = await processEvent(stage, ctx, delivery({ ...logsEvent(), type: 'nope' }));
    expect(g).toEqual({
      result: 'retry',
      reason: `dead-letter publish failed: bus down for ${TOPICS.deadLetters.name}`,
    });
  });
});

describe('object triggers', () => {
  const minio = (): ObjectCreatedNotification =>
    JSON.parse(readFileSync(new URL('../fixtures/events/minio-webhook-put.json', import.meta.url), 'utf8'));
  const aws = (): ObjectCreatedNotification =>
    JSON.parse(readFileSync(new URL('../fixtures/events/s3-put-event.json', import.meta.url), 'utf8'));

  function objectStage() {
    const seen: ObjectCreated[] = [];
    const stage: EventStage<ObjectCreated> = {
      kind: 'event',
      name: 'unit-imports',
      description: 'test',
      trigger: { kind: 'object', prefix: 'imports/' },
      needs: [],
      async handle(input) {
        seen.push(input.data);
        return done([
          {
            topic: 'analysisRequests',
            key: input.data.key,
            data: {
              request_id: input.data.key,
              window: { start: input.data.eventTime, end: input.data.eventTime },
              reason: 'import',
            },
          },
        ]);
      },
    };
    return { stage, seen };
  }
  const objectsEvent = (n: unknown) => newEvent(TOPICS.objectsCreated, { source: '/t', data: n });

  it('consume the object-created topic', () => {
    expect(triggerTopics(objectStage().stage)).toEqual([TOPICS.objectsCreated.name]);
  });

  it('normalise the MinIO and AWS dialects to the same record', () => {
    const [m] = normaliseObjectCreated(minio());
    const [a] = normaliseObjectCreated(aws());
    expect(m).toEqual({
      dialect: 'minio',
      bucket: 'slo-scout-archive',
      key: 'imports/checkout/2024-06-01 access.ndjson',
      size: 5120,
      etag: '9b2cf535f27731c974343645a3985328',
      eventTime: '2024-06-01T12:00:05.250Z',
    });
    expect(a).toEqual({ ...m, dialect: 'aws' });
  });

  it('skip non-create events and survive malformed escapes', () => {
    const n = aws();
    const created = n.Records[0]!;
    n.Records.push({ ...created, eventName: 'ObjectRemoved:Delete' });
    n.Records.push({
      ...created,
      s3: { ...created.s3, object: { ...created.s3.object, key: 'imports/100%+done.csv' } },
    });
    expect(normaliseObjectCreated(n).map((o) => o.key)).toEqual([
      'imports/checkout/2024-06-01 access.ndjson',
      'imports/100% done.csv',
    ]);
  });

  it('filter by prefix: objects outside it are ignored, inside handled', async () => {
    const { bus, ctx } = setup();
    const { stage, seen } = objectStage();
    const outside = aws();
    outside.Records[0]!.s3.object.key = 'raw/otlp/x.pb';
    expect(await processEvent(stage, ctx, delivery(objectsEvent(outside)))).toEqual({
      result: 'acked',
      outcome: 'ignored',
      reason: 'no object under imports/',
    });
    expect(seen).toHaveLength(0);
    const mixed = aws();
    mixed.Records.push({
      ...mixed.Records[0]!,
      s3: { ...mixed.Records[0]!.s3, object: { key: 'other/y.csv' } },
    });
    expect(await processEvent(stage, ctx, delivery(objectsEvent(mixed)))).toEqual({
      result: 'acked',
      outcome: 'done',
    });
    expect(seen.map((o) => o.key)).toEqual(['imports/checkout/2024-06-01 access.ndjson']);
    expect(bus.on(TOPICS.analysisRequests.name)).toHaveLength(1);
  });

  it('give every input of a multi-record notification its own emit id', async () => {
    const { bus, ctx } = setup();
    const { stage } = objectStage();
    const n = minio();
    n.Records.push({
      ...n.Records[0]!,
      s3: { ...n.Records[0]!.s3, object: { key: 'imports%2Fsecond.ndjson', size: 1 } },
    });
    expect(await processEvent(stage, ctx, delivery(objectsEvent(n)))).toMatchObject({ outcome: 'done' });
    const ids = bus.on(TOPICS.analysisRequests.name).map((r) => r.headers['ce_id']);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
  });
});

describe('deliveryFromRecord', () => {
  it('reads binary-mode CloudEvents and keeps the Kafka position', () => {
    const ev = logsEvent();
    const d = deliveryFromRecord(
      { ...toBusRecord(ev, 'web'), topic: TOPICS.rawLogs.name, partition: 2, offset: '5' },
      'lambda',
      3,
    );
    expect(d).toMatchObject({
      transport: 'lambda',
      key: 'web',
      topic: TOPICS.rawLogs.name,
      partition: 2,
      offset: '5',
      attempt: 3,
    });
    expect(d.event).toEqual(ev);
  });

  it('wraps plain records on a known topic (MinIO Kafka target) so the registry can route them', async () => {
    const { ctx } = setup();
    const { stage, seen } = topicStage(() => done());
    const d = deliveryFromRecord(
      {
        headers: {},
        value: new TextEncoder().encode(JSON.stringify(logs)),
        key: null,
        topic: TOPICS.rawLogs.name,
        partition: 0,
        offset: '12',
      },
      'bus',
    );
    expect(d.event).toMatchObject({ type: TOPICS.rawLogs.ceType, id: `${TOPICS.rawLogs.name}/0/12` });
    expect(await processEvent(stage, ctx, d)).toEqual({ result: 'acked', outcome: 'done' });
    expect(seen[0]!.data).toEqual(logs);
  });

  it('dead-letters plain records on an unknown topic with the reason', async () => {
    const { bus, ctx } = setup();
    const { stage } = topicStage(() => done());
    const d = deliveryFromRecord(
      { headers: {}, value: new Uint8Array([1]), key: 'k', topic: 'legacy.topic' },
      'bus',
    );
    const f = await processEvent(stage, ctx, d);
    expect(f.result === 'acked' && f.reason).toContain(
      'unknown CloudEvents type "io.sloscout.unrecognised (record is not a CloudEvent',
    );
    expect(bus.deadLetters()[0]!.source.topic).toBe('legacy.topic');
  });
});
