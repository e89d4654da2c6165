/**
 * rollup: fingerprinted records -> per-minute rollups (stored, and published), plus the span parentage that analysis
 * turns into call graphs. Idempotent per event: a redelivered event is recognised and not counted twice.
 */
import { rollupRecords } from '../core/rollup.js';
import { spanKindNumber } from '../core/callgraph.js';
import type { FingerprintBatch } from '../events/schemas.js';
import { addRollups, addSpans, markProcessed } from '../adapters/db/repo.js';
import { done, port, type EventStage } from '../runtime/stage.js';

const MAX_ROLLUPS_PER_EVENT = 1000;

function nanosToDate(n: string): Date {
  return new Date(Number(BigInt(n) / 1_000_000n));
}

export const rollup: EventStage<FingerprintBatch> = {
  kind: 'event',
  name: 'rollup',
  description: 'Aggregates fingerprinted records into per-minute rollups and records span parentage.',
  trigger: { kind: 'topic', topics: ['fingerprints'] },
  needs: ['db'],
  scaling: { minScale: 1, maxScale: 10, concurrency: 4 },
  async handle(input, ctx) {
    const db = port(ctx, 'db');
    const rollups = rollupRecords(input.data.records);
    const spans = input.data.records
      .filter((r) => r.kind === 'span' && r.trace_id && r.span_id)
      .map((r) => ({
        traceId: r.trace_id!,
        spanId: r.span_id!,
        parentSpanId: r.parent_span_id ?? '',
        service: r.service,
        operation: r.operation,
        spanKind: spanKindNumber(r.span_kind ?? 'internal'),
        start: nanosToDate(r.time_unix_nano),
      }));
    const first = await db.transaction(async (tx) => {
      if (!(await markProcessed(tx, 'rollup', input.event.id))) return false;
      await addRollups(tx, rollups);
      if (spans.length) await addSpans(tx, spans);
      return true;
    });
    if (!first) ctx.log.debug('duplicate delivery ignored', { stage: 'rollup', id: input.event.id });
    const emits = [];
    for (let i = 0; i < rollups.length; i += MAX_ROLLUPS_PER_EVENT) {
      const chunk = rollups.slice(i, i + MAX_ROLLUPS_PER_EVENT);
      emits.push({ topic: 'rollups' as const, key: chunk[0]!.service, data: { rollups: chunk } });
    }
    return done(emits);
  },
};
