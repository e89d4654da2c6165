/**
 * Grafana dashboards as plain JSON (schemaVersion 39): one per service, one row per journey with, per SLO, the SLI
 * over time against its objective, burn rates against the alert factors and the remaining error budget; per
 * journey, traffic, latency quantiles and a text panel linking the runbooks. A `datasource` variable selects the
 * Prometheus data source.
 */
import type { SloModel } from './model.js';
import { withWindow } from './model.js';
import { sliErrorRecord, type NamingConvention } from './naming.js';
import { catalogueForModel } from './prometheus.js';
import { SRE_WORKBOOK_30D, type WindowCatalogue } from './windows.js';

/** Locale-independent string order (output must not depend on the host locale). */
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export const GRAFANA_SCHEMA_VERSION = 39;

const DS = { type: 'prometheus', uid: '${datasource}' } as const;

type Json = Record<string, unknown>;

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"');

interface Layout {
  nextId: number;
  y: number;
}

const target = (expr: string, legendFormat: string, refId: string): Json => ({
  datasource: DS,
  expr,
  legendFormat,
  refId,
  range: true,
});

function timeseries(
  l: Layout,
  title: string,
  gridPos: { x: number; w: number; h: number },
  targets: Json[],
  unit: string,
  thresholds: { value: number | null; color: string }[] = [{ value: null, color: 'green' }],
  extra: Json = {},
): Json {
  return {
    id: l.nextId++,
    type: 'timeseries',
    title,
    datasource: DS,
    gridPos: { ...gridPos, y: l.y },
    targets,
    fieldConfig: {
      defaults: {
        unit,
        thresholds: { mode: 'absolute', steps: thresholds },
        custom: { thresholdsStyle: { mode: thresholds.length > 1 ? 'line' : 'off' } },
        ...extra,
      },
      overrides: [],
    },
    options: {
      legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
      tooltip: { mode: 'multi', sort: 'none' },
    },
  };
}

function sloPanels(m: SloModel, naming: NamingConvention, catalogue: WindowCatalogue, l: Layout): Json[] {
  const s = `{${naming.labels.id}="${esc(m.id)}"}`;
  const cat = catalogueForModel(m, catalogue);
  const on = `on(${naming.labels.id}, ${naming.labels.service}, ${naming.labels.name})`;
  const windows = [...new Set(cat.windows.map((w) => w.long))];
  const factors = [...new Set(cat.windows.map((w) => w.factor))].sort((a, b) => a - b);
  const fast = cat.windows[0] ?? { short: '5m', long: '1h' };
  const panels: Json[] = [
    timeseries(
      l,
      `${m.name} SLI (objective ${m.objective}%)`,
      { x: 0, w: 10, h: 8 },
      [
        target(`1 - ${sliErrorRecord(naming, fast.short)}${s}`, `SLI ${fast.short}`, 'A'),
        target(`1 - ${sliErrorRecord(naming, fast.long)}${s}`, `SLI ${fast.long}`, 'B'),
        target(`${naming.records.objective}${s}`, 'objective', 'C'),
      ],
      'percentunit',
      [
        { value: null, color: 'red' },
        { value: m.objectiveRatio, color: 'green' },
      ],
      { min: Math.max(0, Math.floor((1 - m.errorBudget * 20) * 1000) / 1000), max: 1, decimals: 3 },
    ),
    timeseries(
      l,
      `${m.name} burn rate`,
      { x: 10, w: 10, h: 8 },
      windows.map((w, i) =>
        target(
          `${sliErrorRecord(naming, w)}${s}\n/ ${on} group_left\n${naming.records.errorBudget}${s}`,
          `burn ${w}`,
          String.fromCharCode(65 + i),
        ),
      ),
      'x',
      [
        { value: null, color: 'green' },
        ...factors.map((f, i) => ({ value: f, color: i === factors.length - 1 ? 'red' : 'orange' })),
      ],
    ),
    {
      id: l.nextId++,
      type: 'stat',
      title: `${m.name} error budget remaining (${m.period})`,
      datasource: DS,
      gridPos: { x: 20, w: 4, h: 8, y: l.y },
      targets: [target(`${naming.records.periodErrorBudgetRemaining}${s}`, 'remaining', 'A')],
      fieldConfig: {
        defaults: {
          unit: 'percentunit',
          decimals: 1,
          thresholds: {
            mode: 'absolute',
            steps: [
              { value: null, color: 'red' },
              { value: 0.25, color: 'orange' },
              { value: 0.5, color: 'green' },
            ],
          },
        },
        overrides: [],
      },
      options: {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        colorMode: 'background',
        graphMode: 'area',
      },
    },
  ];
  l.y += 8;
  return panels;
}

