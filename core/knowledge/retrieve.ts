/**
 * Pure half of SLI pattern retrieval: build the query text for a journey, and combine vector similarity with hard
 * evidence from the metric inventory into one score per pattern, with a reason a person can read.
 *
 * score = 0.45·similarity⁺ + 0.35·metrics·(0.6 + 0.4·labels) + 0.1·service + 0.1·kind
 *   similarity⁺  cosine similarity of the journey text and the pattern text, clipped to [0, 1]
 *   metrics      share of the pattern's required metric families present in the inventory with the right type
 *   labels       share of the labels the good/total semantics need that those metrics carry
 *   service      1 when a matched metric is emitted by the journey's service (or its service is unknown: 0.5)
 *   kind         1 when the pattern fits the journey's kind (request / async / job)
 * Without any required metric present a pattern keeps only its similarity and kind terms (at most 0.55); set
 * `evidenceRequired` to drop such patterns entirely.
 */
import type { MetricInventoryEntry } from '../inventory.js';
import { SLI_CATALOGUE, patternText, renderPromql } from './catalogue.js';
import type { PatternMetric, SliCatalogue, SliPattern } from './types.js';

/** What retrieval needs to know about a journey (DiscoveredJourney from core/analysis fits structurally). */
export interface JourneyDescriptor {
  readonly id?: string;
  readonly name: string;
  readonly service: string;
  readonly entrypoint?: string;
  /** 'request' (synchronous server), 'async' (consumer), 'job' (batch); free text otherwise. */
  readonly kind?: string;
  /** OTel span kind of the entry point, when known ('server', 'consumer', …). */
  readonly spanKind?: string;
  readonly description?: string;
}

export interface RetrievalQuery {
  readonly journey: JourneyDescriptor;
  /** Log and route templates seen on the journey (most frequent first); the first 20 are used. */
  readonly templates: readonly string[];
  readonly inventory: readonly MetricInventoryEntry[];
  /** How many matches to return; default 5. */
  readonly topK?: number;
  /** Drop patterns none of whose metrics exist; default false. */
  readonly evidenceRequired?: boolean;
}

export interface MetricEvidence {
  /** The pattern's requirement (name or pattern). */
  readonly wanted: string;
  /** The inventory family that satisfies it, or null. */
  readonly found: string | null;
  readonly labelsPresent: readonly string[];
  readonly labelsMissing: readonly string[];
  readonly fromService: boolean;
}

export interface PatternMatch {
  readonly pattern: SliPattern;
  /** Final score in [0, 1]. */
  readonly score: number;
  /** Raw cosine similarity from the vector store (or in-memory), before clipping. */
  readonly similarity: number;
  readonly evidence: readonly MetricEvidence[];
  /** Share of required metrics present, in [0, 1]. */
  readonly metricCoverage: number;
  /** PromQL with `$METRIC` and the pattern's default parameters filled in; `$SEL` left for the caller. */
  readonly promql: { readonly good: string; readonly total: string };
  readonly reason: string;
}

const MAX_TEMPLATES = 20;

/** The text embedded for a journey query. */
export function journeyQueryText(journey: JourneyDescriptor, templates: readonly string[]): string {
  const parts = [
    journey.name,
    journey.entrypoint && journey.entrypoint !== journey.name ? journey.entrypoint : '',
    `service ${journey.service}`,
    journey.kind ? `${journey.kind} journey` : '',
    journey.spanKind ? `${journey.spanKind} span` : '',
    journey.description ?? '',
    ...templates.slice(0, MAX_TEMPLATES),
  ];
  return parts.filter((p) => p !== '').join('. ');
}

const family = (name: string) => name.replace(/_(bucket|count|sum)$/, '');

function matchesMetric(want: PatternMetric, e: MetricInventoryEntry): boolean {
  const typeOk = want.type === e.type || (want.type === 'histogram' && e.type === 'summary');
  if (!typeOk) return false;
  const fam = family(e.name);
  if (want.name !== undefined) return e.name === want.name || fam === want.name;
  if (want.pattern !== undefined) return new RegExp(`^(?:${want.pattern})$`).test(fam);
  return false;
}

function evidenceFor(
  want: PatternMetric,
  inventory: readonly MetricInventoryEntry[],
  service: string,
): MetricEvidence {
  const candidates = inventory.filter((e) => matchesMetric(want, e));
  // prefer the family the journey's service emits, then the one with the most required labels
  const rank = (e: MetricInventoryEntry) =>
    (e.services.includes(service) ? 100 : 0) + want.labels.filter((l) => e.labels.includes(l)).length;
  const best = [...candidates].sort((a, b) => rank(b) - rank(a) || (a.name < b.name ? -1 : 1))[0];
  const wanted = want.name ?? want.pattern ?? '';
  if (!best) {
    return { wanted, found: null, labelsPresent: [], labelsMissing: [...want.labels], fromService: false };
  }
  return {
    wanted,
    found: family(best.name),
    labelsPresent: want.labels.filter((l) => best.labels.includes(l)),
    labelsMissing: want.labels.filter((l) => !best.labels.includes(l)),
    fromService: best.services.includes(service),
  };
}

