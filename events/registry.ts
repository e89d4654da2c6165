/**
 * The one registry of topics: names, keys, partitioning, retention, content types, schema versions and CloudEvents
 * types. The Helm chart, the Knative manifests, the CDK app and every host read topic facts from here.
 */
import type { TSchema } from '@sinclair/typebox';
import { walk, WIRE_LEN } from '../core/protowire.js';
import { err, ok, type Result } from '../core/result.js';
import * as S from './schemas.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export type ContentType = 'application/json' | 'application/x-protobuf';

export interface TopicDef {
  /** Registry id used in code. */
  readonly id: string;
  /** Kafka topic name. */
  readonly name: string;
  /** CloudEvents `type` of every event on the topic. */
  readonly ceType: string;
  readonly schemaVersion: string;
  readonly contentType: ContentType;
  /** What the record key is, and so how records are partitioned. */
  readonly key: string;
  readonly partitions: number;
  readonly retentionMs: number;
  /**
   * Largest record the topic accepts (Kafka `max.message.bytes`). Producers never emit more than half of it inline:
   * larger payloads travel by claim check (the CloudEvents `dataref` extension pointing into the object store).
   */
  readonly maxMessageBytes: number;
  readonly description: string;
  /** JSON payloads: the schema. Binary payloads: null, and `checkBinary` validates them. */
  readonly schema: TSchema | null;
  readonly checkBinary?: (bytes: Uint8Array) => Result<void, string>;
}

/** Raw OTLP export requests: top-level field 1 repeats ResourceSpans/ResourceMetrics/ResourceLogs. */
export function checkOtlpExportRequest(bytes: Uint8Array): Result<void, string> {
  let inner: string | null = null;
  const r = walk(bytes, (f) => {
    if (f.field !== 1) return; // unknown fields are legal protobuf; OTLP has only field 1 at the top
    if (f.wire !== WIRE_LEN) {
      inner = `field 1 must be length-delimited, got wire type ${f.wire}`;
      return false;
    }
    const sub = walk(bytes, () => undefined, f.valueStart, f.end);
    if (!sub.ok) {
      inner = `resource entry at byte ${f.start}: ${sub.error}`;
      return false;
    }
    return undefined;
  });
  if (!r.ok) return err(`not a valid OTLP protobuf export request: ${r.error}`);
  if (inner !== null) return err(`not a valid OTLP protobuf export request: ${inner}`);
  return ok(undefined);
}

const MiB = 1024 * 1024;

function topic(
  d: Omit<TopicDef, 'ceType' | 'name' | 'maxMessageBytes'> & { short: string; maxMessageBytes?: number },
): TopicDef {
  const { short, ...rest } = d;
  const major = d.schemaVersion.split('.')[0]!;
  return {
    maxMessageBytes: MiB,
    ...rest,
    name: `slo-scout.${short}.v${major}`,
    ceType: `io.sloscout.${short}.v${major}`,
  };
}

/** Payloads above this travel by claim check instead of inline. */
export function inlineLimit(def: TopicDef): number {
  return Math.floor(def.maxMessageBytes / 2);
}

