/**
 * Versioned event payload schemas (v1). JSON payloads are described with TypeBox, which gives both the JSON Schema
 * (see `npx slo-scout events schema`) and the static TypeScript type from one declaration.
 * Binary payloads (raw OTLP protobuf) are checked by a shallow protobuf walk instead; see registry.ts.
 */
import { Type, type Static } from '@sinclair/typebox';

const AttrValue = Type.Union([Type.String(), Type.Number(), Type.Boolean()]);
export const Attributes = Type.Record(Type.String(), AttrValue);

/** Unix time in nanoseconds, as a decimal string (exceeds 2^53). */
const UnixNano = Type.String({ pattern: '^[0-9]{1,20}$' });
const IsoTime = Type.String({ format: 'date-time', minLength: 20 });

// ---- raw log records (Fluent Bit / generic) -------------------------------------------------------------------
export const RawLogRecord = Type.Object(
  {
    time_unix_nano: UnixNano,
    body: Type.String({ maxLength: 1_048_576 }),
    severity: Type.Optional(Type.String({ maxLength: 32 })),
    attributes: Attributes,
    resource: Attributes,
  },
  { additionalProperties: false },
);
export const RawLogBatch = Type.Object(
  {
    source: Type.Union([
      Type.Literal('fluentbit-http'),
      Type.Literal('fluentbit-forward'),
      Type.Literal('file'),
    ]),
    tag: Type.Optional(Type.String({ maxLength: 512 })),
    records: Type.Array(RawLogRecord, { minItems: 1, maxItems: 100_000 }),
  },
  { additionalProperties: false, $id: 'slo-scout/logs.raw/v1' },
);
export type RawLogBatch = Static<typeof RawLogBatch>;

