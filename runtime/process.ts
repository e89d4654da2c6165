/**
 * The one place that turns an inbound event into a stage outcome. Every host (local, Knative, Lambda) calls
 * `processEvent`, so decoding, edge validation, emitting and dead-lettering behave identically everywhere.
 *
 * Guarantees: a record is reported `acked` only after everything the handler emitted, or its dead letter, is
 * durable on the bus. Anything else is `retry`, and the host asks its transport to deliver it again.
 */
import { createHash } from 'node:crypto';
import { UnavailableError, type BusRecord } from '../core/ports.js';
import { fromBusRecord, newEvent, toBusRecord, type CloudEvent } from '../events/cloudevents.js';
import {
  CE_SOURCE,
  inlineLimit,
  TOPICS,
  topicByCeType,
  topicByName,
  type TopicDef,
} from '../events/registry.js';
import type { ObjectCreated, ObjectCreatedNotification } from '../events/schemas.js';
import { decodePayload } from '../events/validate.js';
import type { EventStage, Inbound, Outcome, StageContext, Transport } from './stage.js';

export interface Delivery {
  readonly event: CloudEvent;
  readonly transport: Transport;
  readonly key: string | null;
  /** The topic the event came from, when the transport knows it (Kafka, KafkaSource). */
  readonly topic?: string;
  readonly partition?: number;
  readonly offset?: string;
  readonly attempt?: number;
}

export type Final =
  | {
      readonly result: 'acked';
      readonly outcome: 'done' | 'dead-lettered' | 'ignored';
      readonly reason?: string;
    }
  | { readonly result: 'retry'; readonly reason: string };

/** Topic names a stage consumes (object triggers consume the object-created topic). */
export function triggerTopics(stage: EventStage): string[] {
  return stage.trigger.kind === 'topic'
    ? stage.trigger.topics.map((t) => TOPICS[t].name)
    : [TOPICS.objectsCreated.name];
}

/** Normalises AWS S3 and MinIO notifications into dialect-free records. */
export function normaliseObjectCreated(n: ObjectCreatedNotification): ObjectCreated[] {
  const out: ObjectCreated[] = [];
  for (const r of n.Records) {
    const minio = r.eventSource.startsWith('minio') || n.EventName !== undefined;
    const name = r.eventName.replace(/^s3:/, '');
    if (!name.startsWith('ObjectCreated:')) continue;
    out.push({
      dialect: minio ? 'minio' : 'aws',
      bucket: r.s3.bucket.name,
      // Both dialects URL-encode keys in notifications (spaces as '+').
      key: decodeKey(r.s3.object.key),
      size: r.s3.object.size ?? null,
      etag: r.s3.object.eTag ?? null,
      eventTime: r.eventTime,
    });
  }
  return out;
}

