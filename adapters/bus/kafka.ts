/**
 * KafkaBus: the Bus port on Apache Kafka.
 *
 * Producing uses @platformatic/kafka: `producers` idempotent producers (acks=all, one request in flight each), with
 * Java-compatible murmur2 key partitioning. publish() calls are coalesced into sends as Kafka's own producers batch:
 * a batch leaves when its oldest record has waited `lingerMs` or it is full (grouped per topic, order kept); each
 * publish() resolves only when its own records are acknowledged and rejects if the send carrying them fails. Broker
 * outages reject with UnavailableError(…, 'kafka').
 * (kafkajs produced here before; per byte it spent 2-3x the CPU on record encoding — copies and zero-filled buffer
 * growth — which made the OTLP collector's Kafka path several times more expensive than receiving; see
 * `npm run bench -- ingest`.)
 *
 * Consuming and topic administration use kafkajs: one consumer per subscription (groupId = options.group), eachBatch
 * without auto-resolve or auto-commit. A fetched partition batch is handed to the handler in chunks of at most
 * `maxBatch`; after a chunk's handler resolves its offsets are resolved and committed; when it rejects, nothing is
 * committed, the consumer seeks back to the chunk's first offset and backs off (exponential, capped at 1 s,
 * heart-beating meanwhile), so the same records are delivered again.
 *
 * `fromBeginning: false` means "records published after subscribe() was called": the end offsets of partitions the
 * group has no committed offset for are captured before the consumer joins, and the consumer starts there (kafkajs'
 * own "latest" is resolved at first fetch, which can be after records the caller already published).
 */
import * as zlib from 'node:zlib';
import kafkajs from 'kafkajs';
import {
  CompressionTypes,
  Kafka,
  logLevel as KafkaLogLevel,
  type Admin,
  type Consumer,
  type KafkaConfig,
  type LogEntry,
  type SASLOptions,
} from 'kafkajs';
import type { ConnectionOptions } from 'node:tls';
import {
  DEFAULT_KAFKA_COMPRESSION,
  isKafkaCompression,
  KAFKA_COMPRESSIONS,
  type KafkaCompression,
} from './kafka-compression.js';
import {
  compatibilityPartitioner,
  compressionsAlgorithms,
  Producer as PltProducer,
  stringSerializer,
  type SASLOptions as PltSaslOptions,
} from '@platformatic/kafka';
import {
  UnavailableError,
  type BatchHandler,
  type Bus,
  type BusRecord,
  type ConsumedRecord,
  type Logger,
  type SubscribeOptions,
  type Subscription,
  type TopicSpec,
} from '../../core/ports.js';

export {
  DEFAULT_KAFKA_COMPRESSION,
  isKafkaCompression,
  KAFKA_COMPRESSIONS,
  type KafkaCompression,
} from './kafka-compression.js';

export type KafkaLogLevelName = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

export interface KafkaBusOptions {
  readonly brokers: readonly string[];
  readonly clientId?: string;
  readonly ssl?: boolean | ConnectionOptions;
  readonly sasl?:
    | { readonly mechanism: 'plain'; readonly username: string; readonly password: string }
    | {
        readonly mechanism: 'scram-sha-256' | 'scram-sha-512';
        readonly username: string;
        readonly password: string;
      };
  /**
   * A batch is sent once its oldest record has waited this long, or earlier when it reaches maxBatchBytes (also
   * while records queue behind a send in flight). Default 5 ms.
   */
  readonly lingerMs?: number;
  /** Upper bound on one send (approximate: keys + values + headers). Default 1 MiB. */
  readonly maxBatchBytes?: number;
  /**
   * Number of idempotent producers publishing concurrently (each with its own broker connections and at most one
   * request in flight). A record key always goes through the same producer, so per-key order is kept. Default 1:
   * one producer's requests carry every partition it has records for, which costs the least CPU per record (the
   * ingest bench measured 15-20 % less than 4); more producers only help when the broker round trip, not the
   * collector's CPU, limits throughput (a distant cluster).
   */
  readonly producers?: number;
  /**
   * Record batch compression; consumers of this module (and Java clients) decode every kind. Default
   * DEFAULT_KAFKA_COMPRESSION (snappy); zstd needs node:zlib zstd (Node >= 22.15).
   */
  readonly compression?: KafkaCompression;
  /** kafkajs log level. Default 'warn'. */
  readonly logLevel?: KafkaLogLevelName;
  /** Where kafkajs logs go. Default: one JSON object per line on stderr. */
  readonly logger?: Logger;
  /** Connection/request timeouts in ms. Defaults 3 000 / 30 000. */
  readonly connectionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  /** kafkajs retries for a failing request before it gives up (then publish rejects). Default 5. */
  readonly retries?: number;
  /** Replication factor for ensureTopics. Default: the broker's default. */
  readonly replicationFactor?: number;
  /** Default upper bound on records per handler call. Default 500. */
  readonly defaultMaxBatch?: number;
  /** How long subscribe() waits for the consumer to join its group. Default 60 s. */
  readonly joinTimeoutMs?: number;
  /** Told about every handler rejection (the chunk is redelivered). */
  readonly onHandlerError?: (
    error: unknown,
    info: { group: string; topic: string; partition: number },
  ) => void;
}

