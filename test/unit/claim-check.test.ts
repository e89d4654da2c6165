/**
 * Claim check: payloads too large to travel inline on the bus go to the object store, and the event carries a
 * CloudEvents `dataref` to them; consumers resolve it transparently. The in-memory bus refuses oversized records the
 * way Kafka does, so the embedded tier catches what production would.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryBus, DEFAULT_MAX_MESSAGE_BYTES } from '../../adapters/bus/memory.js';
import { FsObjectStore } from '../../adapters/objects/fs.js';
import { TOPICS, inlineLimit } from '../../events/registry.js';
import type { ArtifactSet } from '../../events/schemas.js';
import { createMetrics, noopLogger } from '../../runtime/observability.js';
import { CLAIM_CHECK_PREFIX, deliveryFromRecord, processEvent } from '../../runtime/process.js';
import { done, type EventStage, type StageContext } from '../../runtime/stage.js';
import type { ConsumedRecord } from '../../core/ports.js';

let dir: string;
let bus: MemoryBus;
let ctx: StageContext;
const captured: ConsumedRecord[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slo-scout-cc-'));
  bus = new MemoryBus();
  await bus.ensureTopics(
    [TOPICS.recommendations, TOPICS.artifacts, TOPICS.deadLetters].map((t) => ({
      name: t.name,
      partitions: 1,
      retentionMs: t.retentionMs,
      maxMessageBytes: t.maxMessageBytes,
    })),
  );
  captured.length = 0;
  await bus.subscribe(
    { group: 'capture', topics: [TOPICS.artifacts.name] },
    async (b) => void captured.push(...b),
  );
  ctx = {
    bus,
    objects: new FsObjectStore({ root: dir, bucket: 'claims' }),
    metrics: createMetrics(),
    log: noopLogger,
    now: () => new Date('2026-01-01T00:00:00Z'),
  };
});

afterEach(async () => {
  await bus.close();
  await rm(dir, { recursive: true, force: true });
});

const big: ArtifactSet = {
  id: 'as-big',
  request_id: 'r',
  generated_at: '2026-01-01T00:00:00.000Z',
  files: Array.from({ length: 40 }, (_, i) => ({
    path: `runbooks/r${i}.md`,
    media_type: 'text/markdown',
    content: `# runbook ${i}\n` + 'x'.repeat(20_000),
  })),
};

const producer: EventStage = {
  kind: 'event',
  name: 'producer',
  description: 'emits a large artifact set',
  trigger: { kind: 'topic', topics: ['recommendations'] },
  needs: [],
  handle: async () => done([{ topic: 'artifacts', key: big.id, data: big }]),
};

const seen: ArtifactSet[] = [];
const consumer: EventStage<ArtifactSet> = {
  kind: 'event',
  name: 'consumer',
  description: 'reads artifact sets',
  trigger: { kind: 'topic', topics: ['artifacts'] },
  needs: [],
  handle: async (input) => {
    seen.push(input.data);
    return done();
  },
};

const recommendationsEvent = () =>
  deliveryFromRecord(
    {
      topic: TOPICS.recommendations.name,
      key: 'r',
      headers: {
        ce_specversion: '1.0',
        ce_id: 'rec-1',
        ce_source: '/test',
        ce_type: TOPICS.recommendations.ceType,
        'content-type': 'application/json',
      },
      value: new TextEncoder().encode(
        JSON.stringify({
          schema_version: '1',
          request_id: 'r',
          generated_at: '2026-01-01T00:00:00.000Z',
          window: { start: '2026-01-01T00:00:00.000Z', end: '2026-01-01T01:00:00.000Z' },
          journeys: [],
        }),
      ),
    },
    'bus',
  );

describe('claim check', () => {
  it('the in-memory bus refuses records over the topic limit, like Kafka', async () => {
    const value = new Uint8Array(DEFAULT_MAX_MESSAGE_BYTES + 1);
    await expect(bus.publish(TOPICS.artifacts.name, [{ key: 'k', value, headers: {} }])).rejects.toThrow(
      /larger than the max message size/,
    );
  });

  it('offloads a payload above the inline limit and consumers resolve it', async () => {
    const f = await processEvent(producer, ctx, recommendationsEvent());
    expect(f).toEqual({ result: 'acked', outcome: 'done' });
    await bus.waitForIdle(5000);
    expect(captured).toHaveLength(1);
    const rec = captured[0]!;
    const ref = rec.headers['ce_dataref']!;
    expect(ref.startsWith(`${CLAIM_CHECK_PREFIX}${TOPICS.artifacts.name}/`)).toBe(true);
    expect(rec.value.length).toBe(0);
    const stored = await ctx.objects!.get(ref);
    expect(stored!.length).toBeGreaterThan(inlineLimit(TOPICS.artifacts));

    seen.length = 0;
    const g = await processEvent(consumer, ctx, deliveryFromRecord(rec, 'bus'));
    expect(g).toEqual({ result: 'acked', outcome: 'done' });
    expect(seen[0]).toEqual(big);
  });

  it('retries while the referenced payload is missing, and dead-letters a reference outside the prefix', async () => {
    await processEvent(producer, ctx, recommendationsEvent());
    await bus.waitForIdle(5000);
    const rec = captured[0]!;
    await ctx.objects!.delete(rec.headers['ce_dataref']!);
    const missing = await processEvent(consumer, ctx, deliveryFromRecord(rec, 'bus'));
    expect(missing.result).toBe('retry');
    const outside = await processEvent(
      consumer,
      ctx,
      deliveryFromRecord({ ...rec, headers: { ...rec.headers, ce_dataref: 'raw/secret' } }, 'bus'),
    );
    expect(outside).toMatchObject({ result: 'acked', outcome: 'dead-lettered' });
  });

  it('keeps small payloads inline', async () => {
    const small: EventStage = {
      ...producer,
      handle: async () =>
        done([{ topic: 'artifacts', key: 'a', data: { ...big, files: big.files.slice(0, 1) } }]),
    };
    await processEvent(small, ctx, recommendationsEvent());
    await bus.waitForIdle(5000);
    expect(captured[0]!.headers['ce_dataref']).toBeUndefined();
    expect(captured[0]!.value.length).toBeGreaterThan(0);
  });
});
