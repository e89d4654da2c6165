/**
 * Analysis: the pure chain journeys -> SLIs -> objectives that turns a window of rollups, the call graph and the
 * metric inventory into Recommendations (events/schemas.ts). Deterministic: the same input gives the same output.
 */
import type { JourneyRec, Recommendations } from '../../events/schemas.js';
import {
  DEFAULT_JOURNEY_OPTIONS,
  discoverJourneys,
  type AnalysisInput,
  type DiscoveredJourney,
  type JourneyOptions,
  type LogTemplateInfo,
} from './journeys.js';
import {
  DEFAULT_SLI_OPTIONS,
  protocolOf,
  recommendSlis,
  resolveSource,
  type KnowledgeCandidate,
  type KnowledgeQuery,
  type SliOptions,
} from './slis.js';

/** Locale-independent string order (output must not depend on the host locale). */
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export * from './journeys.js';
export * from './slis.js';

export interface AnalyseOptions {
  /** generated_at; defaults to the window end so that the output is reproducible. */
  readonly now?: Date;
  readonly requestId: string;
  readonly journeys?: Partial<JourneyOptions>;
  readonly slis?: Partial<SliOptions>;
  /** Log templates attached to each journey (top by errors, then volume). */
  readonly maxTemplatesPerJourney?: number;
  /**
   * Knowledge-base retrieval (e.g. core/knowledge): candidate SLI patterns for a journey, with scores and reasons.
   * Must be deterministic; candidates are cited in evidence and never change thresholds or objectives.
   */
  readonly knowledge?: (query: KnowledgeQuery) => readonly KnowledgeCandidate[];
}

/** Journey fields beyond the schema's required ones (the schema allows additional properties). */
export interface JourneyExtensions {
  rank: number;
  score: number;
  journey_type: 'request' | 'consumer' | 'batch';
  user_facing: boolean;
  dependency_services: string[];
  evidence: string[];
  log_templates?: { template_id: string; template: string; count: number; errors: number }[];
}

function templatesFor(service: string, templates: readonly LogTemplateInfo[] | undefined, max: number) {
  return (templates ?? [])
    .filter((t) => t.service === service)
    .sort((a, b) => b.errors - a.errors || b.count - a.count || cmp(a.templateId, b.templateId))
    .slice(0, max)
    .map((t) => ({ template_id: t.templateId, template: t.template, count: t.count, errors: t.errors }));
}

function toJourneyRec(
  j: DiscoveredJourney,
  input: AnalysisInput,
  sliOpts: SliOptions,
  opts: AnalyseOptions | undefined,
): JourneyRec & JourneyExtensions {
  const templates = templatesFor(j.service, input.templates, opts?.maxTemplatesPerJourney ?? 5);
  const knowledge = opts?.knowledge?.({
    service: j.service,
    entrypoint: j.entrypoint,
    journeyType: j.journeyType,
    protocol: protocolOf(j),
    source: resolveSource(j, input.inventory).kind,
  });
  return {
    id: j.id,
    name: j.name,
    service: j.service,
    entrypoint: j.entrypoint,
    kind: j.kind,
    rps: j.rps,
    error_ratio: j.errorRatio,
    latency_ms: j.latencyMs,
    criticality: j.criticality,
    low_traffic: j.lowTraffic,
    dependencies: j.dependencies,
    slis: recommendSlis(j, input.inventory, sliOpts, {
      window: input.window,
      ...(knowledge ? { knowledge } : {}),
    }),
    rank: j.rank,
    score: j.score,
    journey_type: j.journeyType,
    user_facing: j.isRoot,
    dependency_services: j.dependencyServices,
    evidence: j.evidence,
    ...(templates.length ? { log_templates: templates } : {}),
  };
}

/** Discovers journeys and recommends SLIs and objectives for each. Throws RangeError on an empty window. */
export function analyse(input: AnalysisInput, opts?: AnalyseOptions): Recommendations {
  const jOpts: JourneyOptions = { ...DEFAULT_JOURNEY_OPTIONS, ...opts?.journeys };
  const sOpts: SliOptions = { ...DEFAULT_SLI_OPTIONS, ...opts?.slis };
  const journeys = discoverJourneys(input, jOpts);
  const start = input.window.start.toISOString();
  const end = input.window.end.toISOString();
  return {
    schema_version: '1',
    request_id: opts?.requestId ?? `analysis-${start}`,
    generated_at: (opts?.now ?? input.window.end).toISOString(),
    window: { start, end },
    journeys: journeys.map((j) => toJourneyRec(j, input, sOpts, opts)),
  };
}