// ---- error mapping ------------------------------------------------------------------------------------------------

const UNAVAILABLE_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSTimeout',
  'KafkaJSLockTimeout',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSGroupCoordinatorNotFound',
]);
const UNAVAILABLE_TYPES = new Set([
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
  'NOT_LEADER_OR_FOLLOWER',
  'REQUEST_TIMED_OUT',
  'NOT_ENOUGH_REPLICAS',
  'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
  'NETWORK_EXCEPTION',
  'BROKER_NOT_AVAILABLE',
  'GROUP_LOAD_IN_PROGRESS',
  'GROUP_COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR_FOR_GROUP',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR',
]);

/** The fields both clients' errors carry (kafkajs: name/type/originalError; @platformatic/kafka: code/apiId/errors). */
interface KafkaErrorLike {
  name?: string;
  type?: string;
  code?: string;
  /** @platformatic/kafka ProtocolError: the Kafka error name (e.g. NOT_LEADER_OR_FOLLOWER). */
  apiId?: string;
  message?: string;
  cause?: unknown;
  originalError?: unknown;
  /** AggregateError (@platformatic/kafka MultipleErrors): every attempt's error. */
  errors?: unknown;
}

/** Every error reachable from `e` through cause/originalError/errors (breadth-first, bounded). */
function chain(e: unknown): KafkaErrorLike[] {
  const out: KafkaErrorLike[] = [];
  const queue: unknown[] = [e];
  const seen = new Set<unknown>();
  while (queue.length > 0 && out.length < 32) {
    const cur = queue.shift();
    if (!cur || typeof cur !== 'object' || seen.has(cur)) continue;
    seen.add(cur);
    const x = cur as KafkaErrorLike;
    out.push(x);
    if (x.cause) queue.push(x.cause);
    if (x.originalError) queue.push(x.originalError);
    if (Array.isArray(x.errors)) queue.push(...(x.errors as unknown[]));
  }
  return out;
}

/** @platformatic/kafka error codes for a broker that cannot be reached or did not answer in time. */
const UNAVAILABLE_CODES =
  /^(PLT_KFK_NETWORK|PLT_KFK_TIMEOUT|E(CONNREFUSED|CONNRESET|TIMEDOUT|HOSTUNREACH|NETUNREACH|PIPE|AI_AGAIN|NOTFOUND))$/;

/** Maps client failures: outages -> UnavailableError, unknown topics -> a clear Error, anything else unchanged. */
export function mapKafkaError(e: unknown, what: string): unknown {
  if (e instanceof UnavailableError) return e;
  const links = chain(e);
  const unknownTopic = (x: KafkaErrorLike) =>
    x.type === 'UNKNOWN_TOPIC_OR_PARTITION' ||
    x.apiId === 'UNKNOWN_TOPIC_OR_PARTITION' ||
    // @platformatic/kafka's metadata lookup reports a missing topic as a UserError with this message
    (x.code === 'PLT_KFK_USER' && /^Unknown topic /.test(x.message ?? ''));
  if (links.some(unknownTopic)) {
    return new Error(`${what}: unknown topic (create it with ensureTopics first)`, { cause: e });
  }
  const unavailable = links.some(
    (x) =>
      (x.name !== undefined && UNAVAILABLE_NAMES.has(x.name)) ||
      (x.type !== undefined && UNAVAILABLE_TYPES.has(x.type)) ||
      (x.apiId !== undefined && UNAVAILABLE_TYPES.has(x.apiId)) ||
      (x.code !== undefined && UNAVAILABLE_CODES.test(x.code)),
  );
  if (unavailable) {
    const msg =
      links
        .map((x) => x.message)
        .filter(Boolean)
        .at(-1) ?? String(e);
    return new UnavailableError(`kafka unavailable during ${what}: ${msg}`, 'kafka', { cause: e });
  }
  return e;
}