/** A malformed escape (a literal '%') must not throw out of processEvent: keep the key as sent. */
function decodeKey(raw: string): string {
  const spaced = raw.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

function emitId(parent: string, stage: string, i: number): string {
  const h = createHash('sha256').update(`${parent}\u0000${stage}\u0000${i}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

async function publishEmits(
  stage: EventStage,
  ctx: StageContext,
  parent: CloudEvent,
  outcome: Outcome,
  input = 0,
): Promise<void> {
  if (outcome.status !== 'done' || !outcome.emit?.length) return;
  const byTopic = new Map<string, BusRecord[]>();
  const offloads: { ref: string; body: Uint8Array; contentType: string }[] = [];
  // One delivery can fan out into several inputs (object notifications with several records): the input index keeps
  // their emit ids distinct, while the first input keeps the plain, stable id.
  const scope = input === 0 ? stage.name : `${stage.name}#${input}`;
  outcome.emit.forEach((e, i) => {
    const def = TOPICS[e.topic];
    let ev = newEvent(def, {
      source: CE_SOURCE.stage(stage.name),
      data: e.data,
      id: emitId(parent.id, scope, i),
      ...(e.subject !== undefined ? { subject: e.subject } : {}),
      ...(e.extensions ? { extensions: e.extensions } : {}),
    });
    if (ev.data.length > inlineLimit(def)) {
      // Claim check (CloudEvents `dataref`): the payload goes to the object store, the event carries the reference.
      const ref = `${CLAIM_CHECK_PREFIX}${def.name}/${ev.id}`;
      offloads.push({ ref, body: ev.data, contentType: def.contentType });
      ev = { ...ev, data: new Uint8Array(), extensions: { ...ev.extensions, dataref: ref } };
    }
    const list = byTopic.get(def.name) ?? [];
    list.push(toBusRecord(ev, e.key));
    byTopic.set(def.name, list);
  });
  if (offloads.length > 0) {
    if (!ctx.objects)
      throw new Error(`stage ${stage.name} emits payloads too large to inline but has no object store`);
    for (const o of offloads) await ctx.objects.put(o.ref, o.body, { contentType: o.contentType });
  }
  for (const [topic, records] of byTopic) await ctx.bus.publish(topic, records);
}

/** Where claim-checked payloads (too large to travel inline on the bus) live in the object store. */
export const CLAIM_CHECK_PREFIX = 'events/';

/** Publishes a dead letter for a delivery; rejects if the bus cannot take it (the host must then retry). */
export async function deadLetter(
  stage: EventStage,
  ctx: StageContext,
  d: Delivery,
  reason: string,
): Promise<void> {
  const rec = toBusRecord(d.event, d.key);
  const ev = newEvent(TOPICS.deadLetters, {
    source: CE_SOURCE.stage(stage.name),
    id: emitId(d.event.id, `${stage.name}/dlq`, 0),
    data: {
      stage: stage.name,
      reason,
      failed_at: ctx.now().toISOString(),
      source: {
        transport: d.transport,
        ...(d.topic !== undefined ? { topic: d.topic } : {}),
        ...(d.partition !== undefined ? { partition: d.partition } : {}),
        ...(d.offset !== undefined ? { offset: d.offset } : {}),
      },
      original: {
        key: d.key,
        headers: { ...rec.headers },
        value_base64: Buffer.from(d.event.data).toString('base64'),
      },
    },
  });
  await ctx.bus.publish(TOPICS.deadLetters.name, [toBusRecord(ev, stage.name)]);
  ctx.metrics.counter('slo_scout_stage_dead_letters_total', 'Records sent to the dead-letter topic', {
    stage: stage.name,
  });
  ctx.log.warn('dead-lettered a record', { stage: stage.name, reason, id: d.event.id, topic: d.topic });
}

function resolveTopic(stage: EventStage, d: Delivery): TopicDef | string {
  const byType = topicByCeType(d.event.type);
  const def = byType ?? (d.topic ? topicByName(d.topic) : undefined);
  if (!def) return `unknown CloudEvents type "${d.event.type}"`;
  if (!triggerTopics(stage).includes(def.name))
    return `stage ${stage.name} does not consume ${def.name} (event type ${d.event.type})`;
  return def;
}

/**
 * Runs one delivery through a stage. Handler exceptions are bugs: they are logged and reported as retryable, so the
 * transport's own retry and dead-letter policy (or the local host's) decides; nothing is silently dropped.
 */
export async function processEvent(stage: EventStage, ctx: StageContext, d: Delivery): Promise<Final> {
  const started = performance.now();
  const labels = { stage: stage.name, transport: d.transport };
  const finish = (f: Final): Final => {
    ctx.metrics.counter('slo_scout_stage_records_total', 'Records processed by a stage', {
      ...labels,
      result: f.result === 'acked' ? f.outcome : 'retry',
    });
    ctx.metrics.observe(
      'slo_scout_stage_seconds',
      'Time to process one record',
      (performance.now() - started) / 1000,
      labels,
    );
    return f;
  };
  const toDlq = async (reason: string): Promise<Final> => {
    try {
      await deadLetter(stage, ctx, d, reason);
      return finish({ result: 'acked', outcome: 'dead-lettered', reason });
    } catch (e) {
      return finish({ result: 'retry', reason: `dead-letter publish failed: ${(e as Error).message}` });
    }
  };

  const def = resolveTopic(stage, d);
  if (typeof def === 'string') return toDlq(def);
  let payload = d.event.data;
  const dataref = d.event.extensions['dataref'];
  if (dataref !== undefined) {
    if (!dataref.startsWith(CLAIM_CHECK_PREFIX))
      return toDlq(`dataref ${dataref} is outside ${CLAIM_CHECK_PREFIX}`);
    if (!ctx.objects)
      return finish({
        result: 'retry',
        reason: `stage ${stage.name} has no object store to resolve dataref ${dataref}`,
      });
    const body = await ctx.objects.get(dataref).catch(() => null);
    if (body === null)
      return finish({ result: 'retry', reason: `claim-checked payload ${dataref} is not readable (yet)` });
    payload = body;
  }
  const decoded = decodePayload(def, payload);
  if (!decoded.ok) return toDlq(decoded.error);

  const inputs: Inbound<unknown>[] = [];
  const base = {
    event: d.event,
    topic: def.name,
    key: d.key,
    transport: d.transport,
    attempt: d.attempt ?? 1,
    ...(d.partition !== undefined ? { partition: d.partition } : {}),
    ...(d.offset !== undefined ? { offset: d.offset } : {}),
  };
  if (stage.trigger.kind === 'object') {
    const prefix = stage.trigger.prefix;
    for (const o of normaliseObjectCreated(decoded.value as ObjectCreatedNotification)) {
      if (o.key.startsWith(prefix)) inputs.push({ ...base, data: o });
    }
    if (inputs.length === 0)
      return finish({ result: 'acked', outcome: 'ignored', reason: `no object under ${prefix}` });
  } else {
    inputs.push({ ...base, data: decoded.value });
  }

  for (const [index, input] of inputs.entries()) {
    let outcome: Outcome;
    try {
      outcome = await stage.handle(input, ctx);
    } catch (e) {
      const unavailable = e instanceof UnavailableError;
      if (!unavailable)
        ctx.log.error('stage handler threw', { stage: stage.name, id: d.event.id, error: String(e) });
      return finish({
        result: 'retry',
        reason: `${unavailable ? '' : 'handler threw: '}${(e as Error).message}`,
      });
    }
    if (outcome.status === 'retryable') return finish({ result: 'retry', reason: outcome.reason });
    if (outcome.status === 'poison') return toDlq(outcome.reason);
    try {
      await publishEmits(stage, ctx, d.event, outcome, index);
    } catch (e) {
      return finish({ result: 'retry', reason: `emit failed: ${(e as Error).message}` });
    }
  }
  return finish({ result: 'acked', outcome: 'done' });
}

/** Kafka records (bus, MSK, self-managed) become deliveries the same way everywhere. */
export function deliveryFromRecord(
  rec: {
    headers: Readonly<Record<string, string>>;
    value: Uint8Array;
    key: string | null;
    topic: string;
    partition?: number;
    offset?: string;
  },
  transport: Transport,
  attempt = 1,
): Delivery {
  const ev = fromBusRecord(rec);
  const where = {
    transport,
    key: rec.key,
    topic: rec.topic,
    attempt,
    ...(rec.partition !== undefined ? { partition: rec.partition } : {}),
    ...(rec.offset !== undefined ? { offset: rec.offset } : {}),
  };
  if (ev.ok) return { event: ev.value, ...where };
  // Not a CloudEvent (e.g. MinIO's own Kafka notification target): wrap it so the registry can still route it.
  // A record on a topic we do not know gets a type no stage consumes, so processEvent dead-letters it with the reason.
  const def = topicByName(rec.topic);
  return {
    event: {
      specversion: '1.0',
      id: `${rec.topic}/${rec.partition ?? 0}/${rec.offset ?? '0'}`,
      source: `kafka://${rec.topic}`,
      type: def?.ceType ?? `io.sloscout.unrecognised (${ev.error})`,
      ...(def ? { datacontenttype: def.contentType } : {}),
      extensions: {},
      data: rec.value,
    },
    ...where,
  };
}