function journeyPanels(slos: readonly SloModel[], l: Layout): Json[] {
  const first = slos[0]!;
  const panels: Json[] = [];
  const total = slos.find((m) => m.sli.totalQuery)?.sli.totalQuery;
  if (total) {
    panels.push(
      timeseries(
        l,
        'Traffic',
        { x: 0, w: 8, h: 8 },
        [
          target(
            withWindow(total, '$__rate_interval'),
            first.journeyKind === 'async' ? 'messages/s' : 'requests/s',
            'A',
          ),
        ],
        'reqps',
      ),
    );
  }
  const h = slos.find((m) => m.histogram)?.histogram;
  const thr = slos.find((m) => m.sli.thresholdMs !== undefined)?.sli.thresholdMs;
  if (h) {
    const inner = h.selector || '';
    const unit = h.unit === 'milliseconds' ? 'ms' : 's';
    const thrUnit = thr === undefined ? undefined : unit === 'ms' ? thr : thr / 1000;
    panels.push(
      timeseries(
        l,
        'Latency quantiles',
        { x: 8, w: 8, h: 8 },
        [0.5, 0.9, 0.99].map((q, i) =>
          target(
            `histogram_quantile(${q}, sum by (le) (rate(${h.bucketMetric}${inner}[$__rate_interval])))`,
            `p${Math.round(q * 100)}`,
            String.fromCharCode(65 + i),
          ),
        ),
        unit,
        thrUnit === undefined
          ? [{ value: null, color: 'green' }]
          : [
              { value: null, color: 'green' },
              { value: thrUnit, color: 'red' },
            ],
      ),
    );
  }
  const lines = [
    `**${first.journeyName}** (${first.journeyKind}, criticality ${first.criticality}${first.lowTraffic ? ', low traffic' : ''})`,
    '',
    ...slos.flatMap((m) => [
      `* **${m.name}** ${m.objective}% over ${m.period}${m.sli.thresholdMs !== undefined ? ` (threshold ${m.sli.thresholdMs} ms)` : ''}: ` +
        `[page runbook](${m.runbookUrls.page}) · [ticket runbook](${m.runbookUrls.ticket})`,
    ]),
    '',
    first.dependencyServices.length
      ? `Depends on: ${first.dependencyServices.join(', ')}`
      : 'No downstream services observed.',
  ];
  panels.push({
    id: l.nextId++,
    type: 'text',
    title: 'Runbooks',
    gridPos: { x: 16, w: 8, h: 8, y: l.y },
    options: { mode: 'markdown', content: lines.join('\n') },
  });
  l.y += 8;
  return panels;
}

/** One dashboard for the SLOs of one service. */
export function serviceDashboard(
  models: readonly SloModel[],
  naming: NamingConvention,
  catalogue: WindowCatalogue = SRE_WORKBOOK_30D,
): Json {
  if (models.length === 0) throw new Error('serviceDashboard needs at least one SLO');
  const service = models[0]!.service;
  if (models.some((m) => m.service !== service))
    throw new Error('serviceDashboard: SLOs of several services given');
  const l: Layout = { nextId: 1, y: 0 };
  const byJourney = new Map<string, SloModel[]>();
  for (const m of models) {
    let g = byJourney.get(m.journeyId);
    if (!g) byJourney.set(m.journeyId, (g = []));
    g.push(m);
  }
  const panels: Json[] = [];
  for (const slos of byJourney.values()) {
    const j = slos[0]!;
    panels.push({
      id: l.nextId++,
      type: 'row',
      title: `${j.journeyName} — ${j.criticality}`,
      collapsed: false,
      gridPos: { x: 0, y: l.y, w: 24, h: 1 },
      panels: [],
    });
    l.y += 1;
    for (const m of slos) panels.push(...sloPanels(m, naming, catalogue, l));
    panels.push(...journeyPanels(slos, l));
  }
  return {
    uid: models[0]!.dashboardUid,
    title: `SLOs: ${service}`,
    description: `Service level objectives of ${service}, generated by SLO-Scout.`,
    tags: ['slo', 'slo-scout', `service:${service}`],
    timezone: 'utc',
    editable: true,
    graphTooltip: 1,
    schemaVersion: GRAFANA_SCHEMA_VERSION,
    version: 1,
    refresh: '1m',
    time: { from: 'now-7d', to: 'now' },
    annotations: { list: [] },
    links: [],
    templating: {
      list: [
        {
          name: 'datasource',
          label: 'Prometheus',
          type: 'datasource',
          query: 'prometheus',
          current: {},
          hide: 0,
          refresh: 1,
          regex: '',
          options: [],
          includeAll: false,
          multi: false,
        },
      ],
    },
    panels,
  };
}

/** Dashboards keyed by service slug. */
export function dashboards(
  models: readonly SloModel[],
  naming: NamingConvention,
  catalogue: WindowCatalogue = SRE_WORKBOOK_30D,
): Map<string, Json> {
  const by = new Map<string, SloModel[]>();
  for (const m of models) {
    let g = by.get(m.serviceSlug);
    if (!g) by.set(m.serviceSlug, (g = []));
    g.push(m);
  }
  return new Map(
    [...by.entries()]
      .sort(([a], [b]) => cmp(a, b))
      .map(([k, ms]) => [k, serviceDashboard(ms, naming, catalogue)]),
  );
}
