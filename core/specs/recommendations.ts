/**
 * SLO specs -> Recommendations, so user-written specs go through the same native generator (rules with SLO-Scout
 * naming, dashboards, runbooks, promtool tests) as analysed ones. Each SLO becomes a journey with one SLI; the
 * spec's labels become alert labels through the journey's `labels` extension.
 */
import type { Recommendations } from '../../events/schemas.js';
import { goodTotalErrorRatio } from './sloth.js';
import type { SpecSlo } from './types.js';

const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 127) || 'slo';

/** Latency when the name or description says so; availability otherwise. */
const kindOf = (s: SpecSlo) =>
  /latenc|duration|slow|fast/i.test(`${s.name} ${s.description}`) ? 'latency' : 'availability';

export function specsToRecommendations(
  slos: readonly SpecSlo[],
  meta: { readonly requestId: string; readonly generatedAt: string; readonly defaultPeriod?: string },
): Recommendations {
  return {
    schema_version: '1',
    request_id: meta.requestId,
    generated_at: meta.generatedAt,
    window: { start: meta.generatedAt, end: meta.generatedAt },
    journeys: slos.map((s) => {
      const q =
        s.sli.kind === 'events'
          ? { bad_query: s.sli.errorQuery, total_query: s.sli.totalQuery }
          : s.sli.kind === 'good-total'
            ? { good_query: s.sli.goodQuery, total_query: s.sli.totalQuery }
            : s.sli.kind === 'raw'
              ? { error_ratio_query: s.sli.errorRatioQuery }
              : { error_ratio_query: goodTotalErrorRatio('', '') };
      return {
        id: slug(s.id),
        name: s.description ? `${s.service}: ${s.name}` : `${s.service} ${s.name}`,
        service: s.service,
        entrypoint: s.name,
        kind: 'request' as const,
        rps: 0,
        error_ratio: 0,
        latency_ms: {},
        criticality: 'medium' as const,
        low_traffic: false,
        dependencies: [],
        labels: { ...s.labels },
        slis: [
          {
            id: slug(s.id),
            kind: kindOf(s),
            ...q,
            observed: {},
            objective: s.objective,
            window: s.timeWindow ?? meta.defaultPeriod ?? '30d',
            confidence: 1,
            evidence: [
              `imported from a spec: ${s.description || s.id}`,
              `objective ${s.objective}% set by the spec author, not derived from history`,
            ],
          },
        ],
      };
    }),
  };
}
