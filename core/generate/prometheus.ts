/**
 * Prometheus rules for SLOs, as a chain of pure steps over SloModel:
 *   recordingRules (SLI error ratio per window) -> metadataRules (objective, budget, burn rates, info) ->
 *   alertRules (multi-window multi-burn-rate page/ticket) -> ruleFileYaml / prometheusRuleYaml writers.
 * Names and labels come from a NamingConvention; windows from a WindowCatalogue.
 */
import { Document } from 'yaml';
import { unwrap } from '../result.js';
import type { SloModel } from './model.js';
import { withWindow } from './model.js';
import { alertName, groupName, noDataAlertName, sliErrorRecord, type NamingConvention } from './naming.js';
import {
  catalogueFor,
  parseDuration,
  requiredWindows,
  SRE_WORKBOOK_30D,
  type Severity,
  type WindowCatalogue,
} from './windows.js';

/** Locale-independent string order (output must not depend on the host locale). */
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
  readonly labels: Readonly<Record<string, string>>;
}
export interface AlertingRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}
export type Rule = RecordingRule | AlertingRule;
export interface RuleGroup {
  readonly name: string;
  readonly interval?: string;
  readonly rules: readonly Rule[];
}
export interface RuleFile {
  readonly groups: readonly RuleGroup[];
}

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
const num = (x: number) => String(Math.round(x * 1e10) / 1e10);

/** Labels identifying one SLO on every generated series. */
export function sloLabels(m: SloModel, n: NamingConvention): Record<string, string> {
  return { [n.labels.id]: m.id, [n.labels.service]: m.service, [n.labels.name]: m.name };
}

const sel = (m: SloModel, n: NamingConvention) => `{${n.labels.id}="${esc(m.id)}"}`;

/** The catalogue for a model's period (custom catalogues are scaled when their period differs). */
export function catalogueForModel(m: SloModel, base: WindowCatalogue = SRE_WORKBOOK_30D): WindowCatalogue {
  return unwrap(catalogueFor(m.period, base));
}

/** Windows that need an SLI recording: every alert window, plus the period (computed from the shortest). */
export function recordingWindows(m: SloModel, catalogue: WindowCatalogue = SRE_WORKBOOK_30D): string[] {
  return requiredWindows(catalogueForModel(m, catalogue));
}

/** SLI error-ratio recordings: one per alert window, and the period window averaged from the shortest. */
export function recordingRules(
  models: readonly SloModel[],
  naming: NamingConvention,
  catalogue: WindowCatalogue = SRE_WORKBOOK_30D,
): RuleGroup[] {
  return models.map((m) => {
    const windows = recordingWindows(m, catalogue);
    const base = windows[0]!;
    const labels = sloLabels(m, naming);
    const rules: RecordingRule[] = windows.map((w) => ({
      record: sliErrorRecord(naming, w),
      expr: withWindow(m.sli.errorRatioQuery, w),
      labels: { ...labels, [naming.labels.window]: w },
    }));
    if (!windows.includes(m.period)) {
      rules.push({
        record: sliErrorRecord(naming, m.period),
        expr: `avg_over_time(${sliErrorRecord(naming, base)}${sel(m, naming)}[${m.period}])`,
        labels: { ...labels, [naming.labels.window]: m.period },
      });
    }
    return { name: groupName(naming, 'sli', m.id), rules };
  });
}

