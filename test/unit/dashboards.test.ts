/**
 * Grafana dashboards (built with @grafana/grafana-foundation-sdk) checked structurally, independently of the
 * generator: schema version, unique panel ids, the 24-column grid without overlaps, data-source references that
 * resolve to the `datasource` variable, balanced queries that only read recorded series the rule files record, the
 * panels the issue asks for, runbook links that resolve, and the provisioning file. Also the two beyond-Sloth
 * generator features that show on dashboards: latency thresholds between histogram buckets and calendar months.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ArtifactSet, Recommendations } from '../../events/schemas.js';
import { generateArtifacts } from '../../core/generate/index.js';
import { DEFAULT_POLICY, evaluatePolicy } from '../../core/policy/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const rec = JSON.parse(
  readFileSync(join(here, '..', 'golden', 'generate', 'input.recommendations.json'), 'utf8'),
) as Recommendations;
const OPTS = { setId: 'set-d', generatedAt: '2026-03-01T06:05:00.000Z', labels: { team: 'shop' } };

type Panel = {
  id: unknown;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: { refId: string; expr: string; datasource?: { type: string; uid: string } }[];
  links?: { title: string; url: string }[];
  options?: { content?: string };
  panels?: Panel[];
};
type Dashboard = {
  uid: string;
  title: string;
  schemaVersion: number;
  templating: { list: { type: string; name: string; query: string }[] };
  panels: Panel[];
};

const recordedIn = (set: ArtifactSet) => {
  const names = new Set<string>();
  for (const f of set.files.filter((x) => x.path.startsWith('prometheus/'))) {
    const doc = parse(f.content) as { groups: { rules: { record?: string }[] }[] };
    for (const g of doc.groups) for (const r of g.rules) if (r.record) names.add(r.record);
  }
  return names;
};

/** The test's own structural validator (deliberately not the Policy Guard's code). */
function problems(d: Dashboard, recorded: Set<string>, files: Set<string>): string[] {
  const out: string[] = [];
  if (!Number.isInteger(d.schemaVersion) || d.schemaVersion < 36) out.push('schemaVersion');
  if (!d.uid || d.uid.length > 40) out.push('uid');
  const dsVar = d.templating.list.find((v) => v.type === 'datasource' && v.query === 'prometheus');
  if (!dsVar) out.push('no prometheus datasource variable');
  const all: Panel[] = [];
  const walk = (ps: Panel[]) => ps.forEach((p) => (all.push(p), walk(p.panels ?? [])));
  walk(d.panels);
  const ids = all.map((p) => p.id);
  if (ids.some((i) => !Number.isInteger(i))) out.push('non-integer panel id');
  if (new Set(ids).size !== ids.length) out.push('duplicate panel ids');
  for (const p of all) {
    const g = p.gridPos;
    if (!(g.x >= 0 && g.y >= 0 && g.w >= 1 && g.h >= 1 && g.x + g.w <= 24))
      out.push(`panel ${p.title}: gridPos`);
    for (const q of all)
      if (
        q !== p &&
        p.gridPos.x < q.gridPos.x + q.gridPos.w &&
        q.gridPos.x < p.gridPos.x + p.gridPos.w &&
        p.gridPos.y < q.gridPos.y + q.gridPos.h &&
        q.gridPos.y < p.gridPos.y + p.gridPos.h
      )
        out.push(`panels ${p.title} and ${q.title} overlap`);
    for (const t of p.targets ?? []) {
      for (const ds of [p.datasource, t.datasource])
        if (ds?.type !== 'prometheus' || ds.uid !== `\${${dsVar?.name}}`) out.push(`${p.title}: datasource`);
      let depth = 0;
      for (const c of t.expr.replace(/"(?:[^"\\]|\\.)*"/g, '""')) {
        depth += '([{'.includes(c) ? 1 : ')]}'.includes(c) ? -1 : 0;
        if (depth < 0) break;
      }
      if (depth !== 0) out.push(`${p.title}: unbalanced ${t.expr}`);
      for (const m of t.expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').matchAll(/\bslo:[a-z_:0-9]+/g))
        if (!recorded.has(m[0])) out.push(`${p.title}: ${m[0]} is not recorded`);
    }
    for (const l of p.links ?? [])
      if (!files.has(l.url)) out.push(`${p.title}: link ${l.url} is not in the set`);
  }
  return out;
}

