/**
 * MemoryBus: an in-process twin of the Kafka bus.
 *
 * Semantics kept from Kafka (the bus contract runs against both):
 * - topics have N partitions; a keyed record goes to murmur2(key) % N (the same function as Kafka's and kafkajs'
 *   default partitioner, so a key lands on the same partition number on both); a null key goes round robin;
 * - each partition is an append-only log with offsets starting at 0;
 * - consumer groups keep a committed offset per partition; every group sees every record; members of one group share
 *   the partitions (each partition is handled by one member at a time);
 * - at least once: a handler gets one partition's records in offset order; when it resolves the batch is committed,
 *   when it rejects nothing is committed and the same records are delivered again after an exponential back-off
 *   (capped at 1 s);
 * - a group with no committed offset starts at the earliest retained record (`fromBeginning`, the default) or at the
 *   end of each partition as of `subscribe()`.
 *
 * Delivery is always asynchronous (never inside `publish()`), partitions are processed concurrently, one batch per
 * partition at a time.
 *
 * Memory: records stay in memory until every known group has committed past them; `retainRecords` (per partition,
 * default: unbounded) additionally bounds how many already-consumed records are kept for groups that join later with
 * `fromBeginning`. A group that subscribes after records were trimmed starts at the earliest retained offset, like a
 * Kafka consumer after retention deleted old segments. Per-topic time retention (`retentionMs`) is not enforced.
 *
 * Beyond the Bus port: `waitForIdle()`, `lag()` and `setAvailable()` (failure injection for tests).
 */
import {
  UnavailableError,
  type BatchHandler,
  type Bus,
  type BusRecord,
  type ConsumedRecord,
  type SubscribeOptions,
  type Subscription,
  type TopicSpec,
} from '../../core/ports.js';