/** Objective, budget, period, burn rates, remaining budget and an info series per SLO. */
export function metadataRules(
  models: readonly SloModel[],
  naming: NamingConvention,
  catalogue: WindowCatalogue = SRE_WORKBOOK_30D,
): RuleGroup[] {
  const r = naming.records;
  const on = `on(${naming.labels.id}, ${naming.labels.service}, ${naming.labels.name})`;
  return models.map((m) => {
    const labels = sloLabels(m, naming);
    const s = sel(m, naming);
    const base = recordingWindows(m, catalogue)[0]!;
    const rules: RecordingRule[] = [
      { record: r.objective, expr: `vector(${num(m.objectiveRatio)})`, labels },
      { record: r.errorBudget, expr: `vector(${num(m.errorBudget)})`, labels },
      { record: r.timePeriod, expr: `vector(${num(m.periodDays)})`, labels },
      {
        record: r.currentBurnRate,
        expr: `${sliErrorRecord(naming, base)}${s}\n/ ${on} group_left\n${r.errorBudget}${s}`,
        labels,
      },
      {
        record: r.periodBurnRate,
        expr: `${sliErrorRecord(naming, m.period)}${s}\n/ ${on} group_left\n${r.errorBudget}${s}`,
        labels,
      },
      { record: r.periodErrorBudgetRemaining, expr: `1 - ${r.periodBurnRate}${s}`, labels },
      {
        record: r.info,
        expr: 'vector(1)',
        labels: {
          ...labels,
          slo_objective: num(m.objective),
          slo_period: m.period,
          slo_journey: m.journeyId,
          slo_criticality: m.criticality,
          ...(m.calendar ? { slo_calendar: m.calendar } : {}),
          ...(m.latency && (m.latency.mode === 'between-buckets' || m.latency.mode === 'native')
            ? {
                slo_latency_threshold_ms: num(m.latency.thresholdMs),
                slo_latency_measured_ms: num(m.latency.usedMs ?? m.latency.thresholdMs),
              }
            : {}),
        },
      },
    ];
    rules.push(...calendarRules(m, naming, catalogue));
    return { name: groupName(naming, 'meta', m.id), rules };
  });
}

/**
 * Calendar-aligned budget (month, UTC) for SLOs with `calendar: 'month'`. Prometheus ranges have a fixed length, so
 * the month-to-date error ratio is a subquery over the longest possible month (31d) that keeps only the points whose
 * month() equals the month at evaluation time (`@ end()` pins the inner month() to the evaluation instant). The
 * subquery samples a recorded SLI window with a step equal to that window (the largest recorded window <= 1h), so
 * the points tile the month without gaps or overlap; the average is time-weighted like the rolling period's.
 * Budget remaining = 1 - (month-to-date error ratio / budget) * elapsed share of the month: the share of this
 * month's budget already spent, assuming steady traffic. It resets to 1 on the 1st of each month (UTC).
 */
export function calendarRules(
  m: SloModel,
  naming: NamingConvention,
  catalogue: WindowCatalogue = SRE_WORKBOOK_30D,
): RecordingRule[] {
  if (m.calendar !== 'month') return [];
  const r = naming.records;
  const labels = sloLabels(m, naming);
  const s = sel(m, naming);
  const on = `on(${naming.labels.id}, ${naming.labels.service}, ${naming.labels.name})`;
  const windows = recordingWindows(m, catalogue);
  const step = calendarStep(windows);
  return [
    {
      record: r.calendarErrorRatio,
      expr:
        `max without (${naming.labels.window}) (\n  avg_over_time((\n    ${sliErrorRecord(naming, step)}${s}\n    and on()\n` +
        `    (month() == scalar(last_over_time(month()[1m:1m] @ end())))\n  )[31d:${step}])\n)`,
      labels: { ...labels, slo_calendar: 'month' },
    },
    {
      record: r.calendarElapsed,
      expr: '((day_of_month() - 1) * 86400 + hour() * 3600 + minute() * 60)\n/ (days_in_month() * 86400)',
      labels: { ...labels, slo_calendar: 'month' },
    },
    {
      record: r.calendarBurnRate,
      expr: `${r.calendarErrorRatio}${s}\n/ ${on} group_left\n${r.errorBudget}${s}`,
      labels: { ...labels, slo_calendar: 'month' },
    },
    {
      record: r.calendarErrorBudgetRemaining,
      expr: `1 - ${r.calendarBurnRate}${s}\n* ${on}\n${r.calendarElapsed}${s}`,
      labels: { ...labels, slo_calendar: 'month' },
    },
  ];
}