describe('Grafana dashboards', () => {
  const set = generateArtifacts(rec, OPTS);
  const recorded = recordedIn(set);
  const files = new Set(set.files.map((f) => f.path));
  const dashes = set.files.filter((f) => /^grafana\/[^/]+\.dashboard\.json$/.test(f.path));

  it('one per service, each structurally valid and querying only recorded series', () => {
    expect(dashes.map((f) => f.path)).toEqual(
      [...new Set(rec.journeys.map((j) => j.service))].sort().map((s) => `grafana/${s}.dashboard.json`),
    );
    for (const f of dashes) {
      const d = JSON.parse(f.content) as Dashboard;
      expect(problems(d, recorded, files), f.path).toEqual([]);
    }
    // The guard agrees.
    expect(evaluatePolicy(set, DEFAULT_POLICY, { now: new Date() }).decision).toBe('allow');
  });

  it('has the SLI, budget, burn-rate, traffic, latency distribution and runbook panels, linking the runbooks', () => {
    const d = JSON.parse(
      set.files.find((f) => f.path === 'grafana/payments.dashboard.json')!.content,
    ) as Dashboard;
    const types = d.panels.map((p) => `${p.type}:${p.title}`);
    expect(types).toEqual(
      expect.arrayContaining([
        'row:payments: POST /charge — medium',
        'timeseries:availability SLI (objective 99.9%)',
        'timeseries:availability burn rate',
        'stat:availability error budget remaining (30d)',
        'timeseries:latency SLI (objective 99.99%)',
        'timeseries:Traffic',
        'timeseries:Latency quantiles',
        'heatmap:Latency distribution',
        'text:Runbooks',
      ]),
    );
    const text = d.panels.find((p) => p.type === 'text')!.options!.content!;
    for (const m of text.matchAll(/\]\(([^)]+)\)/g)) expect(files.has(m[1]!), m[1]).toBe(true);
    expect(text).toContain('runbooks/payments-post-charge-availability-page.md');
    const sli = d.panels.find((p) => p.title === 'availability SLI (objective 99.9%)')!;
    expect(sli.links!.map((l) => l.url)).toEqual([
      'runbooks/payments-post-charge-availability-page.md',
      'runbooks/payments-post-charge-availability-ticket.md',
    ]);
  });

  it('ships a Grafana file-provider provisioning file', () => {
    const p = parse(
      set.files.find((f) => f.path === 'grafana/provisioning/dashboards/slo-scout.yaml')!.content,
    ) as {
      apiVersion: number;
      providers: { type: string; options: { path: string } }[];
    };
    expect(p.apiVersion).toBe(1);
    expect(p.providers).toHaveLength(1);
    expect(p.providers[0]).toMatchObject({
      type: 'file',
      options: { path: '/var/lib/grafana/dashboards/slo-scout' },
    });
  });
});

/** The golden input with one latency SLI moved to a 300 ms threshold and a calendar month on another SLO. */
function variant(): Recommendations {
  const r = structuredClone(rec);
  const pay = r.journeys.find((j) => j.service === 'payments')!;
  const lat = pay.slis.find((s) => s.kind === 'latency')!;
  lat.threshold_ms = 300;
  lat.good_query = lat.good_query!.replace('le="0.25"', 'le="0.3"');
  const avail = pay.slis.find((s) => s.kind === 'availability')! as (typeof pay.slis)[number] & {
    calendar?: string;
  };
  avail.calendar = 'month';
  return r;
}