function kindOf(j: JourneyDescriptor): 'request' | 'async' | 'job' | undefined {
  const k = (j.kind ?? '').toLowerCase();
  const sk = (j.spanKind ?? '').toLowerCase();
  if (k === 'job' || k === 'batch' || k === 'cron') return 'job';
  if (k === 'async' || sk === 'consumer') return 'async';
  if (k === 'request' || sk === 'server') return 'request';
  return undefined;
}

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

/** Score one pattern against a query given its similarity. */
export function scorePattern(p: SliPattern, similarity: number, q: RetrievalQuery): PatternMatch {
  const evidence = p.metrics.map((m) => evidenceFor(m, q.inventory, q.journey.service));
  const present = evidence.filter((e) => e.found !== null);
  const metricCoverage = evidence.length === 0 ? 0 : present.length / evidence.length;
  const wantedLabels = present.reduce((n, e) => n + e.labelsPresent.length + e.labelsMissing.length, 0);
  const labelCoverage =
    wantedLabels === 0 ? 1 : present.reduce((n, e) => n + e.labelsPresent.length, 0) / wantedLabels;
  const anyService = present.some((e) => e.fromService);
  const serviceKnown = q.inventory.some((e) => e.services.length > 0);
  const service = present.length === 0 ? 0 : anyService ? 1 : serviceKnown ? 0 : 0.5;
  const jk = kindOf(q.journey);
  const kind = jk === undefined ? 0.5 : p.journeyKinds.includes(jk) ? 1 : 0;
  const sim = Math.max(0, Math.min(1, similarity));
  const score = 0.45 * sim + 0.35 * metricCoverage * (0.6 + 0.4 * labelCoverage) + 0.1 * service + 0.1 * kind;

  const reasons: string[] = [`similarity ${round(similarity, 2)} to "${p.title}"`];
  if (present.length === 0) {
    reasons.push(`no required metric in the inventory (wants ${evidence.map((e) => e.wanted).join(', ')})`);
  } else {
    for (const e of present) {
      const labels =
        e.labelsMissing.length > 0
          ? `missing labels ${e.labelsMissing.join(', ')}`
          : e.labelsPresent.length > 0
            ? `labels ${e.labelsPresent.join(', ')} present`
            : 'no labels needed';
      reasons.push(
        `${e.found} present (${labels}${e.fromService ? `, emitted by ${q.journey.service}` : ''})`,
      );
    }
    const absent = evidence.filter((e) => e.found === null);
    if (absent.length > 0) reasons.push(`missing ${absent.map((e) => e.wanted).join(', ')}`);
  }
  if (jk !== undefined)
    reasons.push(
      p.journeyKinds.includes(jk) ? `fits ${jk} journeys` : `meant for ${p.journeyKinds.join('/')} journeys`,
    );

  const metric = present[0]?.found ?? p.metrics[0]?.name ?? undefined;
  return {
    pattern: p,
    score: round(score, 4),
    similarity: round(similarity, 4),
    evidence,
    metricCoverage: round(metricCoverage, 3),
    promql: renderPromql(p, {
      matchers: ['$SEL'],
      ...(metric !== undefined ? { metric } : {}),
    }),
    reason: reasons.join('; '),
  };
}

/**
 * Rank the catalogue for a query. `similarities` maps pattern id -> cosine similarity (from the vector store);
 * patterns without an entry count as similarity 0. Ties break by id, so the order is deterministic.
 */
export function rankPatterns(
  similarities: ReadonlyMap<string, number>,
  q: RetrievalQuery,
  catalogue: SliCatalogue = SLI_CATALOGUE,
): PatternMatch[] {
  const topK = q.topK ?? 5;
  if (!Number.isInteger(topK) || topK < 1) throw new Error('rankPatterns: topK must be a positive integer');
  return catalogue.patterns
    .map((p) => scorePattern(p, similarities.get(p.id) ?? 0, q))
    .filter((m) => !q.evidenceRequired || m.metricCoverage > 0)
    .sort((a, b) => b.score - a.score || (a.pattern.id < b.pattern.id ? -1 : 1))
    .slice(0, topK);
}

/** Cosine similarity of two L2-normalised vectors (a dot product), for in-memory retrieval. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`dot: length ${a.length} vs ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

export { patternText };