export interface MemoryBusOptions {
  /** Publishing to or subscribing to an unknown topic creates it with one partition. Default false: it rejects. */
  readonly autoCreate?: boolean;
  /**
   * Per partition, how many records that every group has already committed are still kept for late joiners.
   * Default: keep everything (fine for the demo's volumes).
   */
  readonly retainRecords?: number;
  /** Default upper bound on records per handler call when the subscriber gives none. Default 500. */
  readonly defaultMaxBatch?: number;
  /** First redelivery back-off in ms (doubles per failure, capped at `maxBackoffMs`). Default 10. */
  readonly initialBackoffMs?: number;
  /** Default 1000. */
  readonly maxBackoffMs?: number;
  /** Told about every handler rejection (the batch will be redelivered). */
  readonly onHandlerError?: (
    error: unknown,
    info: { group: string; topic: string; partition: number },
  ) => void;
}

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 (as in the Java client and kafkajs), over the UTF-8 bytes of the key. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k =
      (data[i4]! & 0xff) |
      ((data[i4 + 1]! & 0xff) << 8) |
      ((data[i4 + 2]! & 0xff) << 16) |
      ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const tail = length & ~3;
  const rest = length % 4;
  if (rest === 3) h ^= (data[tail + 2]! & 0xff) << 16;
  if (rest >= 2) h ^= (data[tail + 1]! & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[tail]! & 0xff;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

const encoder = new TextEncoder();

/** The partition Kafka's default partitioner picks for a non-null key. */
export function partitionForKey(key: string, partitions: number): number {
  return (murmur2(encoder.encode(key)) & 0x7fffffff) % partitions;
}

interface StoredRecord {
  readonly key: string | null;
  readonly value: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  readonly timestamp: number;
}

interface Partition {
  /** Offset of records[0]. */
  base: number;
  records: StoredRecord[];
}

interface Topic {
  readonly name: string;
  readonly partitions: Partition[];
  readonly retentionMs: number;
  /** Like Kafka's max.message.bytes: a larger record is refused. */
  readonly maxMessageBytes: number;
  rr: number;
}

/** Kafka's broker default for message.max.bytes (1 MiB plus record-batch overhead). */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

interface PartitionCursor {
  /** Next offset to deliver = committed offset (Kafka convention: the offset of the next record to read). */
  committed: number;
  busy: boolean;
  failures: number;
  retryAt: number;
}

interface Member {
  readonly id: number;
  readonly topics: readonly string[];
  readonly maxBatch: number;
  readonly handler: BatchHandler;
  closed: boolean;
  inFlight: Set<Promise<void>>;
}

interface Group {
  readonly name: string;
  /** topic -> per-partition cursor */
  readonly cursors: Map<string, PartitionCursor[]>;
  readonly members: Member[];
  running: number;
}

const end = (p: Partition): number => p.base + p.records.length;

function checkRecord(topic: string, r: BusRecord, i: number): void {
  if (r === null || typeof r !== 'object')
    throw new TypeError(`publish ${topic}: record ${i} is not an object`);
  if (r.key !== null && typeof r.key !== 'string')
    throw new TypeError(`publish ${topic}: record ${i} key must be a string or null`);
  if (!(r.value instanceof Uint8Array))
    throw new TypeError(`publish ${topic}: record ${i} value must be a Uint8Array`);
  if (r.headers === null || typeof r.headers !== 'object')
    throw new TypeError(`publish ${topic}: record ${i} headers must be an object`);
  for (const [k, v] of Object.entries(r.headers)) {
    if (typeof v !== 'string')
      throw new TypeError(`publish ${topic}: record ${i} header ${k} must be a string`);
  }
}

export class MemoryBus implements Bus {
  readonly kind = 'memory';
  private readonly topics = new Map<string, Topic>();
  private readonly groups = new Map<string, Group>();
  private readonly autoCreate: boolean;
  private readonly retainRecords: number;
  private readonly defaultMaxBatch: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly onHandlerError: MemoryBusOptions['onHandlerError'];
  private available = true;
  private closed = false;
  private nextMemberId = 1;
  private scheduled = false;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private idleWaiters = new Set<() => void>();

  constructor(options: MemoryBusOptions = {}) {
    this.autoCreate = options.autoCreate ?? false;
    this.retainRecords = options.retainRecords ?? Infinity;
    this.defaultMaxBatch = options.defaultMaxBatch ?? 500;
    this.initialBackoffMs = options.initialBackoffMs ?? 10;
    this.maxBackoffMs = options.maxBackoffMs ?? 1000;
    this.onHandlerError = options.onHandlerError;
    if (!(this.retainRecords >= 0)) throw new Error('MemoryBus: retainRecords must be >= 0');
    if (!(this.defaultMaxBatch >= 1)) throw new Error('MemoryBus: defaultMaxBatch must be >= 1');
  }

  /** Failure injection: while unavailable, publish() and ensureTopics() reject with UnavailableError. */
  setAvailable(available: boolean): void {
    this.available = available;
  }

  async ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    this.assertOpen();
    if (!this.available) throw new UnavailableError('memory bus is unavailable (injected)', 'memory-bus');
    for (const t of topics) {
      if (typeof t.name !== 'string' || t.name.length === 0)
        throw new Error('ensureTopics: topic name must be a non-empty string');
      if (!Number.isInteger(t.partitions) || t.partitions < 1) {
        throw new Error(
          `ensureTopics: topic ${t.name} needs a positive integer partition count, got ${String(t.partitions)}`,
        );
      }
      if (!this.topics.has(t.name))
        this.createTopic(t.name, t.partitions, t.retentionMs, t.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
    }
  }

  async publish(topic: string, records: readonly BusRecord[]): Promise<void> {
    this.assertOpen();
    if (!this.available)
      throw new UnavailableError(
        `memory bus is unavailable (injected); publish to ${topic} failed`,
        'memory-bus',
      );
    records.forEach((r, i) => checkRecord(topic, r, i));
    const t = this.topicOrCreate(topic);
    for (const r of records) {
      // What Kafka counts: key + value + headers (record overhead aside).
      let size = r.value.length + (r.key === null ? 0 : Buffer.byteLength(r.key));
      for (const [k, v] of Object.entries(r.headers)) size += Buffer.byteLength(k) + Buffer.byteLength(v);
      if (size > t.maxMessageBytes)
        throw new Error(
          `record of ${size} bytes is larger than the max message size of ${topic} (${t.maxMessageBytes} bytes)`,
        );
    }
    const now = Date.now();
    for (const r of records) {
      const n = t.partitions.length;
      const p = r.key === null ? t.rr++ % n : partitionForKey(r.key, n);
      t.partitions[p]!.records.push({
        key: r.key,
        value: r.value.slice(),
        headers: { ...r.headers },
        timestamp: now,
      });
    }
    if (records.length > 0) this.schedule();
  }

  async subscribe(options: SubscribeOptions, handler: BatchHandler): Promise<Subscription> {
    this.assertOpen();
    if (typeof options.group !== 'string' || options.group.length === 0)
      throw new Error('subscribe: group must be a non-empty string');
    if (options.topics.length === 0) throw new Error('subscribe: at least one topic is required');
    const maxBatch = options.maxBatch ?? this.defaultMaxBatch;
    if (!Number.isInteger(maxBatch) || maxBatch < 1)
      throw new Error(`subscribe: maxBatch must be a positive integer, got ${maxBatch}`);
    const topics = [...new Set(options.topics)].map((name) => this.topicOrCreate(name));
    let group = this.groups.get(options.group);
    if (!group) {
      group = { name: options.group, cursors: new Map(), members: [], running: 0 };
      this.groups.set(options.group, group);
    }
    const fromBeginning = options.fromBeginning ?? true;
    for (const t of topics) {
      if (!group.cursors.has(t.name)) {
        group.cursors.set(
          t.name,
          t.partitions.map((p) => ({
            committed: fromBeginning ? p.base : end(p),
            busy: false,
            failures: 0,
            retryAt: 0,
          })),
        );
      }
    }
    const member: Member = {
      id: this.nextMemberId++,
      topics: topics.map((t) => t.name),
      maxBatch,
      handler,
      closed: false,
      inFlight: new Set(),
    };
    group.members.push(member);
    this.schedule();
    const g = group;
    let closing: Promise<void> | null = null;
    return {
      close: () => {
        closing ??= (async () => {
          member.closed = true;
          const i = g.members.indexOf(member);
          if (i >= 0) g.members.splice(i, 1);
          while (member.inFlight.size > 0) await Promise.allSettled([...member.inFlight]);
          this.schedule();
          this.notifyIdle();
        })();
        return closing;
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const inFlight: Promise<void>[] = [];
    for (const g of this.groups.values()) {
      for (const m of g.members) {
        m.closed = true;
        inFlight.push(...m.inFlight);
      }
      g.members.length = 0;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await Promise.allSettled(inFlight);
    this.notifyIdle();
  }

  /** Records not yet committed, per group (every group ever subscribed, across all its topics). */
  lag(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const g of this.groups.values()) {
      let n = 0;
      for (const [topic, cursors] of g.cursors) {
        const t = this.topics.get(topic)!;
        cursors.forEach((c, i) => (n += Math.max(0, end(t.partitions[i]!) - c.committed)));
      }
      out[g.name] = n;
    }
    return out;
  }

  /**
   * Resolves once every group that has an active subscription has committed up to the end of every partition of
   * every topic it consumes and no handler is running. Chains settle too: a handler that publishes does so before it
   * resolves, so the downstream group has lag before the upstream one commits. Rejects after `timeoutMs` naming the
   * groups that still lag.
   */
  waitForIdle(timeoutMs = 30_000): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.idleWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.idleWaiters.delete(done);
        const busy = Object.entries(this.lag())
          .filter(([g, n]) => n > 0 || (this.groups.get(g)?.running ?? 0) > 0)
          .map(([g, n]) => `${g}: lag ${n}, running ${this.groups.get(g)?.running ?? 0}`);
        reject(
          new Error(
            `MemoryBus did not drain within ${timeoutMs} ms (${busy.join('; ') || 'no lagging group'})`,
          ),
        );
      }, timeoutMs);
      this.idleWaiters.add(done);
    });
  }

  // ---- internals ------------------------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw new Error('MemoryBus is closed');
  }

  private createTopic(
    name: string,
    partitions: number,
    retentionMs: number,
    maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES,
  ): Topic {
    const t: Topic = {
      name,
      retentionMs,
      maxMessageBytes,
      rr: 0,
      partitions: Array.from({ length: partitions }, () => ({ base: 0, records: [] })),
    };
    this.topics.set(name, t);
    return t;
  }

  private topicOrCreate(name: string): Topic {
    if (typeof name !== 'string' || name.length === 0)
      throw new Error('topic name must be a non-empty string');
    const t = this.topics.get(name);
    if (t) return t;
    if (!this.autoCreate)
      throw new Error(
        `unknown topic ${name} (call ensureTopics first, or construct MemoryBus with autoCreate)`,
      );
    return this.createTopic(name, 1, 0);
  }

  private isIdle(): boolean {
    for (const g of this.groups.values()) {
      if (g.running > 0) return false;
      if (g.members.length === 0) continue;
      const consumed = new Set(g.members.flatMap((m) => m.topics));
      for (const topic of consumed) {
        const t = this.topics.get(topic)!;
        const cursors = g.cursors.get(topic)!;
        for (let i = 0; i < cursors.length; i++)
          if (cursors[i]!.committed < end(t.partitions[i]!)) return false;
      }
    }
    return true;
  }

  private notifyIdle(): void {
    if (this.idleWaiters.size === 0 || !this.isIdle()) return;
    for (const w of [...this.idleWaiters]) w();
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private scheduleAt(at: number): void {
    if (this.closed || at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.timerAt = Infinity;
        this.pump();
      },
      Math.max(0, at - Date.now()),
    );
  }

  /** Starts a handler call for every partition that has records, is not busy and is not backing off. */
  private pump(): void {
    if (this.closed) return;
    const now = Date.now();
    let nextRetry = Infinity;
    for (const g of this.groups.values()) {
      if (g.members.length === 0) continue;
      for (const [topic, cursors] of g.cursors) {
        const owners = g.members.filter((m) => m.topics.includes(topic));
        if (owners.length === 0) continue;
        const t = this.topics.get(topic)!;
        for (let i = 0; i < cursors.length; i++) {
          const c = cursors[i]!;
          const p = t.partitions[i]!;
          if (c.busy) continue;
          if (c.committed < p.base) c.committed = p.base; // trimmed under a group that had not consumed them
          if (c.committed >= end(p)) continue;
          if (c.retryAt > now) {
            nextRetry = Math.min(nextRetry, c.retryAt);
            continue;
          }
          this.deliver(g, owners[i % owners.length]!, t, i, c);
        }
      }
    }
    if (nextRetry < Infinity) this.scheduleAt(nextRetry);
    this.trim();
  }

  private deliver(g: Group, member: Member, t: Topic, partition: number, c: PartitionCursor): void {
    const p = t.partitions[partition]!;
    const from = c.committed;
    const to = Math.min(end(p), from + member.maxBatch);
    const batch: ConsumedRecord[] = [];
    for (let o = from; o < to; o++) {
      const r = p.records[o - p.base]!;
      batch.push({
        topic: t.name,
        partition,
        offset: String(o),
        timestamp: r.timestamp,
        key: r.key,
        value: r.value.slice(),
        headers: { ...r.headers },
      });
    }
    c.busy = true;
    g.running++;
    const run = (async () => {
      try {
        await member.handler(batch);
        if (c.committed === from) c.committed = to;
        c.failures = 0;
        c.retryAt = 0;
      } catch (e) {
        c.failures++;
        c.retryAt = Date.now() + Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** (c.failures - 1));
        try {
          this.onHandlerError?.(e, { group: g.name, topic: t.name, partition });
        } catch {
          // an observer must not break delivery
        }
      } finally {
        c.busy = false;
        g.running--;
      }
    })();
    member.inFlight.add(run);
    void run.then(() => {
      member.inFlight.delete(run);
      this.schedule();
      this.notifyIdle();
    });
  }

  /** Drops records that every group has committed, keeping `retainRecords` of them per partition. */
  private trim(): void {
    if (this.retainRecords === Infinity) return;
    for (const t of this.topics.values()) {
      t.partitions.forEach((p, i) => {
        let min = end(p);
        for (const g of this.groups.values()) {
          const c = g.cursors.get(t.name)?.[i];
          if (c) min = Math.min(min, c.committed);
        }
        const drop = min - this.retainRecords - p.base;
        if (drop > 0 && drop >= Math.min(1024, p.records.length / 2)) {
          p.records.splice(0, drop);
          p.base += drop;
        }
      });
    }
  }
}