describe('beyond Sloth: latency between buckets, calendar months', () => {
  const buckets = {
    http_request_duration_seconds: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  };
  const set = generateArtifacts(variant(), { ...OPTS, histogramBuckets: buckets });
  const rules = parse(set.files.find((f) => f.path === 'prometheus/payments.rules.yaml')!.content) as {
    groups: {
      name: string;
      rules: {
        record?: string;
        alert?: string;
        expr: string;
        labels: Record<string, string>;
        annotations?: Record<string, string>;
      }[];
    }[];
  };
  const all = rules.groups.flatMap((g) => g.rules);

  it('rounds a threshold between classic buckets to the enclosing lower bound and says so', () => {
    const sli = all.find(
      (r) => r.record === 'slo:sli_error:ratio_rate5m' && r.labels.slo_id === 'payments-post-charge-latency',
    )!;
    expect(sli.expr).toContain('le="0.25"');
    expect(sli.expr).not.toContain('le="0.3"');
    const page = all.find((r) => r.alert === 'PaymentsPostChargeLatencyErrorBudgetBurnPage')!;
    expect(page.annotations!.description).toContain(
      'threshold 300 ms falls between the bucket bounds 250 ms and 500 ms: the SLI counts requests <= 250 ms as good (conservative',
    );
    const info = all.find(
      (r) => r.record === 'slo_scout_slo_info' && r.labels.slo_id === 'payments-post-charge-latency',
    )!;
    expect(info.labels).toMatchObject({ slo_latency_threshold_ms: '300', slo_latency_measured_ms: '250' });
    const rb = set.files.find((f) => f.path === 'runbooks/payments-post-charge-latency-page.md')!.content;
    expect(rb).toContain(
      '**How latency is measured:** threshold 300 ms falls between the bucket bounds 250 ms and 500 ms',
    );
    expect(rb).toContain('le="0.5"'); // the optimistic-bound query
    const d = JSON.parse(
      set.files.find((f) => f.path === 'grafana/payments.dashboard.json')!.content,
    ) as Dashboard;
    const panel = d.panels.find((p) => p.title === 'latency SLI (objective 99.99%)')!;
    expect(panel.targets!.map((t) => t.refId)).toEqual(['A', 'B', 'C', 'D']);
    expect(panel.targets![3]!.expr).toContain('le="0.5"');
    // A threshold on a bound is left alone; without a known bucket layout the query is used as written.
    const exact = generateArtifacts(rec, { ...OPTS, histogramBuckets: buckets });
    expect(exact.files.find((f) => f.path === 'prometheus/payments.rules.yaml')!.content).toContain(
      'le="0.25"',
    );
  });

  it('records month-to-date budget for calendar SLOs and shows it', () => {
    const names = all
      .filter((r) => r.labels.slo_calendar === 'month' && r.record?.startsWith('slo:calendar'))
      .map((r) => r.record);
    expect(names).toEqual([
      'slo:calendar_error_ratio:month_to_date',
      'slo:calendar_elapsed:ratio',
      'slo:calendar_burn_rate:ratio',
      'slo:calendar_error_budget_remaining:ratio',
    ]);
    const mtd = all.find((r) => r.record === 'slo:calendar_error_ratio:month_to_date')!;
    expect(mtd.expr).toContain('slo:sli_error:ratio_rate1h{slo_id="payments-post-charge-availability"}');
    expect(mtd.expr).toContain('[31d:1h]');
    expect(mtd.expr).toContain('@ end()');
    const d = JSON.parse(
      set.files.find((f) => f.path === 'grafana/payments.dashboard.json')!.content,
    ) as Dashboard;
    const stat = d.panels.find(
      (p) => p.title === 'availability error budget remaining (30d, calendar month)',
    )!;
    expect(stat.targets!.map((t) => t.expr)).toContain(
      'slo:calendar_error_budget_remaining:ratio{slo_id="payments-post-charge-availability"}',
    );
    expect(problems(d, recordedIn(set), new Set(set.files.map((f) => f.path)))).toEqual([]);
    expect(evaluatePolicy(set, DEFAULT_POLICY, { now: new Date() }).decision).toBe('allow');
  });
});
