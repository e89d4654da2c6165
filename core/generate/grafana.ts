/**
 * Grafana dashboards built with @grafana/grafana-foundation-sdk (a pure builder library: it only assembles JSON):
 * one dashboard per service, one row per journey. Per SLO: the SLI over time against its objective, burn rates
 * against the alert factors and the remaining error budget (rolling, and calendar month when configured); per
 * journey: traffic, latency quantiles, the latency distribution (heatmap of the histogram buckets) and a text panel
 * linking the runbooks. A `datasource` variable selects the Prometheus data source.
 *
 * Provisioning: `grafanaProvisioning()` is a Grafana file provider that loads the dashboards from a directory.
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import {
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  DatasourceVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  type Threshold,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as HeatmapPanel, YAxisConfigBuilder } from '@grafana/grafana-foundation-sdk/heatmap';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TextPanel, TextMode } from '@grafana/grafana-foundation-sdk/text';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import type { SloModel } from './model.js';
import { leMatcherFor, withWindow } from './model.js';
import { sliErrorRecord, type NamingConvention } from './naming.js';
import { catalogueForModel } from './prometheus.js';
import { SRE_WORKBOOK_30D, type WindowCatalogue } from './windows.js';

/** Locale-independent string order (output must not depend on the host locale). */
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

type Json = Record<string, unknown>;

/** The data source every panel and query uses: the dashboard's `datasource` variable. */
export const DASHBOARD_DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;
const DS = DASHBOARD_DATASOURCE;

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"');

const query = (expr: string, legend: string, refId: string) =>
  new DataqueryBuilder().datasource(DS).expr(expr).legendFormat(legend).refId(refId).range();

const thresholds = (steps: Threshold[]) =>
  new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(steps);

const link = (title: string, url: string) =>
  new DashboardLinkBuilder(title).type(DashboardLinkType.Link).url(url).targetBlank(true);

const legend = () =>
  new common.VizLegendOptionsBuilder()
    .displayMode(common.LegendDisplayMode.List)
    .placement(common.LegendPlacement.Bottom)
    .showLegend(true);
const tooltip = () =>
  new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.None);

const timeseries = (title: string, span: number, unit: string) =>
  new TimeseriesPanel()
    .title(title)
    .datasource(DS)
    .span(span)
    .height(8)
    .unit(unit)
    .legend(legend())
    .tooltip(tooltip());

/** Classic-histogram bucket selector with an extra `le` matcher. */
const withLe = (metric: string, selector: string, le: string) => {
  const inner = selector.replace(/^\{|\}$/g, '').trim();
  return `${metric}{${inner ? `${inner}, ` : ''}${le}}`;
};

