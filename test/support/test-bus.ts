/**
 * A Bus wrapper for host tests: records every record that was durably published, can fail publishing on demand
 * (an outage of the bus as seen by producers, while consumers keep running), and can inject records past the
 * failure (an upstream producer that is not affected). Consumption is the wrapped bus' (MemoryBus by default).
 */
import { MemoryBus } from '../../adapters/bus/memory.js';
import {
  UnavailableError,
  type BatchHandler,
  type Bus,
  type BusRecord,
  type SubscribeOptions,
  type Subscription,
  type TopicSpec,
} from '../../core/ports.js';
import { fromBusRecord, type CloudEvent } from '../../events/cloudevents.js';
import { ALL_TOPICS } from '../../events/registry.js';

export class RecordingBus implements Bus {
  readonly kind = 'recording';
  private readonly published = new Map<string, BusRecord[]>();
  /** When set, publish() to a topic it accepts rejects with UnavailableError. */
  failing: ((topic: string) => boolean) | null = null;
  publishCalls = 0;

  constructor(readonly inner: Bus) {}

  static async memory(): Promise<RecordingBus> {
    const inner = new MemoryBus({ autoCreate: true });
    await inner.ensureTopics(
      ALL_TOPICS.map((t) => ({ name: t.name, partitions: 1, retentionMs: t.retentionMs })),
    );
    return new RecordingBus(inner);
  }

  async publish(topic: string, records: readonly BusRecord[]): Promise<void> {
    this.publishCalls++;
    if (this.failing?.(topic))
      throw new UnavailableError(`test bus: publish to ${topic} failed (injected)`, 'bus');
    await this.inner.publish(topic, records);
    const list = this.published.get(topic) ?? [];
    list.push(...records);
    this.published.set(topic, list);
  }

  /** Feeds input records to consumers without going through the failure switch or the record of emits. */
  inject(topic: string, records: readonly BusRecord[]): Promise<void> {
    return this.inner.publish(topic, records);
  }

  subscribe(options: SubscribeOptions, handler: BatchHandler): Promise<Subscription> {
    return this.inner.subscribe(options, handler);
  }

  ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    return this.inner.ensureTopics(topics);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  records(topic: string): BusRecord[] {
    return [...(this.published.get(topic) ?? [])];
  }

  /** Every record published so far, on any topic. */
  total(): number {
    let n = 0;
    for (const l of this.published.values()) n += l.length;
    return n;
  }

  events(topic: string): CloudEvent[] {
    return this.records(topic).map((r) => {
      const ev = fromBusRecord(r);
      if (!ev.ok) throw new Error(`record on ${topic} is not a CloudEvent: ${ev.error}`);
      return ev.value;
    });
  }

  /** JSON payloads of the records on a topic. */
  payloads<T = unknown>(topic: string): T[] {
    return this.events(topic).map((e) => JSON.parse(new TextDecoder().decode(e.data)) as T);
  }

  /** Polls until at least `n` records were published to `topic`. */
  async waitFor(topic: string, n: number, timeoutMs = 5_000): Promise<BusRecord[]> {
    await waitUntil(
      () => this.records(topic).length >= n,
      timeoutMs,
      () => {
        return `expected ${n} record(s) on ${topic}, have ${this.records(topic).length}`;
      },
    );
    return this.records(topic);
  }
}

export async function waitUntil(
  cond: () => boolean,
  timeoutMs = 5_000,
  what: () => string = () => 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
