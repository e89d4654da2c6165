/**
 * Ports: the small interfaces the pure core and the stages depend on.
 * Adapters (adapters/*) implement them against real infrastructure; each has an in-memory or embedded twin,
 * and one contract suite (test/contracts/*) that runs against both.
 *
 * Nothing in here performs I/O; this file only declares shapes.
 */

/** A record as written to the bus. Values are opaque bytes; CloudEvents attributes travel as headers. */
export interface BusRecord {
  readonly key: string | null;
  readonly value: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
}

/** A record as read from the bus. */
export interface ConsumedRecord extends BusRecord {
  readonly topic: string;
  readonly partition: number;
  /** Kafka offsets are 64-bit; kept as a decimal string. */
  readonly offset: string;
  /** Milliseconds since the epoch, as assigned by the producer/broker. */
  readonly timestamp: number;
}

export interface SubscribeOptions {
  /** Consumer group: each group sees every record once (at least once). */
  readonly group: string;
  readonly topics: readonly string[];
  /** Where a group with no committed offset starts. Default: earliest. */
  readonly fromBeginning?: boolean;
  /** Upper bound on records handed to one handler call. */
  readonly maxBatch?: number;
}

/**
 * Called with a batch from one partition, in offset order. When the promise resolves, every record in the batch is
 * committed. When it rejects, nothing in the batch is committed and the batch is delivered again (after a back-off).
 */
export type BatchHandler = (batch: readonly ConsumedRecord[]) => Promise<void>;

export interface Subscription {
  /** Stop consuming; resolves after the in-flight batch settles and offsets are committed. */
  close(): Promise<void>;
}

export interface Bus {
  readonly kind: string;
  /** Resolves only once every record is durable (acks=all on Kafka). Rejects with BusUnavailableError on outage. */
  publish(topic: string, records: readonly BusRecord[]): Promise<void>;
  subscribe(options: SubscribeOptions, handler: BatchHandler): Promise<Subscription>;
  /** Create topics that do not exist yet (idempotent). */
  ensureTopics(topics: readonly TopicSpec[]): Promise<void>;
  close(): Promise<void>;
}

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  readonly retentionMs: number;
  /** Largest record the topic accepts (Kafka `max.message.bytes`). Default: the broker's (about 1 MiB). */
  readonly maxMessageBytes?: number;
}

/** Thrown/rejected by adapters when the backing service cannot be reached; hosts map it to back-pressure. */
export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
  constructor(
    message: string,
    readonly service: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly lastModified: Date;
  readonly contentType?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface PutOptions {
  readonly contentType?: string;
  readonly contentEncoding?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  /** Only write when no object exists at the key; returns the existing object's info otherwise. */
  readonly ifAbsent?: boolean;
}

export interface ObjectStore {
  readonly kind: string;
  readonly bucket: string;
  put(
    key: string,
    body: Uint8Array,
    options?: PutOptions,
  ): Promise<ObjectInfo & { readonly created: boolean }>;
  get(key: string): Promise<Uint8Array | null>;
  head(key: string): Promise<ObjectInfo | null>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

export interface SqlResult<R> {
  readonly rows: R[];
  readonly rowCount: number;
}

export interface SqlExecutor {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<SqlResult<R>>;
}

export interface DatabaseFeatures {
  /** TimescaleDB extension available (hypertables, continuous aggregates, compression, retention). */
  readonly timescale: boolean;
  /** pgvector available. */
  readonly vector: boolean;
}

export interface MigrationReport {
  readonly applied: readonly string[];
  readonly skipped: readonly string[];
}

/** A named lock held by one process at a time (leader election among replicas sharing a database). */
export interface DbLock {
  /** Still held? False once released or once the connection holding it is gone (then another may take it). */
  held(): Promise<boolean>;
  release(): Promise<void>;
}

export interface Database extends SqlExecutor {
  readonly kind: 'postgres' | 'pglite';
  features(): Promise<DatabaseFeatures>;
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Idempotent: applies pending migrations in order under an advisory lock. */
  migrate(): Promise<MigrationReport>;
  /**
   * Takes the lock `name` if nobody holds it, without waiting: the lock, or null when it is taken. PostgreSQL: a
   * session advisory lock on a dedicated connection (released by the server when that connection dies).
   */
  tryLock(name: string): Promise<DbLock | null>;
  close(): Promise<void>;
}

export interface VectorCollectionSpec {
  readonly name: string;
  readonly dim: number;
  readonly description?: string;
}

export interface VectorItem {
  readonly id: string;
  readonly vector: Float32Array | readonly number[];
  /** Tenant or service: stores partition by it. */
  readonly partition: string;
  readonly payload: Readonly<Record<string, string | number | boolean>>;
}

export interface VectorHit {
  readonly id: string;
  /** Cosine similarity in [-1, 1]; higher is closer. */
  readonly score: number;
  readonly partition: string;
  readonly payload: Readonly<Record<string, string | number | boolean>>;
}

export interface VectorSearchOptions {
  readonly topK: number;
  readonly partition?: string;
}

export interface VectorStore {
  readonly kind: string;
  ensureCollection(spec: VectorCollectionSpec): Promise<void>;
  /** Idempotent by id. */
  upsert(collection: string, items: readonly VectorItem[]): Promise<void>;
  search(
    collection: string,
    vector: Float32Array | readonly number[],
    options: VectorSearchOptions,
  ): Promise<VectorHit[]>;
  count(collection: string): Promise<number>;
  close(): Promise<void>;
}

export interface Embedder {
  /** 'transformers' for the real model; 'lexical' for the hashing fallback used when no model is present. */
  readonly kind: 'transformers' | 'lexical';
  readonly model: string;
  readonly dim: number;
  /** L2-normalised vectors, one per text, in input order. */
  embed(texts: readonly string[]): Promise<Float32Array[]>;
}

/** Minimal metric sink, so stages can count without knowing the exporter. */
export interface Metrics {
  counter(name: string, help: string, labels?: Readonly<Record<string, string>>, by?: number): void;
  gauge(name: string, help: string, value: number, labels?: Readonly<Record<string, string>>): void;
  observe(name: string, help: string, value: number, labels?: Readonly<Record<string, string>>): void;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}