// ---- Prometheus remote_read sample batches ---------------------------------------------------------------------
export const SampleBatch = Type.Object(
  {
    prometheus: Type.String(),
    window: Type.Object(
      { start_ms: Type.Integer(), end_ms: Type.Integer() },
      { additionalProperties: false },
    ),
    series: Type.Array(
      Type.Object(
        {
          labels: Type.Record(Type.String(), Type.String()),
          /** [timestamp_ms, value] pairs; value may be NaN/Inf, so it travels as a string. */
          samples: Type.Array(Type.Tuple([Type.Integer(), Type.String()])),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, $id: 'slo-scout/prom.samples/v1' },
);
export type SampleBatch = Static<typeof SampleBatch>;

// ---- object-created notifications: AWS S3 and MinIO dialects ------------------------------------------------------
const S3Record = Type.Object(
  {
    eventVersion: Type.Optional(Type.String()),
    eventSource: Type.String(), // 'aws:s3' or 'minio:s3'
    awsRegion: Type.Optional(Type.String()),
    eventTime: Type.String(),
    eventName: Type.String(), // 'ObjectCreated:Put' (AWS) or 's3:ObjectCreated:Put' (MinIO)
    s3: Type.Object({
      bucket: Type.Object({ name: Type.String({ minLength: 1 }) }),
      object: Type.Object({
        key: Type.String({ minLength: 1 }),
        size: Type.Optional(Type.Integer({ minimum: 0 })),
        eTag: Type.Optional(Type.String()),
        sequencer: Type.Optional(Type.String()),
      }),
    }),
  },
  { additionalProperties: true },
);
export const ObjectCreatedNotification = Type.Object(
  {
    /** MinIO adds these two at the top level; AWS does not. */
    EventName: Type.Optional(Type.String()),
    Key: Type.Optional(Type.String()),
    Records: Type.Array(S3Record, { minItems: 1 }),
  },
  { additionalProperties: true, $id: 'slo-scout/objects.created/v1' },
);
export type ObjectCreatedNotification = Static<typeof ObjectCreatedNotification>;

/** The dialect-free form that stages see. */
export interface ObjectCreated {
  readonly dialect: 'aws' | 'minio';
  readonly bucket: string;
  readonly key: string;
  readonly size: number | null;
  readonly etag: string | null;
  readonly eventTime: string;
}

// ---- fingerprinted records and per-minute rollups --------------------------------------------------------------
export const FingerprintedRecord = Type.Object(
  {
    kind: Type.Union([Type.Literal('span'), Type.Literal('log')]),
    service: Type.String({ minLength: 1 }),
    /** Span: normalised operation (e.g. `GET /users/{id}`); log: the template id. */
    operation: Type.String(),
    template_id: Type.String({ minLength: 1 }),
    template: Type.String(),
    time_unix_nano: UnixNano,
    duration_ms: Type.Optional(Type.Number({ minimum: 0 })),
    status: Type.Union([Type.Literal('ok'), Type.Literal('error'), Type.Literal('unset')]),
    http_status: Type.Optional(Type.Integer()),
    rpc_code: Type.Optional(Type.Integer()),
    span_kind: Type.Optional(Type.String()),
    trace_id: Type.Optional(Type.String()),
    span_id: Type.Optional(Type.String()),
    parent_span_id: Type.Optional(Type.String()),
    /** Redacted attributes. */
    attributes: Attributes,
    params: Type.Optional(Type.Array(Type.String())),
    redactions: Type.Optional(Type.Record(Type.String(), Type.Integer())),
  },
  { additionalProperties: false },
);
export type FingerprintedRecord = Static<typeof FingerprintedRecord>;
export const FingerprintBatch = Type.Object(
  { records: Type.Array(FingerprintedRecord, { minItems: 1 }) },
  { additionalProperties: false, $id: 'slo-scout/fingerprints/v1' },
);
export type FingerprintBatch = Static<typeof FingerprintBatch>;

export const Rollup = Type.Object(
  {
    minute: IsoTime,
    service: Type.String({ minLength: 1 }),
    kind: Type.Union([Type.Literal('operation'), Type.Literal('template')]),
    key: Type.String({ minLength: 1 }),
    count: Type.Integer({ minimum: 0 }),
    errors: Type.Integer({ minimum: 0 }),
    sum_ms: Type.Number({ minimum: 0 }),
    /** Cumulative-free bucket counts: counts[i] = observations in (bounds[i-1], bounds[i]]; last is +Inf. */
    latency: Type.Object(
      { bounds_ms: Type.Array(Type.Number()), counts: Type.Array(Type.Integer({ minimum: 0 })) },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type Rollup = Static<typeof Rollup>;
export const RollupBatch = Type.Object(
  { rollups: Type.Array(Rollup, { minItems: 1 }) },
  { additionalProperties: false, $id: 'slo-scout/rollups/v1' },
);
export type RollupBatch = Static<typeof RollupBatch>;

// ---- embedding ---------------------------------------------------------------------------------------------------
export const EmbeddingRequest = Type.Object(
  {
    items: Type.Array(
      Type.Object(
        {
          id: Type.String({ minLength: 1 }),
          kind: Type.Union([
            Type.Literal('log_template'),
            Type.Literal('route_template'),
            Type.Literal('journey'),
          ]),
          service: Type.String({ minLength: 1 }),
          text: Type.String({ minLength: 1, maxLength: 8192 }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 10_000 },
    ),
  },
  { additionalProperties: false, $id: 'slo-scout/embedding.requests/v1' },
);
export type EmbeddingRequest = Static<typeof EmbeddingRequest>;

// ---- analysis ----------------------------------------------------------------------------------------------------
export const AnalysisRequest = Type.Object(
  {
    request_id: Type.String({ minLength: 1 }),
    window: Type.Object({ start: IsoTime, end: IsoTime }, { additionalProperties: false }),
    services: Type.Optional(Type.Array(Type.String())),
    reason: Type.String(),
  },
  { additionalProperties: false, $id: 'slo-scout/analysis.requests/v1' },
);
export type AnalysisRequest = Static<typeof AnalysisRequest>;

const Sli = Type.Object(
  {
    id: Type.String(),
    kind: Type.Union([Type.Literal('availability'), Type.Literal('latency'), Type.Literal('freshness')]),
    good_query: Type.Optional(Type.String()),
    total_query: Type.Optional(Type.String()),
    ratio_query: Type.Optional(Type.String()),
    threshold_ms: Type.Optional(Type.Number()),
    observed: Type.Record(Type.String(), Type.Number()),
    objective: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 100 }),
    window: Type.String(),
    confidence: Type.Number({ minimum: 0, maximum: 1 }),
    evidence: Type.Array(Type.String()),
    backtest: Type.Optional(
      Type.Object({
        pages: Type.Integer(),
        tickets: Type.Integer(),
        first_page_at: Type.Optional(Type.String()),
      }),
    ),
  },
  { additionalProperties: true },
);
const Journey = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    service: Type.String(),
    entrypoint: Type.String(),
    kind: Type.Union([Type.Literal('request'), Type.Literal('async')]),
    rps: Type.Number({ minimum: 0 }),
    error_ratio: Type.Number({ minimum: 0, maximum: 1 }),
    latency_ms: Type.Record(Type.String(), Type.Number()),
    criticality: Type.Union([Type.Literal('high'), Type.Literal('medium'), Type.Literal('low')]),
    low_traffic: Type.Boolean(),
    dependencies: Type.Array(Type.String()),
    slis: Type.Array(Sli),
  },
  { additionalProperties: true },
);
export const Recommendations = Type.Object(
  {
    schema_version: Type.Literal('1'),
    request_id: Type.String(),
    generated_at: IsoTime,
    window: Type.Object({ start: IsoTime, end: IsoTime }),
    journeys: Type.Array(Journey),
  },
  { additionalProperties: true, $id: 'slo-scout/recommendations/v1' },
);
export type Recommendations = Static<typeof Recommendations>;
export type JourneyRec = Static<typeof Journey>;
export type SliRec = Static<typeof Sli>;

// ---- artifacts and policy ----------------------------------------------------------------------------------------
export const ArtifactSet = Type.Object(
  {
    id: Type.String({ minLength: 1 }),
    request_id: Type.String(),
    generated_at: IsoTime,
    files: Type.Array(
      Type.Object(
        {
          path: Type.String({ minLength: 1, pattern: '^(?!/)(?!.*\\.\\.)[A-Za-z0-9._/-]+$' }),
          media_type: Type.String(),
          content: Type.String(),
        },
        { additionalProperties: false },
      ),
      { minItems: 1 },
    ),
  },
  { additionalProperties: false, $id: 'slo-scout/artifacts/v1' },
);
export type ArtifactSet = Static<typeof ArtifactSet>;

export const PolicyDecision = Type.Object(
  {
    artifact_set_id: Type.String({ minLength: 1 }),
    decision: Type.Union([Type.Literal('allow'), Type.Literal('warn'), Type.Literal('deny')]),
    reasons: Type.Array(
      Type.Object(
        {
          rule: Type.String(),
          severity: Type.Union([Type.Literal('info'), Type.Literal('warn'), Type.Literal('deny')]),
          message: Type.String(),
          path: Type.Optional(Type.String()),
        },
        { additionalProperties: false },
      ),
    ),
    evaluated_at: IsoTime,
    policy_version: Type.String(),
  },
  { additionalProperties: false, $id: 'slo-scout/policy.decisions/v1' },
);
export type PolicyDecision = Static<typeof PolicyDecision>;

// ---- dead letters ------------------------------------------------------------------------------------------------
export const DeadLetter = Type.Object(
  {
    stage: Type.String(),
    reason: Type.String(),
    failed_at: IsoTime,
    source: Type.Object({
      topic: Type.Optional(Type.String()),
      partition: Type.Optional(Type.Integer()),
      offset: Type.Optional(Type.String()),
      transport: Type.String(),
    }),
    original: Type.Object({
      key: Type.Union([Type.String(), Type.Null()]),
      headers: Type.Record(Type.String(), Type.String()),
      value_base64: Type.String(),
    }),
  },
  { additionalProperties: false, $id: 'slo-scout/dlq/v1' },
);
export type DeadLetter = Static<typeof DeadLetter>;

/** Envelope extensions carried on raw OTLP batches (CloudEvents extension attributes, lower-case alnum). */
export interface OtlpBatchExtensions {
  readonly signal: 'traces' | 'metrics' | 'logs';
  readonly tenant: string;
  readonly service: string;
  readonly receivedat: string;
}
