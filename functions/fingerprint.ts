/**
 * fingerprint: raw telemetry -> PII-redacted fingerprinted records (+ embedding requests for newly seen templates).
 * Triggered by the raw OTLP trace/log topics and the Fluent Bit raw-log topic. OTLP metrics feed the metric inventory.
 */
import { decodeLogs, decodeMetrics, decodeTraces } from '../core/otlp/decode.js';
import {
  createRedactor,
  fingerprintLog,
  fingerprintRawLog,
  fingerprintSpan,
  RouteFolder,
  TemplateMiner,
} from '../core/fingerprint/index.js';
import type { FingerprintedRecord, RawLogBatch } from '../events/schemas.js';
import { TOPICS } from '../events/registry.js';
import { upsertTemplates } from '../adapters/db/repo.js';
import { SharedTemplateState } from '../adapters/db/templates.js';
import { upsertMetricInventory } from '../adapters/db/inventory.js';
import { inventoryFromPoints } from '../core/inventory.js';
import { done, poison, port, type Emit, type EventStage, type Inbound } from '../runtime/stage.js';

const MAX_RECORDS_PER_EVENT = 500;
const SEEN_CAP = 200_000;

export interface FingerprintStageOptions {
  /** Minimum time between two pulls of the shared template state (ms). Default 1000; 0 pulls before every event. */
  readonly syncIntervalMs?: number;
}

/**
 * One fingerprint instance with its own state. Template ids are content-derived, and the miner's state is shared
 * through the database (adapters/db/templates.ts): pulled before log events (at most every `syncIntervalMs`, and always
 * on the first event, which restores the state after a restart) and pushed after each event, so parallel instances
 * and restarts converge on the same ids.
 */
export function createFingerprintStage(
  opts: FingerprintStageOptions = {},
): EventStage<Uint8Array | RawLogBatch> {
  const syncIntervalMs = opts.syncIntervalMs ?? 1000;
  const redactor = createRedactor();
  const routes = new RouteFolder();
  const miner = new TemplateMiner();
  const shared = new SharedTemplateState(miner);
  let lastPull = Number.NEGATIVE_INFINITY;
  const seen = new Set<string>();
  const remember = (id: string): boolean => {
    if (seen.has(id)) return false;
    if (seen.size >= SEEN_CAP) seen.clear();
    seen.add(id);
    return true;
  };

  function groupByService(records: FingerprintedRecord[]): Map<string, FingerprintedRecord[]> {
    const m = new Map<string, FingerprintedRecord[]>();
    for (const r of records) {
      const l = m.get(r.service);
      if (l) l.push(r);
      else m.set(r.service, [r]);
    }
    return m;
  }

  function emitsFor(records: FingerprintedRecord[], remember: (id: string) => boolean): Emit[] {
    const emits: Emit[] = [];
    for (const [service, list] of groupByService(records)) {
      for (let i = 0; i < list.length; i += MAX_RECORDS_PER_EVENT) {
        emits.push({
          topic: 'fingerprints',
          key: service,
          data: { records: list.slice(i, i + MAX_RECORDS_PER_EVENT) },
        });
      }
    }
    const fresh = new Map<
      string,
      { id: string; kind: 'log_template' | 'route_template'; service: string; text: string }
    >();
    for (const r of records) {
      if (!remember(r.template_id)) continue;
      fresh.set(r.template_id, {
        id: r.template_id,
        kind: r.kind === 'span' ? 'route_template' : 'log_template',
        service: r.service,
        text: r.kind === 'span' ? `${r.service} ${r.template}` : r.template,
      });
    }
    if (fresh.size > 0) {
      const items = [...fresh.values()];
      for (let i = 0; i < items.length; i += 500) {
        emits.push({
          topic: 'embeddingRequests',
          key: items[i]!.service,
          data: { items: items.slice(i, i + 500) },
        });
      }
    }
    return emits;
  }

  return {
    kind: 'event',
    name: 'fingerprint',
    description: 'Redacts PII, normalises routes and mines log templates; emits fingerprinted records.',
    trigger: { kind: 'topic', topics: ['otlpTraces', 'otlpLogs', 'otlpMetrics', 'rawLogs'] },
    needs: ['db'],
    scaling: { minScale: 1, maxScale: 20, concurrency: 4 },
    async handle(input: Inbound<Uint8Array | RawLogBatch>, ctx) {
      const db = port(ctx, 'db');
      let records: FingerprintedRecord[];
      if (input.topic === TOPICS.otlpMetrics.name) {
        const points = decodeMetrics(input.data as Uint8Array);
        if (!points.ok) return poison(points.error);
        const inv = inventoryFromPoints(points.value);
        if (inv.length) await upsertMetricInventory(db, inv, ctx.now());
        return done();
      }
      if (input.topic === TOPICS.otlpTraces.name) {
        const spans = decodeTraces(input.data as Uint8Array);
        if (!spans.ok) return poison(spans.error);
        records = spans.value.map((s) => fingerprintSpan(s, { redactor, routes }));
      } else if (input.topic === TOPICS.otlpLogs.name) {
        const logs = decodeLogs(input.data as Uint8Array);
        if (!logs.ok) return poison(logs.error);
        await pullShared();
        records = logs.value.map((l) => fingerprintLog(l, { redactor, miner }));
      } else {
        const batch = input.data as RawLogBatch;
        await pullShared();
        records = batch.records.map((r) => fingerprintRawLog(r, { redactor, miner }));
      }
      await shared.push(db);
      if (records.length === 0) return done();
      const redactions: Record<string, number> = {};
      for (const r of records)
        for (const [k, v] of Object.entries(r.redactions ?? {})) redactions[k] = (redactions[k] ?? 0) + v;
      for (const [type, n] of Object.entries(redactions))
        ctx.metrics.counter('slo_scout_redactions_total', 'Values redacted, by type', { type }, n);

      const now = ctx.now();
      const templates = new Map<
        string,
        {
          templateId: string;
          service: string;
          kind: 'log' | 'route';
          template: string;
          seenAt: Date;
          count: number;
        }
      >();
      for (const r of records) {
        const t = templates.get(r.template_id);
        if (t) t.count++;
        else
          templates.set(r.template_id, {
            templateId: r.template_id,
            service: r.service,
            kind: r.kind === 'span' ? 'route' : 'log',
            template: r.template,
            seenAt: now,
            count: 1,
          });
      }
      await upsertTemplates(db, [...templates.values()]);
      return done(emitsFor(records, remember));

      async function pullShared(): Promise<void> {
        const t = ctx.now().getTime();
        if (t - lastPull < syncIntervalMs) return;
        lastPull = t;
        await shared.pull(db);
      }
    },
  };
}

export const fingerprint: EventStage<Uint8Array | RawLogBatch> = createFingerprintStage();
