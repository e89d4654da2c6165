/** Spec import/export: Sloth prometheus/v1, PrometheusServiceLevel, OpenSLO v1alpha and v1; round-trips; validation. */
import { describe, expect, it } from 'vitest';
import { slothRuleGroups } from '../../core/generate/sloth.js';
import { exportSpecs, parseSpecs, validateSpecs, type SpecDocument } from '../../core/specs/index.js';

const SLOTH = `
version: "prometheus/v1"
service: "shop"
labels: { team: payments, tier: 2 }
slos:
  - name: "checkout-availability"
    objective: 99.9
    description: "Checkout answers without 5xx."
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="shop",code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="shop"}[{{.window}}]))
    alerting:
      name: CheckoutErrors
      labels: { category: availability }
      page_alert: { labels: { route: pager } }
      ticket_alert: { disable: true }
  - name: "search-latency"
    objective: 99
    sli:
      raw:
        error_ratio_query: 1 - (sum(rate(search_bucket{le="0.5"}[{{.window}}])) / sum(rate(search_count[{{.window}}])))
    alerting: { page_alert: { disable: true }, ticket_alert: { disable: true } }
`;

const K8S = `
apiVersion: sloth.slok.dev/v1
kind: PrometheusServiceLevel
metadata: { name: shop-slos, namespace: monitoring, labels: { prometheus: main } }
spec:
  service: shop
  slos:
    - name: api
      objective: 99.5
      sli:
        events:
          errorQuery: sum(rate(e[{{.window}}]))
          totalQuery: sum(rate(t[{{.window}}]))
      alerting: { name: ApiErrors }
`;

const OSLO_V1ALPHA = `
apiVersion: openslo/v1alpha
kind: SLO
metadata: { name: login, displayName: Login }
spec:
  service: auth
  budgetingMethod: Occurrences
  objectives:
    - ratioMetrics:
        good: { source: prometheus, queryType: promql, query: 'sum(rate(ok[{{.window}}]))' }
        total: { source: prometheus, queryType: promql, query: 'sum(rate(all[{{.window}}]))' }
      target: 0.995
  timeWindows: [{ count: 30, unit: Day }]
`;

const OSLO_V1 = `
apiVersion: openslo/v1
kind: SLI
metadata: { name: pay-errors }
spec:
  ratioMetric:
    counter: true
    bad: { metricSource: { type: Prometheus, spec: { query: 'sum(rate(pay_err[{{.window}}]))' } } }
    total: { metricSource: { type: Prometheus, spec: { query: 'sum(rate(pay_all[{{.window}}]))' } } }
---
apiVersion: openslo/v1
kind: SLO
metadata: { name: pay }
spec:
  service: payments
  indicatorRef: pay-errors
  timeWindow: [{ duration: 28d, isRolling: true }]
  budgetingMethod: Occurrences
  objectives: [{ displayName: pay, target: 0.999 }]
`;

const parse = (t: string): SpecDocument[] => {
  const r = parseSpecs(t);
  if (!r.ok) throw new Error(r.error);
  return r.value;
};
const slos = (docs: SpecDocument[]) => docs.flatMap((d) => d.slos);

describe('spec import', () => {
  it('reads Sloth prometheus/v1 with global labels merged and scalars kept as written', () => {
    const [d] = parse(SLOTH);
    expect(d!.format).toBe('sloth-prometheus-v1');
    expect(d!.slos.map((s) => s.id)).toEqual(['shop-checkout-availability', 'shop-search-latency']);
    expect(d!.slos[0]!.labels).toEqual({ team: 'payments', tier: '2' });
    expect(d!.slos[0]!.alerting.page.labels).toEqual({ route: 'pager' });
    expect(d!.slos[0]!.alerting.ticket.disable).toBe(true);
    expect(d!.slos[1]!.sli.kind).toBe('raw');
  });

  it('reads a PrometheusServiceLevel with its Kubernetes metadata', () => {
    const [d] = parse(K8S);
    expect(d!.format).toBe('sloth-k8s-v1');
    expect(d!.k8s).toMatchObject({
      name: 'shop-slos',
      namespace: 'monitoring',
      labels: { prometheus: 'main' },
    });
    expect(d!.slos[0]!.sli).toEqual({
      kind: 'events',
      errorQuery: 'sum(rate(e[{{.window}}]))',
      totalQuery: 'sum(rate(t[{{.window}}]))',
    });
  });

  it('reads OpenSLO v1alpha (objective per ratio metric, alerts off) and v1 (indicatorRef, 28d)', () => {
    const a = slos(parse(OSLO_V1ALPHA));
    expect(a.map((s) => [s.id, s.objective, s.timeWindow, s.sli.kind])).toEqual([
      ['auth-login-0', 99.5, '30d', 'good-total'],
    ]);
    expect(a[0]!.alerting.page.disable && a[0]!.alerting.ticket.disable).toBe(true);
    const b = slos(parse(OSLO_V1));
    expect(b.map((s) => [s.id, s.objective, s.timeWindow, s.sli.kind])).toEqual([
      ['payments-pay-0', 99.9, '28d', 'events'],
    ]);
  });

  it('rejects unknown documents and OpenSLO v1alpha windows other than 30 days, saying why', () => {
    const r = parseSpecs('apiVersion: foo/v9\nkind: Bar\n');
    expect(r.ok ? '' : r.error).toMatch(/unknown spec/);
    const w = parseSpecs(OSLO_V1ALPHA.replace('count: 30', 'count: 28'));
    expect(w.ok ? '' : w.error).toMatch(/only 30 day time windows/);
  });
});

