/**
 * analyze: discovers journeys and recommends SLIs/SLOs for a time window from stored rollups, call-graph edges, log
 * templates and the metric inventory, and cites the SLI knowledge base's best patterns for each journey. Emits the
 * recommendations (which trigger artifact generation) and stores them.
 */
import { analyse, type AnalysisInput, type KnowledgeCandidate } from '../core/analysis/index.js';
import { operationFacts } from '../core/callgraph.js';
import type { AnalysisRequest, Recommendations } from '../events/schemas.js';
import {
  audit,
  loadEdges,
  loadRollups,
  loadTemplates,
  resolveEdges,
  saveRecommendations,
} from '../adapters/db/repo.js';
import { loadMetricInventory } from '../adapters/db/inventory.js';
import { retrievePatterns } from '../adapters/vectors/knowledge.js';
import { done, poison, port, type EventStage, type StageContext } from '../runtime/stage.js';

const journeyKey = (service: string, entrypoint: string) => `${service}\u0000${entrypoint}`;

/** Log-template counts over the window (template rollups) joined with the templates' text. */
async function templateInfo(
  ctx: StageContext,
  rollups: AnalysisInput['rollups'],
): Promise<NonNullable<AnalysisInput['templates']>> {
  const totals = new Map<string, { service: string; count: number; errors: number }>();
  for (const r of rollups) {
    if (r.kind !== 'template') continue;
    const t = totals.get(r.key) ?? { service: r.service, count: 0, errors: 0 };
    t.count += r.count;
    t.errors += r.errors;
    totals.set(r.key, t);
  }
  if (totals.size === 0) return [];
  const text = new Map(
    (await loadTemplates(port(ctx, 'db'), { kind: 'log' })).map((t) => [t.templateId, t.template]),
  );
  return [...totals.entries()].flatMap(([templateId, t]) => {
    const template = text.get(templateId);
    return template === undefined ? [] : [{ templateId, template, ...t }];
  });
}

/** The knowledge base's top patterns for every journey of a first pass (retrieval needs the embedder: async). */
async function knowledgeFor(
  ctx: StageContext,
  rec: Recommendations,
  inventory: Awaited<ReturnType<typeof loadMetricInventory>>,
): Promise<Map<string, KnowledgeCandidate[]>> {
  const out = new Map<string, KnowledgeCandidate[]>();
  const embedder = port(ctx, 'embedder');
  for (const j of rec.journeys) {
    const logTemplates = (j as { log_templates?: readonly { template: string }[] }).log_templates ?? [];
    const templates = logTemplates.map((t) => t.template);
    const matches = await retrievePatterns(
      { embedder, ...(ctx.vectors ? { vectors: ctx.vectors } : {}) },
      {
        journey: { name: j.name, service: j.service, entrypoint: j.entrypoint, kind: j.kind },
        templates,
        inventory,
        topK: 3,
      },
    );
    out.set(
      journeyKey(j.service, j.entrypoint),
      matches.map((m) => ({
        id: m.pattern.id,
        score: m.score,
        title: m.pattern.title,
        reason: m.reason,
        ...(['availability', 'latency', 'freshness'].includes(m.pattern.sliKind)
          ? { sli_kind: m.pattern.sliKind as 'availability' | 'latency' | 'freshness' }
          : {}),
      })),
    );
  }
  return out;
}

export const analyze: EventStage<AnalysisRequest> = {
  kind: 'event',
  name: 'analyze',
  description: 'Finds critical user journeys and recommends SLIs and SLO targets from history.',
  trigger: { kind: 'topic', topics: ['analysisRequests'] },
  needs: ['db', 'embedder', 'vectors'],
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
    const analysisInput: AnalysisInput = {
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
      templates: await templateInfo(ctx, rollups),
    };
    const opts = { now: ctx.now(), requestId: input.data.request_id };
    const first = analyse(analysisInput, opts);
    // Second pass with the knowledge base's candidates: cited in evidence, never used to change numbers.
    const candidates = await knowledgeFor(ctx, first, inventory);
    const rec = analyse(analysisInput, {
      ...opts,
      knowledge: (q) => candidates.get(journeyKey(q.service, q.entrypoint)) ?? [],
    });
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
