/** generate: recommendations -> an artifact set (Prometheus rules, Grafana dashboards, runbooks, recommendations.json). */
import { createHash } from 'node:crypto';
import { generateArtifacts } from '../core/generate/index.js';
import type { Recommendations } from '../events/schemas.js';
import { loadMetricInventory } from '../adapters/db/inventory.js';
import { audit, saveArtifactSet } from '../adapters/db/repo.js';
import { done, port, type EventStage } from '../runtime/stage.js';

export const generate: EventStage<Recommendations> = {
  kind: 'event',
  name: 'generate',
  description: 'Writes multi-window multi-burn-rate Prometheus rules, Grafana dashboards and runbooks.',
  trigger: { kind: 'topic', topics: ['recommendations'] },
  needs: ['db'],
  scaling: { minScale: 0, maxScale: 2, concurrency: 1 },
  async handle(input, ctx) {
    const db = port(ctx, 'db');
    // Deterministic id: the same recommendations always give the same artifact set.
    const setId = `as-${createHash('sha256').update(input.event.id).digest('hex').slice(0, 16)}`;
    // Bucket layouts from the metric inventory: latency thresholds between buckets are measured honestly.
    const histogramBuckets: Record<string, readonly number[]> = {};
    for (const m of await loadMetricInventory(db))
      if (m.buckets?.length) histogramBuckets[m.name] = m.buckets;
    const set = generateArtifacts(input.data, {
      setId,
      generatedAt: input.data.generated_at,
      ...(Object.keys(histogramBuckets).length ? { histogramBuckets } : {}),
    });
    await saveArtifactSet(db, set);
    await audit(db, {
      actor: 'stage:generate',
      action: 'artifacts.generated',
      subject: set.id,
      detail: { files: set.files.length },
    });
    return done([{ topic: 'artifacts', key: set.id, data: set }]);
  },
};