describe('spec validation (Sloth rules)', () => {
  it('accepts valid specs and reports each problem', () => {
    expect(validateSpecs(parse(SLOTH))).toEqual([]);
    const bad = parse(
      SLOTH.replace('objective: 99.9', 'objective: 101').replace('name: CheckoutErrors', 'name: ""'),
    );
    const p = validateSpecs(bad);
    expect(p.join('\n')).toMatch(/objective 101 must be in \(0, 100\]/);
    expect(p.join('\n')).toMatch(/alerting.name is required/);
    expect(
      validateSpecs(parse(SLOTH.replace('[{{.window}}]))\n        total', '[5m]))\n        total'))).join(),
    ).toMatch(/must use the \{\{\.window\}\} template/);
  });

  it('finds duplicate SLO ids across documents unless told to ignore them', () => {
    const docs = [...parse(SLOTH), ...parse(SLOTH)];
    expect(validateSpecs(docs).join()).toMatch(/SLO id shop-checkout-availability is defined 2 times/);
    expect(validateSpecs(docs, { ignoreDuplicates: true })).toEqual([]);
  });
});

describe('spec export round-trips', () => {
  // OpenSLO requires a time window: an SLO without one (Sloth's default period) is exported with 30d.
  const strip = (d: SpecDocument[]) =>
    slos(d).map((s) => ({
      ...s,
      timeWindow: s.timeWindow ?? '30d',
      displayName: undefined,
      budgetingMethod: undefined,
    }));
  for (const [name, text] of [
    ['Sloth', SLOTH],
    ['PrometheusServiceLevel', K8S],
    ['OpenSLO v1alpha', OSLO_V1ALPHA],
    ['OpenSLO v1', OSLO_V1],
  ] as const) {
    it(`${name} -> OpenSLO v1 -> import gives the same SLOs and the same rules`, () => {
      const docs = parse(text);
      const out = exportSpecs(slos(docs), 'openslo');
      if (!out.ok) throw new Error(out.error);
      const back = parse(out.value);
      expect(strip(back)).toEqual(strip(docs));
      const rules = (d: SpecDocument[]) => {
        const r = slothRuleGroups(
          d.map((x) => ({ ...x, format: 'sloth-prometheus-v1' as const, specVersion: 'x', k8s: undefined })),
          { version: 'v' },
        );
        if (!r.ok) throw new Error(r.error);
        return r.value.documents.flatMap((x) => x.groups);
      };
      expect(rules(back)).toEqual(rules(docs));
    });

    it(`${name} -> Sloth prometheus/v1 -> import gives the same SLO rules`, () => {
      const docs = parse(text);
      const out = exportSpecs(slos(docs), 'sloth');
      if (!out.ok) throw new Error(out.error);
      const back = parse(out.value);
      const norm = (d: SpecDocument[]) =>
        slos(d).map((s) => ({
          id: s.id,
          objective: s.objective,
          labels: s.labels,
          alerting: s.alerting,
          timeWindow: s.timeWindow,
          // good/total becomes Sloth's raw error ratio on export, by design (Sloth has no good/total SLI).
          sli: s.sli.kind === 'good-total' ? 'good-total' : s.sli,
        }));
      const backNorm = norm(back).map((s, i) =>
        norm(docs)[i]!.sli === 'good-total' ? { ...s, sli: 'good-total' } : s,
      );
      expect(backNorm).toEqual(norm(docs));
    });
  }
});
