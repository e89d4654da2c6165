/**
 * A Bus whose topic names all carry a prefix on the wrapped bus: benchmarks and tests on a shared Kafka use run-unique
 * names so that the real topics (and their consumers) are never touched. Consumed records report the prefixed topic.
 */
import type { Bus } from '../../core/ports.js';

export function withTopicPrefix(inner: Bus, prefix: string): Bus {
  const name = (t: string) => `${prefix}${t}`;
  return {
    kind: inner.kind,
    publish: (t, r) => inner.publish(name(t), r),
    subscribe: (o, h) => inner.subscribe({ ...o, topics: o.topics.map(name) }, h),
    ensureTopics: (ts) => inner.ensureTopics(ts.map((t) => ({ ...t, name: name(t.name) }))),
    close: () => inner.close(),
  };
}
