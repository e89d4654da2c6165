/**
 * analyze: discovers journeys and recommends SLIs/SLOs for a time window from stored rollups, call-graph edges and
 * the metric inventory. Emits the recommendations (which trigger artifact generation) and stores them.
 */
import { analyse } from '../core/analysis/index.js';
import { operationFacts } from '../core/callgraph.js';
import type { AnalysisRequest } from '../events/schemas.js';
import { loadEdges, loadRollups, resolveEdges, saveRecommendations, audit } from '../adapters/db/repo.js';
import { loadMetricInventory } from '../adapters/db/inventory.js';
import { done, poison, port, type EventStage } from '../runtime/stage.js';

export const analyze: EventStage<AnalysisRequest> = {
  kind: 'event',
  name: 'analyze',
  description: 'Finds critical user journeys and recommends SLIs and SLO targets from history.',
  trigger: { kind: 'topic', topics: ['analysisRequests'] },
  needs: ['db'],
  scaling: { minScale: 0, maxScale: 2, concurrency: 1 },
  async handle(input, ctx) {
    const db = port(ctx, 'db');
    const start = new Date(input.data.window.start);
    const end = new Date(input.data.window.end);
    if (!(start < end))
      return poison(
        `analysis window is empty: start ${input.data.window.start} >= end ${input.data.window.end}`,
      );
    await resolveEdges(db);
    const [rollups, edges, inventory] = await Promise.all([
      loadRollups(db, { start, end, ...(input.data.services ? { services: input.data.services } : {}) }),
      loadEdges(db),
      loadMetricInventory(db),
    ]);
    const rec = analyse(
      {
        window: { start, end },
        rollups,
        operations: operationFacts(edges),
        edges,
        inventory: inventory.map((e) => ({
          name: e.name,
          type: e.type,
          labels: [...e.labels],
          ...(e.buckets ? { buckets: [...e.buckets] } : {}),
        })),
      },
      { now: ctx.now(), requestId: input.data.request_id },
    );
    await saveRecommendations(db, rec);
    await audit(db, {
      actor: 'stage:analyze',
      action: 'recommendations.created',
      subject: rec.request_id,
      detail: { journeys: rec.journeys.length, slis: rec.journeys.reduce((n, j) => n + j.slis.length, 0) },
    });
    return done([{ topic: 'recommendations', key: rec.request_id, data: rec }]);
  },
};
