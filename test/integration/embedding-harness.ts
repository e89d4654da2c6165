/** Drives the embed stage directly (no host) and records the metrics it exports; shared by unit and integration tests. */
import { MemoryBus } from '../../adapters/bus/memory.js';
import type { Database, Embedder, Metrics, VectorStore } from '../../core/ports.js';
import { newEvent } from '../../events/cloudevents.js';
import { TOPICS } from '../../events/registry.js';
import type { EmbeddingRequest } from '../../events/schemas.js';
import { embed } from '../../functions/embed.js';
import type { StageContext } from '../../runtime/stage.js';

export interface RecordedMetrics extends Metrics {
  readonly counters: Map<string, number>;
  readonly gauges: Map<string, number[]>;
}

export function recordingMetrics(): RecordedMetrics {
  const counters = new Map<string, number>();
  const gauges = new Map<string, number[]>();
  return {
    counters,
    gauges,
    counter: (name, _help, _labels, by = 1) => void counters.set(name, (counters.get(name) ?? 0) + by),
    gauge: (name, _help, value) => void gauges.set(name, [...(gauges.get(name) ?? []), value]),
    observe: () => undefined,
  };
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

export function embedRunner(ports: { db: Database; vectors: VectorStore; embedder: Embedder }) {
  const metrics = recordingMetrics();
  const bus = new MemoryBus();
  const ctx: StageContext = { bus, ...ports, metrics, log: quiet, now: () => new Date() };
  return {
    metrics,
    async send(items: EmbeddingRequest['items'], tenant = 'acme'): Promise<void> {
      const event = newEvent(TOPICS.embeddingRequests, {
        source: 'test',
        data: { items },
        extensions: { tenant },
      });
      const out = await embed.handle(
        {
          event,
          data: { items },
          topic: TOPICS.embeddingRequests.name,
          key: null,
          transport: 'bus',
          attempt: 1,
        },
        ctx,
      );
      if (out.status !== 'done') throw new Error(`embed returned ${out.status}: ${out.reason}`);
    },
    close: () => bus.close(),
  };
}