/** The recorded window the calendar subquery samples: the largest <= 1h (or the shortest when none is). */
export function calendarStep(windows: readonly string[]): string {
  const fit = windows.filter((w) => parseDuration(w)! <= 3_600_000);
  return fit.length ? fit[fit.length - 1]! : windows[0]!;
}

const human = (ms: number) => {
  const h = ms / 3_600_000;
  return h >= 48 ? `${Math.round((h / 24) * 10) / 10} days` : `${Math.round(h * 10) / 10} hours`;
};

/** The alert expression for one severity: (short AND long over factor*budget) OR ... per window pair. */
export function burnRateExpr(
  m: SloModel,
  naming: NamingConvention,
  catalogue: WindowCatalogue,
  severity: Severity,
): string {
  const s = sel(m, naming);
  const pairs = catalogue.windows.filter((w) => w.severity === severity);
  return pairs
    .map((w) => {
      const thr = `(${num(w.factor)} * ${num(m.errorBudget)})`;
      const cond = (win: string) =>
        `  max(${sliErrorRecord(naming, win)}${s} > ${thr}) without (${naming.labels.window})`;
      return `(\n${cond(w.short)}\n  and\n${cond(w.long)}\n)`;
    })
    .join('\nor\n');
}

/**
 * Label telling burn-rate alerts from no-data alerts, so Alertmanager inhibition and routing can key on it
 * (`slo_alert_kind="burn-rate"` or `"no-data"`).
 */
export const ALERT_KIND_LABEL = 'slo_alert_kind';

/** How long the SLI must be missing before the no-data alert fires. */
export const NO_DATA_FOR = '10m';

/**
 * Low-traffic guard for page alerts: the long window must hold at least 1 / (factor * budget) events, so a single
 * failed request can never page on its own. Applied to journeys flagged low-traffic that have a total query.
 */
export function lowTrafficGuard(m: SloModel, w: { factor: number; long: string }): string | undefined {
  if (!m.lowTraffic || !m.sli.totalQuery) return undefined;
  const minEvents = Math.ceil(1 / (w.factor * m.errorBudget));
  const seconds = parseDuration(w.long)! / 1000;
  return `(${withWindow(m.sli.totalQuery, w.long)}) * ${seconds} >= ${minEvents}`;
}

