/**
 * Recommendations against ground truth on synthetic systems (test/synthetic/system.ts), across seeds and
 * topologies: spans stream through the accumulator (rollups + edges), then analyse().
 */
import { describe, expect, it } from 'vitest';
import { analyse } from '../../core/analysis/index.js';
import { SpanAccumulator } from '../../core/stream/spans.js';
import { Recommendations } from '../../events/schemas.js';
import { validate } from '../../events/validate.js';
import { syntheticSystem } from '../synthetic/system.js';

type J = Recommendations['journeys'][number] & {
  user_facing: boolean;
  journey_type: string;
  dependency_services: string[];
};
type S = J['slis'][number] & {
  backtest?: { pages: number; tickets: number; first_page_at?: string };
  source?: { fallback: boolean };
};

function analyseSeed(seed: number) {
  const sys = syntheticSystem({ seed, minutes: 360 });
  const acc = new SpanAccumulator({ parentWindow: 5_000 });
  sys.run((svc, s) => acc.add(svc, s));
  const input = acc.result()!;
  const rec = analyse({ ...input, inventory: [] }, { requestId: `synthetic-${seed}` });
  return { truth: sys.truth, rec, stats: input.stats };
}

const SEEDS = [1, 7, 42, 1234, 98765];

describe.each(SEEDS)('synthetic system, seed %i', (seed) => {
  const { truth, rec, stats } = analyseSeed(seed);
  const journeys = rec.journeys as J[];
  const byKey = new Map(journeys.map((j) => [`${j.service} ${j.entrypoint}`, j]));
  const sliOf = (j: J, kind: string) => j.slis.find((s) => s.kind === kind) as S | undefined;

  it('produces schema-valid recommendations', () => {
    expect(validate(Recommendations, rec).ok).toBe(true);
    expect(stats.spans).toBeGreaterThan(10_000);
  });

  it('finds exactly the ground-truth journeys (no probes, scrapes, clients, producers or DB calls)', () => {
    const want = truth.journeys.map((j) => `${j.service} ${j.entrypoint}`).sort();
    expect([...byKey.keys()].sort()).toEqual(want);
    for (const x of truth.excluded) expect(byKey.has(`${x.service} ${x.entrypoint}`)).toBe(false);
  });

  it('names journeys readably and types them (user-facing, internal, async consumer)', () => {
    for (const t of truth.journeys) {
      const j = byKey.get(`${t.service} ${t.entrypoint}`)!;
      expect(j.name).toBe(`${t.service}: ${t.entrypoint}`);
      expect(j.user_facing).toBe(t.userFacing);
      expect(j.kind).toBe(t.type === 'consumer' ? 'async' : 'request');
      expect(j.journey_type).toBe(t.type);
      if (!t.userFacing) expect(j.criticality).not.toBe('high');
      if (t.type === 'consumer') expect(sliOf(j, 'freshness')).toBeDefined();
      else expect(sliOf(j, 'latency')).toBeDefined();
    }
  });

  it('flags low-traffic endpoints without dropping them', () => {
    for (const t of truth.journeys) {
      expect(byKey.get(`${t.service} ${t.entrypoint}`)!.low_traffic).toBe(t.lowTraffic);
    }
    expect(truth.journeys.some((t) => t.lowTraffic)).toBe(true);
  });

  it('lists the transitive downstream services of each journey', () => {
    for (const t of truth.journeys) {
      expect(byKey.get(`${t.service} ${t.entrypoint}`)!.dependency_services).toEqual(t.dependencyServices);
    }
  });

  it('does not count 4xx or client cancellations as bad', () => {
    for (const t of truth.journeys.filter((x) => !x.incident && x.type === 'request')) {
      const j = byKey.get(`${t.service} ${t.entrypoint}`)!;
      // base error ratios are 0.05%..0.15% (plus faults of dependencies); 4xx alone would be ~25%
      expect(j.error_ratio).toBeLessThan(0.01);
    }
  });

  it('back-tests the recommended SLOs: the incident pages, calm journeys do not', () => {
    const start = truth.start.getTime();
    for (const t of truth.journeys) {
      const j = byKey.get(`${t.service} ${t.entrypoint}`)!;
      const a = sliOf(j, 'availability')!;
      expect(a.backtest).toBeDefined();
      expect(a.evidence.join('\n')).toMatch(/back-test over \d+ min/);
      if (t.type === 'request' && t.incident && !t.lowTraffic) {
        expect(a.backtest!.pages).toBeGreaterThanOrEqual(1);
        const at = Date.parse(a.backtest!.first_page_at!);
        expect(at).toBeGreaterThanOrEqual(start + truth.incident.startMinute * 60_000);
        expect(at).toBeLessThanOrEqual(start + (truth.incident.endMinute + 15) * 60_000);
      }
      if (!t.incident) expect(a.backtest!.pages).toBe(0);
    }
  });

  it('recommends achievable objectives with evidence, and says when it falls back to span metrics', () => {
    for (const j of journeys) {
      for (const s of j.slis as S[]) {
        expect(s.objective).toBeGreaterThanOrEqual(90);
        expect(s.objective).toBeLessThan(100);
        expect(s.evidence.length).toBeGreaterThan(3);
        expect(s.source?.fallback).toBe(true);
        expect(s.evidence.join('\n')).toMatch(/using SLO-Scout span metrics/);
        expect(s.window).toBe('30d');
      }
    }
  });
});

describe('synthetic systems differ by seed', () => {
  it('generates different topologies', () => {
    const a = syntheticSystem({ seed: 1 })
      .truth.journeys.map((j) => j.entrypoint)
      .join();
    const b = syntheticSystem({ seed: 2 })
      .truth.journeys.map((j) => j.entrypoint)
      .join();
    expect(a).not.toBe(b);
  });
});