function sloPanels(m: SloModel, naming: NamingConvention, catalogue: WindowCatalogue) {
  const s = `{${naming.labels.id}="${esc(m.id)}"}`;
  const cat = catalogueForModel(m, catalogue);
  const on = `on(${naming.labels.id}, ${naming.labels.service}, ${naming.labels.name})`;
  const windows = [...new Set(cat.windows.map((w) => w.long))];
  const factors = [...new Set(cat.windows.map((w) => w.factor))].sort((a, b) => a - b);
  const fast = cat.windows[0] ?? { short: '5m', long: '1h' };
  const runbookLinks = [
    link('Page runbook', m.runbookUrls.page),
    link('Ticket runbook', m.runbookUrls.ticket),
  ];

  const sli = timeseries(`${m.name} SLI (objective ${m.objective}%)`, 10, 'percentunit')
    .description(m.description + (m.latency?.mode === 'between-buckets' ? `. ${m.latency.note}.` : ''))
    .withTarget(query(`1 - ${sliErrorRecord(naming, fast.short)}${s}`, `SLI ${fast.short}`, 'A'))
    .withTarget(query(`1 - ${sliErrorRecord(naming, fast.long)}${s}`, `SLI ${fast.long}`, 'B'))
    .withTarget(query(`${naming.records.objective}${s}`, 'objective', 'C'))
    .min(Math.max(0, Math.floor((1 - m.errorBudget * 20) * 1000) / 1000))
    .max(1)
    .decimals(3)
    .thresholds(
      thresholds([
        { value: null, color: 'red' },
        { value: m.objectiveRatio, color: 'green' },
      ]),
    )
    .thresholdsStyle(
      new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Line),
    )
    .links(runbookLinks);
  // A threshold between classic buckets: show the optimistic bound next to the (conservative) SLI.
  if (m.latency?.mode === 'between-buckets' && m.histogram && m.latency.upperMs !== undefined) {
    const h = m.histogram;
    const toUnit = (ms: number) => (h.unit === 'milliseconds' ? ms : ms / 1000);
    sli.withTarget(
      query(
        `sum(rate(${withLe(h.bucketMetric, h.selector, leMatcherFor(toUnit(m.latency.upperMs)))}[$__rate_interval]))\n/\n` +
          `sum(rate(${h.countMetric}${h.selector}[$__rate_interval]))`,
        `<= ${m.latency.upperMs} ms (optimistic bound)`,
        'D',
      ),
    );
  }

  const burn = timeseries(`${m.name} burn rate`, 10, 'x')
    .thresholds(
      thresholds([
        { value: null, color: 'green' },
        ...factors.map((f, i) => ({ value: f, color: i === factors.length - 1 ? 'red' : 'orange' })),
      ]),
    )
    .thresholdsStyle(
      new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Line),
    )
    .links(runbookLinks);
  windows.forEach((w, i) =>
    burn.withTarget(
      query(
        `${sliErrorRecord(naming, w)}${s}\n/ ${on} group_left\n${naming.records.errorBudget}${s}`,
        `burn ${w}`,
        String.fromCharCode(65 + i),
      ),
    ),
  );

  const budget = new StatPanel()
    .title(`${m.name} error budget remaining (${m.period}${m.calendar ? ', calendar month' : ''})`)
    .datasource(DS)
    .span(4)
    .height(8)
    .unit('percentunit')
    .decimals(1)
    .withTarget(query(`${naming.records.periodErrorBudgetRemaining}${s}`, `rolling ${m.period}`, 'A'))
    .thresholds(
      thresholds([
        { value: null, color: 'red' },
        { value: 0.25, color: 'orange' },
        { value: 0.5, color: 'green' },
      ]),
    )
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).fields('').values(false))
    .colorMode(common.BigValueColorMode.Background)
    .graphMode(common.BigValueGraphMode.Area);
  if (m.calendar === 'month')
    budget.withTarget(
      query(`${naming.records.calendarErrorBudgetRemaining}${s}`, 'this calendar month', 'B'),
    );
  return [sli, burn, budget];
}

function journeyPanels(slos: readonly SloModel[]) {
  const first = slos[0]!;
  const total = slos.find((m) => m.sli.totalQuery)?.sli.totalQuery;
  const h = slos.find((m) => m.histogram)?.histogram;
  const nat = h ? undefined : slos.find((m) => m.nativeHistogram)?.nativeHistogram;
  const thr = slos.find((m) => m.sli.thresholdMs !== undefined)?.sli.thresholdMs;
  const panels: (TimeseriesPanel | HeatmapPanel | TextPanel)[] = [];
  const latency = h
    ? { series: `${h.bucketMetric}${h.selector}`, unit: h.unit, classic: true }
    : nat
      ? { series: `${nat.metric}${nat.selector}`, unit: nat.unit, classic: false }
      : undefined;
  // Widths: the journey's line always fills the 24 columns.
  const n = (total ? 1 : 0) + (latency ? 2 : 0) + 1;
  const span = Math.floor(24 / n);
  const last = 24 - span * (n - 1);
  if (total) {
    panels.push(
      timeseries('Traffic', span, 'reqps').withTarget(
        query(
          withWindow(total, '$__rate_interval'),
          first.journeyKind === 'async' ? 'messages/s' : 'requests/s',
          'A',
        ),
      ),
    );
  }
  if (latency) {
    const unit = latency.unit === 'milliseconds' ? 'ms' : 's';
    const thrUnit = thr === undefined ? undefined : unit === 'ms' ? thr : thr / 1000;
    const by = latency.classic ? 'sum by (le)' : 'sum';
    const quantiles = timeseries('Latency quantiles', span, unit).thresholds(
      thresholds(
        thrUnit === undefined
          ? [{ value: null, color: 'green' }]
          : [
              { value: null, color: 'green' },
              { value: thrUnit, color: 'red' },
            ],
      ),
    );
    if (thrUnit !== undefined)
      quantiles.thresholdsStyle(
        new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed),
      );
    [0.5, 0.9, 0.99].forEach((q, i) =>
      quantiles.withTarget(
        query(
          `histogram_quantile(${q}, ${by} (rate(${latency.series}[$__rate_interval])))`,
          `p${Math.round(q * 100)}`,
          String.fromCharCode(65 + i),
        ),
      ),
    );
    panels.push(quantiles);
    panels.push(
      new HeatmapPanel()
        .title('Latency distribution')
        .datasource(DS)
        .span(span)
        .height(8)
        .calculate(false)
        .yAxis(new YAxisConfigBuilder().unit(unit))
        .withTarget(
          query(
            latency.classic
              ? `sum by (le) (rate(${latency.series}[$__rate_interval]))`
              : `sum(rate(${latency.series}[$__rate_interval]))`,
            latency.classic ? '{{le}}' : 'latency',
            'A',
          ).format(PromQueryFormat.Heatmap),
        ),
    );
  }
  const lines = [
    `**${first.journeyName}** (${first.journeyKind}, criticality ${first.criticality}${first.lowTraffic ? ', low traffic' : ''})`,
    '',
    ...slos.map(
      (m) =>
        `* **${m.name}** ${m.objective}% over ${m.period}${m.calendar ? ' (and per calendar month)' : ''}` +
        `${m.sli.thresholdMs !== undefined ? ` (threshold ${m.sli.thresholdMs} ms)` : ''}: ` +
        `[page runbook](${m.runbookUrls.page}) · [ticket runbook](${m.runbookUrls.ticket})`,
    ),
    ...slos
      .filter((m) => m.latency?.mode === 'between-buckets' || m.latency?.mode === 'native')
      .map((m) => `* _${m.name}: ${m.latency!.note}._`),
    '',
    first.dependencyServices.length
      ? `Depends on: ${first.dependencyServices.join(', ')}`
      : 'No downstream services observed.',
  ];
  panels.push(
    new TextPanel().title('Runbooks').span(last).height(8).mode(TextMode.Markdown).content(lines.join('\n')),
  );
  return panels;
}

