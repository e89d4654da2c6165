/** Publishing one validated CloudEvent to a registry topic, for producers outside a stage Outcome (HTTP, CLI). */
import type { Bus } from '../core/ports.js';
import { newEvent, toBusRecord, type NewEvent } from '../events/cloudevents.js';
import { TOPICS, type TopicId } from '../events/registry.js';

export async function publishEvent(
  bus: Bus,
  topic: TopicId,
  key: string | null,
  e: NewEvent,
): Promise<string> {
  const ev = newEvent(TOPICS[topic], e);
  await bus.publish(TOPICS[topic].name, [toBusRecord(ev, key)]);
  return ev.id;
}