// ---- app-side batching --------------------------------------------------------------------------------------------

export interface TopicBatch<M> {
  readonly topic: string;
  readonly messages: M[];
}

interface Pending<M> {
  readonly topic: string;
  readonly messages: readonly M[];
  readonly bytes: number;
  /** performance.now() when added: a batch leaves once its oldest record has waited lingerMs. */
  readonly at: number;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

/**
 * One FIFO send pipeline with one send in flight. A batch leaves when it holds maxBatchBytes or when its oldest
 * record has waited lingerMs (as Kafka's own producers do), whichever comes first — also for records that queued up
 * behind a send in flight, so a busy lane sends fewer, larger batches instead of one per round trip.
 */
class Lane<M> {
  private queue: Pending<M>[] = [];
  private queuedBytes = 0;
  /** Set while drain() waits for the linger to pass: wakes it early (batch full, or flush). */
  private wake: (() => void) | null = null;
  private urgent = false;
  sending: Promise<void> | null = null;

  constructor(
    private readonly index: number,
    private readonly send: (batches: TopicBatch<M>[], lane: number) => Promise<void>,
    private readonly lingerMs: number,
    private readonly maxBatchBytes: number,
  ) {}

  get pending(): number {
    return this.queue.length;
  }

  add(p: Pending<M>): void {
    this.queue.push(p);
    this.queuedBytes += p.bytes;
    if (this.queuedBytes >= this.maxBatchBytes) this.wake?.();
    this.start();
  }

  /** Sends what is queued without waiting for the linger (flush, close). */
  kick(): void {
    this.urgent = true;
    this.wake?.();
    this.start();
  }

  private start(): void {
    if (this.sending || this.queue.length === 0) return;
    this.sending = this.drain().finally(() => {
      this.sending = null;
      this.urgent = false;
      // records added while the last send settled
      if (this.queue.length > 0) this.start();
    });
  }

  private lingerFor(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      if (!this.urgent && this.queuedBytes < this.maxBatchBytes) {
        const wait = this.queue[0]!.at + this.lingerMs - performance.now();
        if (wait > 0.5) await this.lingerFor(wait);
        if (this.queue.length === 0) return;
      }
      const take: Pending<M>[] = [];
      let bytes = 0;
      while (
        this.queue.length > 0 &&
        (take.length === 0 || bytes + this.queue[0]!.bytes <= this.maxBatchBytes)
      ) {
        const p = this.queue.shift()!;
        bytes += p.bytes;
        take.push(p);
      }
      this.queuedBytes -= bytes;
      const byTopic = new Map<string, M[]>();
      for (const p of take) {
        const list = byTopic.get(p.topic);
        if (!list) byTopic.set(p.topic, p.messages.slice());
        else for (const m of p.messages) list.push(m);
      }
      try {
        await this.send(
          [...byTopic].map(([topic, messages]) => ({ topic, messages })),
          this.index,
        );
        for (const p of take) p.resolve();
      } catch (e) {
        for (const p of take) p.reject(e);
      }
    }
  }
}

/**
 * Coalesces add() calls made within `lingerMs` into sends of at most `maxBatchBytes` (never splitting one add()).
 * There are `lanes` independent FIFO pipelines; each has at most one send in flight, so adds on the same lane are
 * sent — and settle — in the order they were made. Different lanes send concurrently. Each add() settles with the
 * send that carried its messages.
 */
export class PublishBatcher<M> {
  private readonly lanes: Lane<M>[];

