import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ArtifactSet, type Recommendations } from '../../events/schemas.js';
import { validate } from '../../events/validate.js';
import {
  catalogueFor,
  dashboardUid,
  formatDuration,
  generateArtifacts,
  parseDuration,
  prometheusRule,
  requiredWindows,
  ruleFiles,
  SLOTH_NAMING,
  SRE_WORKBOOK_30D,
  toSloModel,
  tryGenerateArtifacts,
  validateCatalogue,
  DEFAULT_NAMING,
} from '../../core/generate/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const goldenDir = join(here, '..', 'golden', 'generate');
const outDir = join(goldenDir, 'out');
const rec = JSON.parse(
  readFileSync(join(goldenDir, 'input.recommendations.json'), 'utf8'),
) as Recommendations;
const OPTS = { setId: 'set-golden-1', generatedAt: '2026-03-01T06:05:00.000Z', labels: { team: 'shop' } };
const set = generateArtifacts(rec, OPTS);
const file = (path: string) => {
  const f = set.files.find((x) => x.path === path);
  if (!f) throw new Error(`no ${path} in set; have ${set.files.map((x) => x.path).join(', ')}`);
  return f.content;
};

interface YRule {
  record?: string;
  alert?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rulesOf = (content: string): YRule[] =>
  (parse(content) as { groups: { rules: YRule[] }[] }).groups.flatMap((g) => g.rules);
const recordNamesIn = (expr: string) =>
  [
    ...expr
      .replace(/"(?:[^"\\]|\\.)*"/g, '""')
      .replace(/\[[^\]]*\]/g, '[]')
      .matchAll(/([a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_:]*)/g),
  ].map((m) => m[1]!);

interface Cr {
  apiVersion: string;
  kind: string;
  metadata: unknown;
  spec: { groups: unknown };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  options: { content: string };
  targets?: { expr: string; datasource: { uid: string } }[];
}
interface Dash {
  uid: string;
  schemaVersion: number;
  templating: { list: Record<string, unknown>[] };
  panels: Panel[];
}

function listFiles(dir: string): string[] {
  let out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    out = e.isDirectory() ? [...out, ...listFiles(p)] : [...out, relative(outDir, p)];
  }
  return out;
}

describe('generateArtifacts: golden files', () => {
  if (process.env.UPDATE_GOLDEN === '1') {
    for (const f of set.files) {
      mkdirSync(dirname(join(outDir, f.path)), { recursive: true });
      writeFileSync(join(outDir, f.path), f.content);
    }
  }

  it('produces exactly the golden file list', () => {
    expect(set.files.map((f) => f.path).sort()).toEqual(listFiles(outDir).sort());
  });

  it.each(set.files.map((f) => [f.path]))(
    '%s matches its golden file (UPDATE_GOLDEN=1 to regenerate)',
    (path) => {
      expect(file(path)).toBe(readFileSync(join(outDir, path), 'utf8'));
    },
  );

  it('is deterministic', () => {
    expect(generateArtifacts(rec, OPTS)).toEqual(set);
  });
});