/** Gives every panel (rows and nested panels included) a unique id, in order. */
function numberPanels(d: Json): void {
  let id = 1;
  const visit = (panels: unknown) => {
    if (!Array.isArray(panels)) return;
    for (const p of panels as Json[]) {
      p.id = id++;
      visit(p.panels);
    }
  };
  visit(d.panels);
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
  const byJourney = new Map<string, SloModel[]>();
  for (const m of models) {
    let g = byJourney.get(m.journeyId);
    if (!g) byJourney.set(m.journeyId, (g = []));
    g.push(m);
  }
  const b = new DashboardBuilder(`SLOs: ${service}`)
    .uid(models[0]!.dashboardUid)
    .description(`Service level objectives of ${service}, generated by SLO-Scout.`)
    .tags(['slo', 'slo-scout', `service:${service}`])
    .timezone('utc')
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh('1m')
    .time({ from: 'now-7d', to: 'now' })
    .version(1)
    .withVariable(
      new DatasourceVariableBuilder('datasource').label('Prometheus').type('prometheus').regex(''),
    );
  for (const slos of byJourney.values()) {
    const j = slos[0]!;
    b.withRow(new RowBuilder(`${j.journeyName} — ${j.criticality}`));
    for (const m of slos) for (const p of sloPanels(m, naming, catalogue)) b.withPanel(p);
    for (const p of journeyPanels(slos)) b.withPanel(p);
  }
  // Plain JSON (the builders' objects carry marker methods); then stable panel ids.
  const d = JSON.parse(JSON.stringify(b.build())) as Json;
  numberPanels(d);
  return d;
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

/** Where the provisioning file tells Grafana to find the dashboards (copy `grafana/*.dashboard.json` there). */
export const GRAFANA_DASHBOARD_DIR = '/var/lib/grafana/dashboards/slo-scout';

/** A Grafana dashboard provider (`/etc/grafana/provisioning/dashboards/slo-scout.yaml`). */
export function grafanaProvisioning(path = GRAFANA_DASHBOARD_DIR): Json {
  return {
    apiVersion: 1,
    providers: [
      {
        name: 'slo-scout',
        orgId: 1,
        folder: 'SLOs',
        type: 'file',
        disableDeletion: false,
        allowUiUpdates: false,
        updateIntervalSeconds: 60,
        options: { path, foldersFromFilesStructure: false },
      },
    ],
  };
}