  constructor(
    send: (batches: TopicBatch<M>[], lane: number) => Promise<void>,
    lingerMs: number,
    maxBatchBytes: number,
    lanes = 1,
  ) {
    if (!(lingerMs >= 0)) throw new Error('lingerMs must be >= 0');
    if (!(maxBatchBytes > 0)) throw new Error('maxBatchBytes must be > 0');
    if (!Number.isInteger(lanes) || lanes < 1) throw new Error('lanes must be a positive integer');
    this.lanes = Array.from({ length: lanes }, (_, i) => new Lane(i, send, lingerMs, maxBatchBytes));
  }

  get laneCount(): number {
    return this.lanes.length;
  }

  add(topic: string, messages: readonly M[], bytes: number, lane = 0): Promise<void> {
    const l = this.lanes[lane];
    if (!l) throw new Error(`lane ${lane} out of range 0..${this.lanes.length - 1}`);
    return new Promise<void>((resolve, reject) =>
      l.add({ topic, messages, bytes, at: performance.now(), resolve, reject }),
    );
  }

  /** Sends everything queued now; resolves when nothing is queued or in flight on any lane. */
  async flush(): Promise<void> {
    await Promise.all(
      this.lanes.map(async (l) => {
        while (l.pending > 0 || l.sending) {
          l.kick();
          await l.sending?.catch(() => undefined);
        }
      }),
    );
  }

  get pending(): number {
    return this.lanes.reduce((n, l) => n + l.pending, 0);
  }
}