/** Page and ticket alerts per SLO (a severity with no window pairs gets none), plus a no-data alert. */
export function alertRules(
  models: readonly SloModel[],
  naming: NamingConvention,
  catalogue: WindowCatalogue = SRE_WORKBOOK_30D,
): RuleGroup[] {
  return models.map((m) => {
    const cat = catalogueForModel(m, catalogue);
    const periodMs = parseDuration(m.period)!;
    const rules: AlertingRule[] = [];
    const routing = {
      ...m.labels,
      [naming.alerts.idLabel]: m.id,
      [naming.alerts.serviceLabel]: m.service,
      [naming.labels.name]: m.name,
    };
    for (const severity of ['page', 'ticket'] as const) {
      const pairs = cat.windows.filter((w) => w.severity === severity);
      if (!pairs.length) continue;
      const fastest = Math.max(...pairs.map((p) => p.factor));
      const windows = pairs
        .map((p) => `${p.factor}x over ${p.long} (confirmed over ${p.short})`)
        .join(' or ');
      let expr = burnRateExpr(m, naming, cat, severity);
      const guard =
        severity === 'page'
          ? lowTrafficGuard(
              m,
              pairs.reduce((a, p) => (p.factor > a.factor ? p : a)),
            )
          : undefined;
      if (guard) expr = `(\n${expr}\n)\nand on()\n(${guard})`;
      rules.push({
        alert: alertName(naming, m.id, severity),
        expr,
        labels: { ...routing, [naming.alerts.severityLabel]: severity, [ALERT_KIND_LABEL]: 'burn-rate' },
        annotations: {
          summary: `${m.journeyName}: ${m.name} SLO (${m.objective}% over ${m.period}) is burning its error budget too fast`,
          description:
            `The ${m.name} error ratio of ${m.journeyName} has been above ${windows} the budget rate ` +
            `(${m.errorBudget} = 1 - ${m.objective}%). At ${fastest}x the ${m.period} budget is gone in about ` +
            `${human(periodMs / fastest)}.` +
            (guard ? ' Low-traffic journey: pages only when the long window holds enough requests.' : '') +
            (m.latency && (m.latency.mode === 'between-buckets' || m.latency.mode === 'native')
              ? ` Latency measurement: ${m.latency.note}.`
              : ''),
          runbook_url: m.runbookUrls[severity],
          dashboard_url: m.dashboardUrl,
        },
      });
    }
    const base = recordingWindows(m, catalogue)[0]!;
    rules.push({
      alert: noDataAlertName(naming, m.id),
      expr: `absent(${sliErrorRecord(naming, base)}${sel(m, naming)})`,
      for: NO_DATA_FOR,
      labels: { ...routing, [naming.alerts.severityLabel]: 'ticket', [ALERT_KIND_LABEL]: 'no-data' },
      annotations: {
        summary: `${m.journeyName}: no data for the ${m.name} SLI`,
        description:
          `The SLI recording of ${m.id} has been missing for ${NO_DATA_FOR}: the metrics behind it stopped ` +
          'arriving (scrape failure, renamed metric, or no traffic at all). Burn-rate alerts cannot fire meanwhile.',
        runbook_url: m.runbookUrls[cat.windows.some((w) => w.severity === 'ticket') ? 'ticket' : 'page'],
        dashboard_url: m.dashboardUrl,
      },
    });
    return { name: groupName(naming, 'alerts', m.id), rules };
  });
}

/** Rule files keyed by service slug: per SLO, the SLI, metadata and alert groups, in that order. */
export function ruleFiles(
  models: readonly SloModel[],
  naming: NamingConvention,
  catalogue: WindowCatalogue = SRE_WORKBOOK_30D,
): Map<string, RuleFile> {
  const rec = recordingRules(models, naming, catalogue);
  const meta = metadataRules(models, naming, catalogue);
  const alerts = alertRules(models, naming, catalogue);
  const out = new Map<string, RuleGroup[]>();
  models.forEach((m, i) => {
    let g = out.get(m.serviceSlug);
    if (!g) out.set(m.serviceSlug, (g = []));
    g.push(rec[i]!, meta[i]!, alerts[i]!);
  });
  return new Map([...out.entries()].sort(([a], [b]) => cmp(a, b)).map(([k, groups]) => [k, { groups }]));
}

const YAML_OPTS = { lineWidth: 0, blockQuote: 'literal' as const, indent: 2 };

/** A plain Prometheus rule file (`rule_files:` / promtool check rules). */
export function ruleFileYaml(file: RuleFile, header?: string): string {
  const doc = new Document(file, { aliasDuplicateObjects: false });
  if (header) doc.commentBefore = ` ${header}`;
  return doc.toString(YAML_OPTS);
}

export interface PrometheusRuleMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** The same groups wrapped as a prometheus-operator PrometheusRule custom resource. */
export function prometheusRule(file: RuleFile, meta: PrometheusRuleMeta) {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: meta.name,
      ...(meta.namespace ? { namespace: meta.namespace } : {}),
      labels: { 'app.kubernetes.io/managed-by': 'slo-scout', ...meta.labels },
    },
    spec: { groups: file.groups },
  };
}

export function prometheusRuleYaml(file: RuleFile, meta: PrometheusRuleMeta, header?: string): string {
  const doc = new Document(prometheusRule(file, meta), { aliasDuplicateObjects: false });
  if (header) doc.commentBefore = ` ${header}`;
  return doc.toString(YAML_OPTS);
}