export const TOPICS = {
  otlpTraces: topic({
    id: 'otlpTraces',
    short: 'otlp.traces',
    maxMessageBytes: 8 * MiB,
    schemaVersion: '1.0.0',
    contentType: 'application/x-protobuf',
    key: 'service.name of the first resource (tenant/service)',
    partitions: 12,
    retentionMs: 3 * DAY,
    description: 'Raw OTLP ExportTraceServiceRequest bytes, one resource group per record, as received.',
    schema: null,
    checkBinary: checkOtlpExportRequest,
  }),
  otlpMetrics: topic({
    id: 'otlpMetrics',
    short: 'otlp.metrics',
    maxMessageBytes: 8 * MiB,
    schemaVersion: '1.0.0',
    contentType: 'application/x-protobuf',
    key: 'service.name of the first resource',
    partitions: 6,
    retentionMs: 3 * DAY,
    description: 'Raw OTLP ExportMetricsServiceRequest bytes.',
    schema: null,
    checkBinary: checkOtlpExportRequest,
  }),
  otlpLogs: topic({
    id: 'otlpLogs',
    short: 'otlp.logs',
    maxMessageBytes: 8 * MiB,
    schemaVersion: '1.0.0',
    contentType: 'application/x-protobuf',
    key: 'service.name of the first resource',
    partitions: 12,
    retentionMs: 3 * DAY,
    description: 'Raw OTLP ExportLogsServiceRequest bytes.',
    schema: null,
    checkBinary: checkOtlpExportRequest,
  }),
  rawLogs: topic({
    id: 'rawLogs',
    short: 'logs.raw',
    maxMessageBytes: 8 * MiB,
    schemaVersion: '1.0.0',
    contentType: 'application/json',
    key: 'Fluent Bit tag',
    partitions: 12,
    retentionMs: 3 * DAY,
    description: 'Log records from the Fluent Bit-compatible collector (http and forward inputs).',
    schema: S.RawLogBatch,
  }),
  promSamples: topic({
    id: 'promSamples',
    short: 'prom.samples',
    schemaVersion: '1.0.0',
    contentType: 'application/json',
    key: '__name__ of the series',
    partitions: 6,
    retentionMs: 3 * DAY,
    description: 'Sample batches pulled through Prometheus remote_read, one bounded time window each.',
    schema: S.SampleBatch,
  }),
  objectsCreated: topic({
    id: 'objectsCreated',
    short: 'objects.created',
    schemaVersion: '1.0.0',
    contentType: 'application/json',
    key: 'bucket/object key',
    partitions: 3,
    retentionMs: 7 * DAY,
    description: 'Object-created notifications for the raw archive, AWS S3 or MinIO dialect.',
    schema: S.ObjectCreatedNotification,
  }),
  fingerprints: topic({
    id: 'fingerprints',
    short: 'fingerprints',
    schemaVersion: '1.0.0',
    contentType: 'application/json',
    key: 'service',
    partitions: 12,
    retentionMs: 7 * DAY,
    description: 'PII-redacted fingerprinted spans and log records.',
    schema: S.FingerprintBatch,
  }),
  rollups: topic({
    id: 'rollups',
    short: 'rollups',
    schemaVersion: '1.0.0',
    contentType: 'application/json',
    key: 'service',
    partitions: 6,
    retentionMs: 30 * DAY,
    description: 'Per-minute rollups per (service, operation|template): count, errors, latency histogram.',
    schema: S.RollupBatch,
  }),
  embeddingRequests: topic({
    id: 'embeddingRequests',
    short: 'embedding.requests',
    schemaVersion: '1.0.0',
    contentType: 'application/json',
    key: 'service',
    partitions: 3,
    retentionMs: 7 * DAY,
    description: 'Newly seen templates and journeys to embed.',
    schema: S.EmbeddingRequest,
  }),
  analysisRequests: topic({
    id: 'analysisRequests',
    short: 'analysis.requests',
    schemaVersion: '1.0.0',
    contentType: 'application/json',
    key: 'request_id',
    partitions: 1,
    retentionMs: 30 * DAY,
    description: 'Requests to (re)analyse a time window.',
    schema: S.AnalysisRequest,
  }),
  recommendations: topic({
    id: 'recommendations',
    short: 'recommendations',
    schemaVersion: '1.0.0',
    contentType: 'application/json',
    key: 'request_id',
    partitions: 1,
    retentionMs: 90 * DAY,
    description: 'Journeys with recommended SLIs and SLO targets.',
    schema: S.Recommendations,
  }),
  artifacts: topic({
    id: 'artifacts',
    short: 'artifacts',
    schemaVersion: '1.0.0',
    contentType: 'application/json',
    key: 'artifact set id',
    partitions: 1,
    retentionMs: 90 * DAY,
    description: 'Generated artifact sets: Prometheus rules, dashboards, runbooks.',
    schema: S.ArtifactSet,
  }),
  policyDecisions: topic({
    id: 'policyDecisions',
    short: 'policy.decisions',
    schemaVersion: '1.0.0',
    contentType: 'application/json',
    key: 'artifact set id',
    partitions: 1,
    retentionMs: 365 * DAY,
    description: 'Policy Guard decisions (allow/warn/deny with reasons).',
    schema: S.PolicyDecision,
  }),
  deadLetters: topic({
    id: 'deadLetters',
    short: 'dlq',
    schemaVersion: '1.0.0',
    contentType: 'application/json',
    key: 'stage name',
    partitions: 1,
    retentionMs: 30 * DAY,
    description: 'Records a stage could not process, with the reason and the original bytes.',
    schema: S.DeadLetter,
  }),
} as const satisfies Record<string, TopicDef>;

export type TopicId = keyof typeof TOPICS;
export const ALL_TOPICS: readonly TopicDef[] = Object.values(TOPICS);

export function topicByName(name: string): TopicDef | undefined {
  return ALL_TOPICS.find((t) => t.name === name);
}
export function topicByCeType(type: string): TopicDef | undefined {
  return ALL_TOPICS.find((t) => t.ceType === type);
}

/** CloudEvents `source` attributes used by our producers. */
export const CE_SOURCE = {
  collector: (name: string) => `/slo-scout/collectors/${name}`,
  stage: (name: string) => `/slo-scout/functions/${name}`,
  cli: '/slo-scout/cli',
} as const;