/** Lane of a record key: FNV-1a over the UTF-16 code units, so one key always takes the same lane. */
export function laneOf(key: string, lanes: number): number {
  if (lanes === 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % lanes;
}

// ---- compression --------------------------------------------------------------------------------------------------

/**
 * Producers (@platformatic/kafka) compress each partition's record batch: snappy and lz4 (Kafka's LZ4 frame) with the
 * library's WebAssembly codecs, gzip and zstd with node:zlib. Consumers (kafkajs) ship only GZIP, so the other codecs
 * are registered on kafkajs' public codec table with the same implementations: every consumer created from this
 * module reads what any producer wrote. (A named import of CompressionCodecs is not detectable in kafkajs' CommonJS
 * exports: it is taken off the default export.)
 */
type PltCodec = {
  compressSync: (d: unknown) => Buffer;
  decompressSync: (d: Buffer) => Buffer;
  available?: boolean;
};
const PLT_CODECS = compressionsAlgorithms as unknown as Record<string, PltCodec | undefined>;
function pltCodec(name: string): PltCodec {
  const c = PLT_CODECS[name];
  if (!c || typeof c.compressSync !== 'function' || typeof c.decompressSync !== 'function')
    throw new Error(`@platformatic/kafka: unexpected compression table (no ${name} codec)`);
  return c;
}
for (const [type, name] of [
  [CompressionTypes.Snappy, 'snappy'],
  [CompressionTypes.LZ4, 'lz4'],
] as const) {
  const codec = pltCodec(name);
  kafkajs.CompressionCodecs[type] = () => ({
    compress: (encoder: { buffer: Buffer }) => Promise.resolve(codec.compressSync(encoder.buffer)),
    decompress: (buffer: Buffer) => Promise.resolve(codec.decompressSync(buffer)),
  });
}

/** zstd level for produced record batches: level 1 compresses OTLP about as well as the default 3, twice as fast. */
export const ZSTD_LEVEL = 1;
const ZSTD_AVAILABLE = typeof zlib.zstdCompressSync === 'function';
if (ZSTD_AVAILABLE) {
  const zstdOptions = (size: number): zlib.ZstdOptions => ({
    // the input size up front lets zstd size its window and tables to the batch (a third faster on ~50 KB batches)
    pledgedSrcSize: size,
    params: { [zlib.constants.ZSTD_c_compressionLevel]: ZSTD_LEVEL },
  });
  kafkajs.CompressionCodecs[CompressionTypes.ZSTD] = () => ({
    compress: (encoder: { buffer: Buffer }) =>
      Promise.resolve(zlib.zstdCompressSync(encoder.buffer, zstdOptions(encoder.buffer.length))),
    decompress: (buffer: Buffer) => Promise.resolve(zlib.zstdDecompressSync(buffer)),
  });
  // @platformatic/kafka compresses zstd at its default level 3 and offers no setting for it; its codec table is a
  // public export, so the zstd entry's compressor is replaced by one at ZSTD_LEVEL (synchronous, on the thread that
  // is accounted for). test/unit/kafka-codecs.test.ts checks the table still has this shape.
  const zstd = pltCodec('zstd');
  zstd.compressSync = (data: unknown) => {
    const buf = Buffer.isBuffer(data) ? data : (data as { buffer: Buffer }).buffer; // a DynamicBuffer has .buffer
    return zlib.zstdCompressSync(buf, zstdOptions(buf.length));
  };
}

// ---- the bus ------------------------------------------------------------------------------------------------------

const LEVELS: Record<KafkaLogLevelName, KafkaLogLevel> = {
  nothing: KafkaLogLevel.NOTHING,
  error: KafkaLogLevel.ERROR,
  warn: KafkaLogLevel.WARN,
  info: KafkaLogLevel.INFO,
  debug: KafkaLogLevel.DEBUG,
};

function logCreatorFor(logger: Logger | undefined): KafkaConfig['logCreator'] {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const {
        message,
        timestamp: _ts,
        logger: _l,
        stack,
        ...fields
      } = log as LogEntry['log'] & { logger?: unknown; stack?: unknown };
      if (level === KafkaLogLevel.DEBUG && stack !== undefined)
        (fields as Record<string, unknown>).stack = stack;
      const msg = `kafkajs ${namespace}: ${message}`;
      if (logger) {
        const f = fields as Record<string, unknown>;
        if (level === KafkaLogLevel.ERROR) logger.error(msg, f);
        else if (level === KafkaLogLevel.WARN) logger.warn(msg, f);
        else if (level === KafkaLogLevel.INFO) logger.info(msg, f);
        else logger.debug(msg, f);
        return;
      }
      const label =
        level === KafkaLogLevel.ERROR
          ? 'error'
          : level === KafkaLogLevel.WARN
            ? 'warn'
            : level === KafkaLogLevel.INFO
              ? 'info'
              : 'debug';
      process.stderr.write(
        `${JSON.stringify({ time: new Date().toISOString(), level: label, msg, ...fields })}\n`,
      );
    };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function recordBytes(r: BusRecord): number {
  let n = r.value.length + (r.key === null ? 0 : Buffer.byteLength(r.key)) + 16;
  for (const [k, v] of Object.entries(r.headers)) n += Buffer.byteLength(k) + Buffer.byteLength(v) + 4;
  return n;
}

function headerString(v: Buffer | string | (Buffer | string)[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return headerString(v[v.length - 1]);
  return typeof v === 'string' ? v : v.toString('utf8');
}

/** One record as handed to a @platformatic/kafka producer (key and headers are serialised as UTF-8 strings). */
interface OutMessage {
  readonly topic: string;
  readonly key: string | undefined;
  readonly value: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

type BusProducer = PltProducer<string, Buffer, string, string>;

const PLT_SASL: Record<NonNullable<KafkaBusOptions['sasl']>['mechanism'], PltSaslOptions['mechanism']> = {
  plain: 'PLAIN',
  'scram-sha-256': 'SCRAM-SHA-256',
  'scram-sha-512': 'SCRAM-SHA-512',
};

export class KafkaBus implements Bus {
  readonly kind = 'kafka';
  private readonly kafka: Kafka;
  private readonly options: KafkaBusOptions;
  private readonly batcher: PublishBatcher<OutMessage>;
  private readonly producers: (BusProducer | null)[];
  private readonly compression: KafkaCompression;
  private nextNullLane = 0;
  private nextNullPartition = 0;
  private admin: Admin | null = null;
  private adminReady: Promise<Admin> | null = null;
  private readonly subscriptions = new Set<Subscription>();
  private closed = false;

  constructor(options: KafkaBusOptions) {
    if (options.brokers.length === 0) throw new Error('KafkaBus: at least one broker is required');
    this.options = options;
    let sasl: SASLOptions | undefined;
    if (options.sasl) sasl = { ...options.sasl } as SASLOptions;
    this.kafka = new Kafka({
      clientId: options.clientId ?? 'slo-scout',
      brokers: [...options.brokers],
      ...(options.ssl !== undefined ? { ssl: options.ssl } : {}),
      ...(sasl ? { sasl } : {}),
      connectionTimeout: options.connectionTimeoutMs ?? 3_000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      retry: { retries: options.retries ?? 5, initialRetryTime: 100, maxRetryTime: 5_000 },
      logLevel: LEVELS[options.logLevel ?? 'warn'],
      logCreator: logCreatorFor(options.logger),
    });
    const lanes = options.producers ?? 1;
    if (!Number.isInteger(lanes) || lanes < 1 || lanes > 64)
      throw new Error(`KafkaBus: producers must be an integer in 1..64, got ${lanes}`);
    this.producers = Array.from({ length: lanes }, () => null);
    this.compression = options.compression ?? DEFAULT_KAFKA_COMPRESSION;
    if (!isKafkaCompression(this.compression))
      throw new Error(
        `KafkaBus: compression must be one of ${KAFKA_COMPRESSIONS.join(', ')}, got ${String(this.compression)}`,
      );
    if (this.compression === 'zstd' && !ZSTD_AVAILABLE)
      throw new Error('KafkaBus: zstd compression needs node:zlib zstd (Node >= 22.15)');
    this.batcher = new PublishBatcher<OutMessage>(
      async (batches, lane) => {
        const producer = this.producer(lane);
        const messages: OutMessage[] = [];
        for (const b of batches) for (const m of b.messages) messages.push(m);
        try {
          await producer.send({ messages });
        } catch (e) {
          throw mapKafkaError(e, `publish to ${batches.map((b) => b.topic).join(', ')}`);
        }
      },
      options.lingerMs ?? 5,
      options.maxBatchBytes ?? 1_048_576,
      lanes,
    );
  }

  async publish(topic: string, records: readonly BusRecord[]): Promise<void> {
    if (this.closed) throw new Error('KafkaBus is closed');
    if (typeof topic !== 'string' || topic.length === 0)
      throw new Error('publish: topic must be a non-empty string');
    if (records.length === 0) return;
    // Split by lane (key -> producer) keeping the records' order within each lane; keyless records of one call
    // stay together on one lane (Kafka gives them no order across partitions anyway).
    const lanes = this.batcher.laneCount;
    const nullLane = lanes === 1 ? 0 : this.nextNullLane++ % lanes;
    const perLane: { messages: OutMessage[]; bytes: number }[] = [];
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      if (!(r.value instanceof Uint8Array))
        throw new TypeError(`publish ${topic}: record ${i} value must be a Uint8Array`);
      if (r.key !== null && typeof r.key !== 'string')
        throw new TypeError(`publish ${topic}: record ${i} key must be a string or null`);
      const lane = r.key === null ? nullLane : laneOf(r.key, lanes);
      const slot = (perLane[lane] ??= { messages: [], bytes: 0 });
      slot.bytes += recordBytes(r);
      slot.messages.push({
        topic,
        key: r.key ?? undefined,
        value: Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength),
        headers: r.headers,
      });
    }
    const sends: Promise<void>[] = [];
    perLane.forEach((slot, lane) => {
      if (slot) sends.push(this.batcher.add(topic, slot.messages, slot.bytes, lane));
    });
    if (sends.length === 1) await sends[0];
    else await Promise.all(sends);
  }

  async ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    if (this.closed) throw new Error('KafkaBus is closed');
    if (topics.length === 0) return;
    const admin = await this.connectedAdmin();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t.name));
      if (missing.length === 0) return;
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          replicationFactor: this.options.replicationFactor ?? -1,
          configEntries: [
            { name: 'retention.ms', value: String(t.retentionMs) },
            ...(t.maxMessageBytes !== undefined
              ? [{ name: 'max.message.bytes', value: String(t.maxMessageBytes) }]
              : []),
          ],
        })),
      });
    } catch (e) {
      const mapped = mapKafkaError(e, 'ensureTopics');
      // A concurrent creator may have won: createTopics reports TOPIC_ALREADY_EXISTS in that case.
      if (chain(e).some((x) => x.type === 'TOPIC_ALREADY_EXISTS')) return;
      throw mapped;
    }
  }

  async subscribe(options: SubscribeOptions, handler: BatchHandler): Promise<Subscription> {
    if (this.closed) throw new Error('KafkaBus is closed');
    if (!options.group) throw new Error('subscribe: group must be a non-empty string');
    if (options.topics.length === 0) throw new Error('subscribe: at least one topic is required');
    const maxBatch = options.maxBatch ?? this.options.defaultMaxBatch ?? 500;
    if (!Number.isInteger(maxBatch) || maxBatch < 1)
      throw new Error(`subscribe: maxBatch must be a positive integer, got ${maxBatch}`);
    const topics = [...new Set(options.topics)];
    const group = options.group;

    // Where to start partitions the group has no offset for, when the caller asked for "latest".
    const startAt = new Map<string, bigint>();
    if (options.fromBeginning === false) {
      const admin = await this.connectedAdmin();
      try {
        const committed = await admin.fetchOffsets({ groupId: group, topics });
        for (const { topic, partitions } of committed) {
          const missing = partitions.filter((p) => BigInt(p.offset) < 0n);
          if (missing.length === 0) continue;
          const ends = await admin.fetchTopicOffsets(topic);
          for (const p of missing) {
            const high = ends.find((x) => x.partition === p.partition)?.high;
            if (high !== undefined) startAt.set(`${topic}\u0000${p.partition}`, BigInt(high));
          }
        }
      } catch (e) {
        throw mapKafkaError(e, `subscribe ${group}`);
      }
    }

    const consumer: Consumer = this.kafka.consumer({
      groupId: group,
      allowAutoTopicCreation: false,
      sessionTimeout: 30_000,
      rebalanceTimeout: 60_000,
      heartbeatInterval: 3_000,
      maxWaitTimeInMs: 250,
      retry: { retries: this.options.retries ?? 5, initialRetryTime: 100, maxRetryTime: 5_000 },
    });
    const failures = new Map<string, number>();
    let running = true;

    const joined = new Promise<void>((resolve, reject) => {
      const off = consumer.on(consumer.events.GROUP_JOIN, () => {
        off();
        resolve();
      });
      // kafkajs restarts the consumer itself after retriable crashes (e.g. a coordinator still loading on a
      // freshly started broker): keep waiting for the join then; give up only on a crash it will not restart from.
      const offCrash = consumer.on(consumer.events.CRASH, (ev) => {
        if (ev.payload.restart) return;
        offCrash();
        reject(mapKafkaError(ev.payload.error, `subscribe ${group}`));
      });
    });
    joined.catch(() => undefined); // observed below; a crash after the join must not become an unhandled rejection

    try {
      await consumer.connect();
      await consumer.subscribe({ topics, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          const { topic, partition } = batch;
          const tp = `${topic}\u0000${partition}`;
          let messages = batch.messages;
          const start = startAt.get(tp);
          if (start !== undefined) {
            const last = messages.at(-1);
            if (last && BigInt(last.offset) < start) {
              // Everything here predates subscribe(): jump straight to the captured end.
              startAt.delete(tp);
              consumer.seek({ topic, partition, offset: String(start) });
              await consumer.commitOffsets([{ topic, partition, offset: String(start) }]);
              return;
            }
            startAt.delete(tp);
            const skipped = messages.filter((m) => BigInt(m.offset) < start);
            if (skipped.length > 0) resolveOffset(skipped.at(-1)!.offset);
            messages = messages.filter((m) => BigInt(m.offset) >= start);
          }
          for (let i = 0; i < messages.length; i += maxBatch) {
            if (!running || !isRunning() || isStale()) return;
            const chunk = messages.slice(i, i + maxBatch);
            const records: ConsumedRecord[] = chunk.map((m) => {
              const headers: Record<string, string> = {};
              for (const [k, v] of Object.entries(m.headers ?? {})) {
                const s = headerString(v);
                if (s !== undefined) headers[k] = s;
              }
              return {
                topic,
                partition,
                offset: m.offset,
                timestamp: Number(m.timestamp),
                key: m.key === null ? null : m.key.toString('utf8'),
                value: m.value === null ? new Uint8Array(0) : new Uint8Array(m.value),
                headers,
              };
            });
            try {
              await handler(records);
            } catch (e) {
              const n = (failures.get(tp) ?? 0) + 1;
              failures.set(tp, n);
              try {
                this.options.onHandlerError?.(e, { group, topic, partition });
              } catch {
                // an observer must not break delivery
              }
              consumer.seek({ topic, partition, offset: chunk[0]!.offset });
              const until = Date.now() + Math.min(1_000, 10 * 2 ** (n - 1));
              while (Date.now() < until && running && isRunning()) {
                await sleep(Math.min(250, until - Date.now()));
                await heartbeat().catch(() => undefined);
              }
              return;
            }
            failures.delete(tp);
            const last = chunk.at(-1)!.offset;
            resolveOffset(last);
            await consumer.commitOffsets([{ topic, partition, offset: (BigInt(last) + 1n).toString() }]);
            await heartbeat();
          }
        },
      });
      let timer: NodeJS.Timeout | undefined;
      const joinTimeout = this.options.joinTimeoutMs ?? 60_000;
      await Promise.race([
        joined,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new UnavailableError(
                  `consumer group ${group} did not join within ${joinTimeout} ms`,
                  'kafka',
                ),
              ),
            joinTimeout,
          );
        }),
      ]).finally(() => clearTimeout(timer));
    } catch (e) {
      running = false;
      await consumer.disconnect().catch(() => undefined);
      throw mapKafkaError(e, `subscribe ${group} to ${topics.join(', ')}`);
    }

    let closing: Promise<void> | null = null;
    const sub: Subscription = {
      close: () => {
        closing ??= (async () => {
          running = false;
          this.subscriptions.delete(sub);
          // disconnect() stops the runner after the in-flight batch settles (and its commit is done).
          await consumer.disconnect();
        })();
        return closing;
      },
    };
    this.subscriptions.add(sub);
    return sub;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.batcher.flush();
    await Promise.allSettled([...this.subscriptions].map((s) => s.close()));
    await Promise.allSettled([...this.producers.map((p) => p?.close()), this.admin?.disconnect()]);
  }

  // ---- internals ------------------------------------------------------------------------------------------------

  /**
   * The producer of a lane, created on first use (it connects lazily). Idempotent: @platformatic/kafka then keeps
   * one request in flight per producer, and sequence numbers are per producer and partition, so concurrent lanes
   * use separate producers rather than overlapping requests.
   */
  private producer(lane: number): BusProducer {
    const existing = this.producers[lane];
    if (existing) return existing;
    const o = this.options;
    const retries = o.retries ?? 5;
    const tls = o.ssl === undefined || o.ssl === false ? undefined : o.ssl === true ? {} : o.ssl;
    const producer: BusProducer = new PltProducer<string, Buffer, string, string>({
      clientId: o.clientId ?? 'slo-scout',
      bootstrapBrokers: [...o.brokers],
      ...(tls ? { tls } : {}),
      ...(o.sasl
        ? {
            sasl: {
              mechanism: PLT_SASL[o.sasl.mechanism],
              username: o.sasl.username,
              password: o.sasl.password,
            },
          }
        : {}),
      connectTimeout: o.connectionTimeoutMs ?? 3_000,
      timeout: o.requestTimeoutMs ?? 30_000,
      // At least 2: @platformatic/kafka turns an idempotent producer's 0 or 1 into "retry forever", and an outage
      // must end in a rejected publish (back-pressure for the collectors), not an endless wait.
      retries: Math.max(2, retries),
      retryDelay: (_client, _op, attempt) => Math.min(5_000, 100 * 2 ** Math.max(0, attempt - 1)),
      idempotent: true,
      acks: -1,
      compression: this.compression,
      autocreateTopics: false,
      // Java-compatible murmur2 for keys (as kafkajs, the Java client and MemoryBus); keyless records spread out.
      partitioner: (message, key) =>
        Buffer.isBuffer(key)
          ? compatibilityPartitioner(message, key)
          : (this.nextNullPartition = (this.nextNullPartition + 1) >>> 0),
      serializers: { key: stringSerializer, headerKey: stringSerializer, headerValue: stringSerializer },
    });
    this.producers[lane] = producer;
    return producer;
  }

  private connectedAdmin(): Promise<Admin> {
    this.adminReady ??= (async () => {
      const admin = this.kafka.admin({
        retry: { retries: this.options.retries ?? 5, initialRetryTime: 100, maxRetryTime: 5_000 },
      });
      try {
        await admin.connect();
      } catch (e) {
        await admin.disconnect().catch(() => undefined);
        throw mapKafkaError(e, 'connect admin');
      }
      this.admin = admin;
      return admin;
    })().catch((e: unknown) => {
      this.adminReady = null;
      throw e;
    });
    return this.adminReady;
  }
}