describe('generateArtifacts: structure', () => {
  it('validates against the ArtifactSet schema and names files by convention', () => {
    const r = validate(ArtifactSet, set);
    expect(r.ok ? 'ok' : r.error).toBe('ok');
    const services = [...new Set(rec.journeys.map((j) => j.service))].sort();
    const slos = rec.journeys.flatMap((j) => j.slis.map((s) => s.id));
    expect(set.files.filter((f) => f.path.startsWith('prometheus/')).map((f) => f.path)).toEqual(
      services.map((s) => `prometheus/${s}.rules.yaml`),
    );
    expect(set.files.filter((f) => f.path.startsWith('grafana/')).map((f) => f.path)).toEqual([
      ...services.map((s) => `grafana/${s}.dashboard.json`),
      'grafana/provisioning/dashboards/slo-scout.yaml',
    ]);
    expect(
      set.files
        .filter((f) => f.path.startsWith('runbooks/'))
        .map((f) => f.path)
        .sort(),
    ).toEqual(slos.flatMap((id) => [`runbooks/${id}-page.md`, `runbooks/${id}-ticket.md`]).sort());
    expect(JSON.parse(file('recommendations.json'))).toEqual(rec);
  });

  it('writes rule files that parse, where every referenced recording rule exists', () => {
    for (const f of set.files.filter((x) => x.path.startsWith('prometheus/'))) {
      const rules = rulesOf(f.content);
      const records = new Set(rules.filter((r) => r.record).map((r) => r.record!));
      expect(records.size).toBeGreaterThan(0);
      for (const r of rules) {
        for (const name of recordNamesIn(r.expr))
          expect(records, `${f.path}: ${r.alert ?? r.record} uses ${name}`).toContain(name);
      }
    }
  });

  it('records the SLI error ratio for every alert window and the 30d period', () => {
    const rules = rulesOf(file('prometheus/checkout.rules.yaml'));
    const id = 'checkout-post-api-checkout-availability';
    const windows = rules
      .filter((r) => r.labels?.slo_id === id && r.record?.startsWith('slo:sli_error:ratio_rate'))
      .map((r) => r.labels!.slo_window);
    expect(windows).toEqual(['5m', '30m', '1h', '2h', '6h', '1d', '3d', '30d']);
    const meta = Object.fromEntries(
      rules.filter((r) => r.labels?.slo_id === id && r.record).map((r) => [r.record, r.expr]),
    );
    expect(meta['slo:objective:ratio']).toBe('vector(0.995)');
    expect(meta['slo:error_budget:ratio']).toBe('vector(0.005)');
    expect(meta['slo:time_period:days']).toBe('vector(30)');
    expect(meta['slo:period_error_budget_remaining:ratio']).toBe(
      `1 - slo:period_burn_rate:ratio{slo_id="${id}"}`,
    );
    expect(meta['slo:sli_error:ratio_rate5m']).toContain('[5m]');
    expect(meta['slo:sli_error:ratio_rate5m']).not.toContain('{{.window}}');
  });

  it('writes page and ticket alerts with the SRE Workbook burn-rate pairs, labels and annotations', () => {
    const rules = rulesOf(file('prometheus/checkout.rules.yaml'));
    const page = rules.find((r) => r.alert === 'CheckoutPostApiCheckoutAvailabilityErrorBudgetBurnPage')!;
    const ticket = rules.find((r) => r.alert === 'CheckoutPostApiCheckoutAvailabilityErrorBudgetBurnTicket')!;
    expect(page.expr).toContain(
      'slo:sli_error:ratio_rate5m{slo_id="checkout-post-api-checkout-availability"} > (14.4 * 0.005)',
    );
    expect(page.expr).toContain(
      'slo:sli_error:ratio_rate1h{slo_id="checkout-post-api-checkout-availability"} > (14.4 * 0.005)',
    );
    expect(page.expr).toContain(
      'ratio_rate6h{slo_id="checkout-post-api-checkout-availability"} > (6 * 0.005)',
    );
    expect(ticket.expr).toContain(
      'ratio_rate3d{slo_id="checkout-post-api-checkout-availability"} > (1 * 0.005)',
    );
    expect(page.labels).toMatchObject({
      severity: 'page',
      slo_id: 'checkout-post-api-checkout-availability',
      service: 'checkout',
      team: 'shop',
    });
    expect(ticket.labels?.severity).toBe('ticket');
    expect(page.annotations?.runbook_url).toBe('runbooks/checkout-post-api-checkout-availability-page.md');
    expect(page.annotations?.dashboard_url).toBe('/d/slo-scout-checkout/checkout-slos');
    expect(page.annotations?.summary).toContain('checkout: POST /api/checkout');
    expect(page.annotations?.description).toMatch(/budget is gone in about 2.1 days/);
  });

  it('uses absolute runbook and dashboard links when base URLs are given', () => {
    const s = generateArtifacts(rec, {
      ...OPTS,
      runbookBaseUrl: 'https://git.example.com/slo/blob/main/',
      grafanaBaseUrl: 'https://grafana.example.com',
    });
    const page = rulesOf(s.files.find((f) => f.path === 'prometheus/payments.rules.yaml')!.content).find(
      (r) => r.alert?.endsWith('Page'),
    )!;
    expect(page.annotations?.runbook_url).toBe(
      'https://git.example.com/slo/blob/main/runbooks/payments-post-charge-availability-page.md',
    );
    expect(page.annotations?.dashboard_url).toBe(
      'https://grafana.example.com/d/slo-scout-payments/payments-slos',
    );
  });

  it('can wrap the rules as a PrometheusRule custom resource', () => {
    const s = generateArtifacts(rec, {
      ...OPTS,
      prometheusOperator: { namespace: 'monitoring', labels: { release: 'kps' } },
    });
    const cr = parse(
      s.files.find((f) => f.path === 'kubernetes/checkout.prometheusrule.yaml')!.content,
    ) as Cr;
    expect(cr.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(cr.kind).toBe('PrometheusRule');
    expect(cr.metadata).toEqual({
      name: 'slo-scout-checkout',
      namespace: 'monitoring',
      labels: { 'app.kubernetes.io/managed-by': 'slo-scout', release: 'kps' },
    });
    expect(cr.spec.groups).toEqual(
      (parse(file('prometheus/checkout.rules.yaml')) as { groups: unknown }).groups,
    );
    const models = toSloModel(rec);
    const obj = prometheusRule(ruleFiles(models, DEFAULT_NAMING).get('fraud')!, { name: 'x' });
    expect(obj.metadata).toEqual({ name: 'x', labels: { 'app.kubernetes.io/managed-by': 'slo-scout' } });
  });

  it('writes Grafana dashboards with stable uids, a datasource variable and the SLO panels', () => {
    const d = JSON.parse(file('grafana/checkout.dashboard.json')) as Dash;
    expect(d.uid).toBe('slo-scout-checkout');
    expect(d.uid).toBe(dashboardUid('checkout'));
    expect(d.schemaVersion).toBeGreaterThanOrEqual(39);
    expect(d.templating.list[0]).toMatchObject({
      name: 'datasource',
      type: 'datasource',
      query: 'prometheus',
    });
    const titles = d.panels.map((p: { title: string }) => p.title);
    expect(titles).toEqual(
      expect.arrayContaining([
        'availability SLI (objective 99.5%)',
        'availability burn rate',
        'availability error budget remaining (30d)',
        'latency SLI (objective 99.99%)',
        'Traffic',
        'Latency quantiles',
        'Runbooks',
      ]),
    );
    const text = d.panels.find((p: { type: string }) => p.type === 'text');
    expect(text?.options.content).toContain('runbooks/checkout-post-api-checkout-latency-page.md');
    const records = new Set(rulesOf(file('prometheus/checkout.rules.yaml')).map((r) => r.record));
    for (const p of d.panels)
      for (const t of p.targets ?? []) {
        expect(t.datasource.uid).toBe('${datasource}');
        for (const n of recordNamesIn(t.expr)) expect(records).toContain(n);
      }
    const ids = d.panels.map((p: { id: number }) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(dashboardUid('a'.repeat(60)).length).toBeLessThanOrEqual(40);
  });

  it('writes runbooks specific to the SLO: impact, dependencies, PromQL, log templates, escalation', () => {
    const page = file('runbooks/checkout-post-api-checkout-availability-page.md');
    expect(page).toMatch(/^# CheckoutPostApiCheckoutAvailabilityErrorBudgetBurnPage/);
    expect(page).toContain('getting server errors');
    expect(page).toContain('* payments: POST /charge');
    expect(page).toContain('`payment declined for order <*>: <*>` | 40 | 18');
    expect(page).toContain(
      'slo:period_error_budget_remaining:ratio{slo_id="checkout-post-api-checkout-availability"}',
    );
    expect(page).toContain('[slo-scout-checkout](/d/slo-scout-checkout/checkout-slos)');
    expect(page).toContain('team shop');
    expect(page).toMatch(/This is a \*\*page\*\*/);
    const ticket = file('runbooks/checkout-post-api-checkout-availability-ticket.md');
    expect(ticket).toMatch(/This is a \*\*ticket\*\*/);
    expect(ticket).toContain('**3x** over 1d and 2h');
    const latency = file('runbooks/checkout-post-api-checkout-latency-page.md');
    expect(latency).toContain('longer than 2500 ms');
    const worker = file('runbooks/orders-worker-process-order-events-freshness-page.md');
    expect(worker).toContain('consumer lag');
    expect(worker).toContain('No log templates were recorded for orders-worker');
    const lowTraffic = file('runbooks/catalog-get-api-products-id-availability-page.md');
    expect(lowTraffic).toContain('low traffic');
  });
});

describe('windows and naming', () => {
  it('parses and formats Prometheus durations', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('30d')).toBe(2_592_000_000);
    expect(parseDuration('5x')).toBeUndefined();
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(86_400_000 * 3)).toBe('3d');
  });

  it('scales the catalogue to other periods, keeping factors', () => {
    const c = catalogueFor('7d');
    expect(c.ok && c.value.windows).toEqual([
      { severity: 'page', short: '1m', long: '14m', factor: 14.4 },
      { severity: 'page', short: '7m', long: '1h24m', factor: 6 },
      { severity: 'ticket', short: '28m', long: '5h36m', factor: 3 },
      { severity: 'ticket', short: '1h24m', long: '16h48m', factor: 1 },
    ]);
    expect(requiredWindows(SRE_WORKBOOK_30D)).toEqual(['5m', '30m', '1h', '2h', '6h', '1d', '3d']);
  });

  it('rejects invalid custom catalogues with clear messages', () => {
    const bad = validateCatalogue({
      period: '30d',
      windows: [{ severity: 'page', short: '2h', long: '1h', factor: 800 }],
    });
    expect(bad.ok ? '' : bad.error).toMatch(
      /short window 2h must be shorter than long 1h.*factor 800 over 1h would need more than the whole budget/,
    );
    const r = tryGenerateArtifacts(rec, { ...OPTS, catalogue: { period: 'month', windows: [] } });
    expect(r.ok ? '' : r.error).toMatch(/period "month" is not a Prometheus duration/);
  });

  it('accepts a custom catalogue (page only: no ticket alerts or runbooks)', () => {
    const s = generateArtifacts(rec, {
      ...OPTS,
      catalogue: { period: '30d', windows: [{ severity: 'page', short: '10m', long: '2h', factor: 10 }] },
    });
    const rules = rulesOf(s.files.find((f) => f.path === 'prometheus/fraud.rules.yaml')!.content);
    expect(rules.filter((r) => r.alert && !r.alert.endsWith('SliNoData')).map((r) => r.alert)).toEqual([
      'FraudPostScoreAvailabilityErrorBudgetBurnPage',
      'FraudPostScoreLatencyErrorBudgetBurnPage',
    ]);
    expect(s.files.some((f) => f.path.endsWith('-ticket.md'))).toBe(false);
    expect(rules.filter((r) => r.record === 'slo:sli_error:ratio_rate10m')).toHaveLength(2);
  });

  it('takes naming conventions as data (Sloth labels)', () => {
    const s = generateArtifacts(rec, { ...OPTS, naming: SLOTH_NAMING });
    const rules = rulesOf(s.files.find((f) => f.path === 'prometheus/fraud.rules.yaml')!.content);
    expect(rules[0]!.labels).toMatchObject({
      sloth_id: 'fraud-post-score-availability',
      sloth_service: 'fraud',
      sloth_slo: 'availability',
      sloth_window: '5m',
    });
    expect(
      (
        parse(s.files.find((f) => f.path === 'prometheus/fraud.rules.yaml')!.content) as {
          groups: { name: string }[];
        }
      ).groups[0]!.name,
    ).toBe('sloth-slo-sli-recordings-fraud-post-score-availability');
  });

  it('reports invalid recommendations as an error value', () => {
    const j = rec.journeys[0]!;
    const dup: Recommendations = { ...rec, journeys: [j, { ...j, id: 'copy' }] };
    const r = tryGenerateArtifacts(dup, OPTS);
    expect(r.ok ? '' : r.error).toMatch(/duplicate SLO id checkout-post-api-checkout-availability/);
    const noWindow: Recommendations = {
      ...rec,
      journeys: [
        {
          ...j,
          slis: [
            {
              ...j.slis[0]!,
              id: 'x-availability',
              bad_query: 'sum(rate(a[5m]))',
              total_query: 'sum(rate(b[5m]))',
              good_query: undefined,
            } as never,
          ],
        },
      ],
    };
    const r2 = tryGenerateArtifacts(noWindow, OPTS);
    expect(r2.ok ? '' : r2.error).toMatch(/must contain the \{\{\.window\}\} placeholder/);
    expect(() =>
      generateArtifacts({ ...rec, journeys: [{ ...j, slis: [{ ...j.slis[0]!, objective: 100 }] }] }, OPTS),
    ).toThrow(/objective 100 not in \(0, 100\)/);
  });
});
