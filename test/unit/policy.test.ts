import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { PolicyDecision, type ArtifactSet, type Recommendations } from '../../events/schemas.js';
import { validate } from '../../events/validate.js';
import { generateArtifacts } from '../../core/generate/index.js';
import {
  DEFAULT_POLICY,
  estimateSeries,
  evaluatePolicy,
  labelNamesIn,
  parsePolicy,
  parsePolicyText,
  type Policy,
} from '../../core/policy/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const rec = JSON.parse(
  readFileSync(join(here, '..', 'golden', 'generate', 'input.recommendations.json'), 'utf8'),
) as Recommendations;
const good = generateArtifacts(rec, {
  setId: 'set-1',
  generatedAt: '2026-03-01T06:05:00.000Z',
  labels: { team: 'shop' },
});
const ctx = { now: new Date('2026-03-01T07:00:00.000Z') };
const RULES = 'prometheus/payments.rules.yaml';

interface YRule {
  alert?: string;
  expr: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
type Doc = { groups: { name: string; rules: YRule[] }[] };
/** A copy of the good set with one rule file edited. */
function edit(path: string, fn: (doc: Doc) => void, base: ArtifactSet = good): ArtifactSet {
  return {
    ...base,
    files: base.files.map((f) => {
      if (f.path !== path) return f;
      const doc = parse(f.content) as Doc;
      fn(doc);
      return { ...f, content: stringify(doc) };
    }),
  };
}
const alerts = (d: Doc) => d.groups.flatMap((g) => g.rules).filter((r) => r.alert);
const only = (
  set: ArtifactSet,
  policy: Policy = DEFAULT_POLICY,
  c: Parameters<typeof evaluatePolicy>[2] = ctx,
) => {
  const d = evaluatePolicy(set, policy, c);
  return { d, rules: [...new Set(d.reasons.map((r) => r.rule))] };
};

describe('evaluatePolicy', () => {
  it('allows the generated set under the default policy', () => {
    const d = evaluatePolicy(good, DEFAULT_POLICY, ctx);
    expect(d.reasons).toEqual([]);
    expect(d.decision).toBe('allow');
    expect(d.policy_version).toBe(DEFAULT_POLICY.version);
    expect(d.artifact_set_id).toBe('set-1');
    expect(d.evaluated_at).toBe('2026-03-01T07:00:00.000Z');
    const v = validate(PolicyDecision, d);
    expect(v.ok ? 'ok' : v.error).toBe('ok');
  });

  it('denies alerts missing required labels', () => {
    const { d, rules } = only(edit(RULES, (doc) => delete alerts(doc)[0]!.labels.slo_id));
    expect(d.decision).toBe('deny');
    // Without slo_id the page would also take part in inhibition with a missing `equal` label.
    expect(rules).toEqual(['alert-required-labels', 'inhibition-labels']);
    expect(d.reasons[0]).toMatchObject({
      severity: 'deny',
      path: RULES,
      message: 'alert PaymentsPostChargeAvailabilityErrorBudgetBurnPage lacks required label(s) slo_id',
    });
    expect(d.reasons[1]).toMatchObject({ severity: 'deny', path: 'alertmanager/inhibit-rules.yaml' });
    expect(d.reasons[1]!.message).toMatch(
      /PaymentsPostChargeAvailabilityErrorBudgetBurnPage .* lacks its equal label\(s\) slo_id/,
    );
  });

  it('denies alerts without a runbook_url, or pointing at a runbook missing from the set', () => {
    const missing = only(edit(RULES, (doc) => delete alerts(doc)[0]!.annotations.runbook_url));
    expect(missing.d.decision).toBe('deny');
    expect(missing.d.reasons[0]!.message).toBe(
      'alert PaymentsPostChargeAvailabilityErrorBudgetBurnPage has no runbook_url annotation',
    );
    const dangling = only({
      ...good,
      files: good.files.filter((f) => f.path !== 'runbooks/payments-post-charge-latency-ticket.md'),
    });
    expect(dangling.d.decision).toBe('deny');
    expect(dangling.rules).toEqual(['alert-runbook-url']);
    expect(dangling.d.reasons[0]!.message).toMatch(
      /links runbook runbooks\/payments-post-charge-latency-ticket.md, which is not a file of artifact set set-1/,
    );
    // Absolute links cannot be checked against the set and are accepted.
    const abs = generateArtifacts(rec, {
      setId: 's',
      generatedAt: '2026-03-01T06:05:00.000Z',
      runbookBaseUrl: 'https://runbooks.example.com',
    });
    expect(evaluatePolicy(abs, DEFAULT_POLICY, ctx).decision).toBe('allow');
  });

  it('requires a configurable routing label', () => {
    const policy = parsePolicy({ alerts: { routingLabels: ['team'] } });
    expect(policy.ok).toBe(true);
    if (!policy.ok) return;
    expect(evaluatePolicy(good, policy.value, ctx).decision).toBe('allow');
    const noTeam = generateArtifacts(rec, { setId: 's', generatedAt: '2026-03-01T06:05:00.000Z' });
    const { d, rules } = only(noTeam, policy.value);
    expect(d.decision).toBe('deny');
    expect(rules).toEqual(['alert-routing-label']);
    expect(d.reasons[0]!.message).toMatch(/has no routing label \(one of team\)/);
    const warnOnly = parsePolicy({ alerts: { routingLabels: ['team'], routingSeverity: 'warn' } });
    expect(warnOnly.ok && evaluatePolicy(noTeam, warnOnly.value, ctx).decision).toBe('warn');
  });

  it('denies sets whose estimated series exceed the cardinality budget', () => {
    const tight = parsePolicy({ cardinality: { maxSeries: 50 } });
    expect(tight.ok).toBe(true);
    if (!tight.ok) return;
    const { d, rules } = only(good, tight.value);
    expect(d.decision).toBe('deny');
    expect(rules).toEqual(['cardinality-budget']);
    expect(d.reasons[0]!.message).toMatch(/rules would produce about \d+ series, over the budget of 50/);
    // A `by (pod)` clause multiplies the estimate with the pod cardinality from the inventory.
    const byPod = edit(RULES, (doc) => {
      doc.groups[0]!.rules[0]!.expr = 'sum by (pod, code) (rate(http_requests_total{job="payments"}[5m]))';
    });
    const wide = only(byPod, DEFAULT_POLICY, { ...ctx, inventory: { labelValues: { pod: 2000, code: 6 } } });
    expect(wide.d.decision).toBe('deny');
    expect(wide.rules).toEqual(['cardinality-budget']);
    expect(estimateSeries('sum by (pod, code) (rate(x[5m]))', (l) => (l === 'pod' ? 2000 : 6), 100)).toBe(
      12000,
    );
    expect(estimateSeries('rate(http_requests_total[5m])', () => 10, 100)).toBe(100);
    expect(estimateSeries('1 - slo:x:ratio{slo_id="a"}', () => 10, 100)).toBe(1);
  });

  it('denies PII-bearing or unbounded labels in matchers, grouping clauses and rule labels', () => {
    const inMatcher = edit(RULES, (doc) => {
      doc.groups[0]!.rules[0]!.expr = 'sum(rate(http_requests_total{job="payments", user_id="42"}[5m]))';
    });
    const a = only(inMatcher);
    expect(a.d.decision).toBe('deny');
    expect(a.rules).toEqual(['forbidden-labels']);
    expect(a.d.reasons[0]!.message).toMatch(/uses PII-bearing or unbounded label\(s\) user_id/);
    const inBy = edit(RULES, (doc) => {
      doc.groups[0]!.rules[1]!.expr = 'sum by (customer_email) (rate(http_requests_total[5m]))';
    });
    expect(only(inBy).d.reasons.find((r) => r.rule === 'forbidden-labels')!.message).toMatch(
      /customer_email/,
    );
    const inLabels = edit(RULES, (doc) => {
      alerts(doc)[0]!.labels.path = '/charge/123';
    });
    expect(
      only(inLabels)
        .d.reasons.map((r) => r.message)
        .join('\n'),
    ).toMatch(/uses PII-bearing or unbounded label\(s\) path/);
    expect(labelNamesIn('sum by (a, b) (x{c="1", d=~"2"}) / on(e) group_left(f) y{g!="http_x=y"}')).toEqual([
      'a',
      'b',
      'c',
      'd',
      'e',
      'f',
      'g',
    ]);
  });

  it('denies objectives stricter than history supports, unless overridden', () => {
    const history = { 'payments-post-charge-availability': { maxSupportedObjective: 99.5 } };
    const { d, rules } = only(good, DEFAULT_POLICY, { ...ctx, history });
    expect(d.decision).toBe('deny');
    expect(rules).toEqual(['objective-history']);
    expect(d.reasons[0]!.message).toBe(
      'SLO payments-post-charge-availability: objective 99.9% is stricter than the 99.5% history supports; lower it or set slo_scout_override: "true" on its rules to accept it explicitly',
    );
    expect(d.reasons[0]!.path).toBe(RULES);
    // Ratios are accepted too, and an objective history supports passes.
    expect(
      evaluatePolicy(good, DEFAULT_POLICY, {
        ...ctx,
        history: { 'payments-post-charge-availability': { maxSupportedObjective: 0.999 } },
      }).decision,
    ).toBe('allow');
    const overridden = edit(RULES, (doc) => {
      alerts(doc)[0]!.annotations.slo_scout_override = 'true';
    });
    expect(evaluatePolicy(overridden, DEFAULT_POLICY, { ...ctx, history }).decision).toBe('allow');
  });

  it('denies duplicate SLO ids across the set', () => {
    const pay = good.files.find((f) => f.path === RULES)!;
    const dup: ArtifactSet = {
      ...good,
      files: [...good.files, { ...pay, path: 'prometheus/payments-copy.rules.yaml' }],
    };
    const { d, rules } = only(dup);
    expect(d.decision).toBe('deny');
    expect(rules).toEqual(['duplicate-slo-id']);
    expect(d.reasons.map((r) => r.message)).toContain(
      'SLO id payments-post-charge-availability is defined 2 times (prometheus/payments.rules.yaml#slo-scout-meta-recordings-payments-post-charge-availability, prometheus/payments-copy.rules.yaml#slo-scout-meta-recordings-payments-post-charge-availability)',
    );
    // The PrometheusRule CR form of the same rules is an alternative deployment, not a duplicate.
    const withCr = generateArtifacts(rec, {
      setId: 's',
      generatedAt: '2026-03-01T06:05:00.000Z',
      prometheusOperator: {},
    });
    expect(evaluatePolicy(withCr, DEFAULT_POLICY, ctx).decision).toBe('allow');
  });

  it('denies unparsable rule files and dashboards', () => {
    const broken: ArtifactSet = {
      ...good,
      files: good.files.map((f) =>
        f.path === RULES
          ? { ...f, content: 'groups: [\n' }
          : f.path === 'grafana/payments.dashboard.json'
            ? { ...f, content: '{' }
            : f,
      ),
    };
    const { d, rules } = only(broken);
    expect(d.decision).toBe('deny');
    expect(rules.sort()).toEqual(['dashboard-json', 'rule-file-parse']);
  });

  it('loads policies from JSON/YAML data and rejects unknown or mistyped fields', () => {
    const p = parsePolicyText(
      'version: team-x/2\ncardinality:\n  maxSeries: 500\nlabels:\n  severity: warn\n',
    );
    expect(p.ok && p.value.version).toBe('team-x/2');
    expect(p.ok && p.value.cardinality).toEqual({ ...DEFAULT_POLICY.cardinality, maxSeries: 500 });
    const bad = parsePolicy({
      alerts: { requiredLabels: 'severity' },
      cardinality: { maxSeries: 'many' },
      nope: 1,
      labels: { severity: 'maybe' },
    });
    expect(bad.ok ? '' : bad.error).toMatch(
      /alerts.requiredLabels must be a list of strings; cardinality.maxSeries must be a number; nope is not a policy field; labels.severity must be deny, warn or off/,
    );
    expect(parsePolicyText('{').ok).toBe(false);
    // A warn-severity finding gives a warn decision.
    const warnLabels = parsePolicy({ labels: { severity: 'warn' } });
    const pii = edit(RULES, (doc) => {
      doc.groups[0]!.rules[0]!.expr = 'sum(rate(x{email="a"}[5m]))';
    });
    expect(warnLabels.ok && evaluatePolicy(pii, warnLabels.value, ctx).decision).toBe('warn');
  });

  it('knows the no-data and inhibition labels: kind label, a no-data alert per SLO, equal labels present', () => {
    // Dropping a no-data alert: the SLO's burn-rate alerts lose their safety net.
    const noNoData = only(
      edit(RULES, (doc) => {
        for (const g of doc.groups) g.rules = g.rules.filter((r) => !r.alert?.endsWith('SliNoData'));
      }),
    );
    expect(noNoData.d.decision).toBe('warn');
    expect(noNoData.rules).toEqual(['no-data-alert']);
    expect(noNoData.d.reasons.map((r) => r.message)).toContain(
      'SLO payments-post-charge-availability has burn-rate alerts but no no-data alert (slo_alert_kind="no-data"); a vanished metric would go unnoticed',
    );
    // A no-data alert without `for` flaps.
    const noFor = only(
      edit(RULES, (doc) => {
        for (const g of doc.groups)
          for (const r of g.rules) if (r.alert?.endsWith('SliNoData')) delete (r as { for?: string }).for;
      }),
    );
    expect(noFor.rules).toEqual(['no-data-alert']);
    expect(
      noFor.d.reasons.some((r) => /must use absent\(\)\/absent_over_time\(\) and a `for`/.test(r.message)),
    ).toBe(true);
    // The kind label missing.
    const noKind = only(edit(RULES, (doc) => delete alerts(doc)[0]!.labels.slo_alert_kind));
    expect(noKind.rules).toEqual(['alert-kind-label']);
    // An inhibit rule keyed on a label the alerts do not carry is denied.
    const inhibit = only({
      ...good,
      files: good.files.map((f) =>
        f.path === 'alertmanager/inhibit-rules.yaml'
          ? {
              ...f,
              content: stringify({
                inhibit_rules: [
                  {
                    source_matchers: ['severity="page"'],
                    target_matchers: ['severity="ticket"', 'slo_alert_kind=~"burn-rate|no-data"'],
                    equal: ['slo_id', 'cluster'],
                  },
                ],
              }),
            }
          : f,
      ),
    });
    expect(inhibit.d.decision).toBe('deny');
    expect(inhibit.rules).toEqual(['inhibition-labels']);
    expect(inhibit.d.reasons[0]!.message).toMatch(/lacks its equal label\(s\) cluster/);
  });

  it('uses the inventory: rules over metrics never seen are flagged', () => {
    const metrics = [
      'http_server_request_duration_seconds',
      'http_request_duration_seconds',
      'http_requests_total',
      'grpc_server_handled_total',
      'slo_scout_span_calls_total',
      'slo_scout_span_duration_seconds',
      'kafka_consumergroup_lag',
    ].map((name) => ({ name, type: name.includes('duration') ? 'histogram' : 'counter' }));
    expect(only(good, DEFAULT_POLICY, { ...ctx, inventory: { metrics } }).d.decision).toBe('allow');
    const missing = only(good, DEFAULT_POLICY, {
      ...ctx,
      inventory: { metrics: metrics.filter((m) => m.name !== 'http_requests_total') },
    });
    expect(missing.d.decision).toBe('warn');
    expect(missing.rules).toEqual(['inventory-metrics']);
    expect(missing.d.reasons[0]).toMatchObject({
      path: 'prometheus/payments.rules.yaml',
      message:
        'rules select http_requests_total, which the metric inventory has never seen (renamed metric or a typo?)',
    });
  });

  it('checks dashboards structurally, including the recorded series they query', () => {
    const dash = 'grafana/payments.dashboard.json';
    const mutate = (fn: (d: { panels: Record<string, unknown>[] }) => void) => {
      const files = good.files.map((f) => {
        if (f.path !== dash) return f;
        const d = JSON.parse(f.content) as { panels: Record<string, unknown>[] };
        fn(d);
        return { ...f, content: JSON.stringify(d) };
      });
      return only({ ...good, files });
    };
    const dup = mutate((d) => (d.panels[2]!.id = d.panels[1]!.id));
    expect(dup.d.decision).toBe('deny');
    expect(dup.rules).toEqual(['dashboard-json']);
    expect(dup.d.reasons[0]!.message).toMatch(
      new RegExp(`^panel ${String(dupId(good))} \\(.*\\): duplicate panel id$`),
    );
    const ghost = mutate((d) => {
      const t = (d.panels[1]!.targets as { expr: string }[])[0]!;
      t.expr = 'slo:not_recorded:ratio{slo_id="x"}';
    });
    expect(ghost.rules).toEqual(['dashboard-json']);
    expect(ghost.d.reasons[0]!.message).toMatch(
      /queries slo:not_recorded:ratio, which no rule of the set records/,
    );
    const wide = mutate((d) => ((d.panels[1]!.gridPos as { w: number }).w = 30));
    expect(wide.d.reasons.some((r) => /outside the 24-column grid/.test(r.message))).toBe(true);
  });
});

function dupId(set: ArtifactSet): unknown {
  const d = JSON.parse(set.files.find((f) => f.path === 'grafana/payments.dashboard.json')!.content) as {
    panels: { id: unknown }[];
  };
  return d.panels[1]!.id;
}
